import { readFileSync, statSync } from 'node:fs';
import { credsAuthenticator, nkeyAuthenticator, type ConnectionOptions } from '@nats-io/transport-node';
import type { Command } from 'commander';
import { clusterDir, ClusterFileError, readClusterFile } from './cluster-file.js';

/**
 * Settings every command that talks to a cluster takes, from (highest first) flags,
 * environment variables (`REEL_*`) and a JSON config file (`--config`).
 */
export interface Settings {
  nats: string;
  prefix: string;
  id?: string;
  shardCount?: number;
  weight?: number;
  metricsPort?: number;
  /** Interface the metrics endpoint listens on (default 127.0.0.1). */
  metricsHost?: string;
  user?: string;
  password?: string;
  token?: string;
  creds?: string;
  /** A user nkey's seed file (`--nkey`). */
  nkey?: string;
  /** A JSON file `{"user", "password"}` or `{"token"}`, readable only by its owner (what `reel cluster up --secure` writes per role). */
  credentials?: string;
  tlsCa?: string;
  /** Client certificate for TLS to NATS (with `tlsKey`), for servers that verify clients. */
  tlsCert?: string;
  tlsKey?: string;
  heartbeatWindowMs?: number;
  heartbeatMs?: number;
  leaseMs?: number;
  renewMs?: number;
  safetyMarginMs?: number;
  reconcileMs?: number;
  probeMs?: number;
  maxAskDeadlineMs?: number;
  /** Replicas of a new cluster's buckets; a node checks an existing cluster's against it. */
  replicas?: number;
  goneMemberRemovalMs?: number;
  /** Reconnect attempts before a node gives up (-1: for ever). */
  maxReconnects?: number;
  /** Module registering the actor kinds a node hosts (instead of reel's own). */
  kinds?: string;
  /** A node's fold-in weight per interaction type, `TYPE=WEIGHT,…` (checked by `parseInteractionWeights`). */
  interactionWeights?: string;
}

/** Settings as resolved, with where the NATS URL came from (for messages): `--nats`, `REEL_NATS_URL`, `config file F`, `.reel/cluster.json` or `default`. */
export type ResolvedSettings = Settings & { natsFrom: string };

/** The NATS URL when nothing names one. */
export const DEFAULT_NATS_URL = 'nats://127.0.0.1:4222';

/** Which environment variable feeds each setting. */
export const SETTINGS_ENV: Record<keyof Settings, string> = {
  nats: 'REEL_NATS_URL',
  prefix: 'REEL_PREFIX',
  id: 'REEL_NODE_ID',
  shardCount: 'REEL_SHARD_COUNT',
  weight: 'REEL_WEIGHT',
  metricsPort: 'REEL_METRICS_PORT',
  metricsHost: 'REEL_METRICS_HOST',
  user: 'REEL_NATS_USER',
  password: 'REEL_NATS_PASSWORD',
  token: 'REEL_NATS_TOKEN',
  creds: 'REEL_NATS_CREDS',
  nkey: 'REEL_NATS_NKEY',
  credentials: 'REEL_NATS_CREDENTIALS',
  tlsCa: 'REEL_NATS_TLS_CA',
  tlsCert: 'REEL_NATS_TLS_CERT',
  tlsKey: 'REEL_NATS_TLS_KEY',
  heartbeatWindowMs: 'REEL_HEARTBEAT_WINDOW_MS',
  heartbeatMs: 'REEL_HEARTBEAT_MS',
  leaseMs: 'REEL_LEASE_MS',
  renewMs: 'REEL_RENEW_MS',
  safetyMarginMs: 'REEL_SAFETY_MARGIN_MS',
  reconcileMs: 'REEL_RECONCILE_MS',
  probeMs: 'REEL_PROBE_MS',
  maxAskDeadlineMs: 'REEL_MAX_ASK_DEADLINE_MS',
  replicas: 'REEL_REPLICAS',
  goneMemberRemovalMs: 'REEL_GONE_MEMBER_REMOVAL_MS',
  maxReconnects: 'REEL_MAX_RECONNECTS',
  kinds: 'REEL_KINDS',
  interactionWeights: 'REEL_INTERACTION_WEIGHTS',
};

const NUMERIC = new Set<keyof Settings>([
  'shardCount', 'weight', 'metricsPort', 'heartbeatWindowMs', 'heartbeatMs', 'leaseMs', 'renewMs', 'safetyMarginMs', 'reconcileMs', 'probeMs', 'maxAskDeadlineMs', 'replicas', 'maxReconnects', 'goneMemberRemovalMs',
]);

/** The flag that sets a setting, for messages: `shardCount` → `--shard-count`. */
export function flagOf(key: string): string {
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** A settings problem: names the source (flag, variable, or file and line). */
export class SettingsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SettingsError';
  }
}

/**
 * Adds the connection flags (and `--config`) to a command. `natsHelp` replaces the end of
 * `--nats`'s help, which says where the URL comes from when no flag names it.
 */
export function withClusterOptions(cmd: Command, natsHelp = `(default: the one in .reel/cluster.json, written by 'reel cluster up', else ${DEFAULT_NATS_URL})`): Command {
  return cmd
    .option('--nats <url>', `NATS server URL(s), comma-separated [${SETTINGS_ENV.nats}] ${natsHelp}`)
    .option('--prefix <name>', `subject and bucket prefix of the cluster [${SETTINGS_ENV.prefix}] (default: reel)`)
    .option('--user <name>', `NATS user [${SETTINGS_ENV.user}]`)
    .option('--password <secret>', `NATS password [${SETTINGS_ENV.password}]`)
    .option('--token <secret>', `NATS token [${SETTINGS_ENV.token}]`)
    .option('--creds <file>', `NATS JWT credentials file (.creds) [${SETTINGS_ENV.creds}]`)
    .option('--nkey <file>', `a NATS user nkey's seed file, readable by its owner only [${SETTINGS_ENV.nkey}]`)
    .option('--credentials <file>', `JSON file {"user", "password"} (or {"token"}), mode 0600, e.g. one 'reel cluster up --secure' wrote; --user/--password/--token win over it [${SETTINGS_ENV.credentials}]`)
    .option('--tls-ca <file>', `CA certificate for TLS to NATS [${SETTINGS_ENV.tlsCa}]`)
    .option('--tls-cert <file>', `client certificate for TLS to NATS, with --tls-key [${SETTINGS_ENV.tlsCert}]`)
    .option('--tls-key <file>', `key of the --tls-cert client certificate [${SETTINGS_ENV.tlsKey}]`)
    .option('--config <file>', 'JSON file with any of these settings (keys as the long flags in camelCase: nats, prefix, id, shardCount, metricsPort, …)');
}

function lineOf(text: string, pos: number): number {
  return text.slice(0, pos).split('\n').length;
}

function readConfigFile(file: string): Partial<Record<keyof Settings, unknown>> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new SettingsError(`config file ${file}: ${(err as Error).message}`);
  }
  try {
    const v = JSON.parse(text) as unknown;
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new SettingsError(`config file ${file}:1: expected a JSON object`);
    for (const k of Object.keys(v)) if (!(k in SETTINGS_ENV)) throw new SettingsError(`config file ${file}: unknown setting '${k}' (known: ${Object.keys(SETTINGS_ENV).join(', ')})`);
    return v as Partial<Record<keyof Settings, unknown>>;
  } catch (err) {
    if (err instanceof SettingsError) throw err;
    const m = /position (\d+)/.exec((err as Error).message);
    throw new SettingsError(`config file ${file}:${m ? lineOf(text, Number(m[1])) : 1}: ${(err as Error).message}`);
  }
}

/** How `resolveSettings` looks for a NATS URL that no flag, variable or config file names. */
export interface ResolveOptions {
  /**
   * Read `.reel/cluster.json` (REEL_DIR's) for it; without, `natsFrom` is `default` when nothing
   * named one (`reel start`, which runs in-process then). @default true
   */
  clusterFile?: boolean;
}

/**
 * Merges flags over environment over config file over defaults, and checks types. When none of
 * them names the NATS URL, the cluster of `reel cluster up` in this folder (`.reel/cluster.json`,
 * or REEL_DIR's) gives the URL and, unless set, the prefix; only then the default URL.
 */
export function resolveSettings(flags: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd(), opts: ResolveOptions = {}): ResolvedSettings {
  const file = typeof flags.config === 'string' ? readConfigFile(flags.config) : {};
  const out: Record<string, unknown> = {};
  let natsFrom = 'default';
  for (const key of Object.keys(SETTINGS_ENV) as Array<keyof Settings>) {
    const envName = SETTINGS_ENV[key];
    let v: unknown;
    // Where the value came from: the source, and how a message about this value names it.
    let source = '';
    let from = '';
    if (flags[key] !== undefined) [v, source, from] = [flags[key], flagOf(key), flagOf(key)];
    else if (env[envName] !== undefined && env[envName] !== '') [v, source, from] = [env[envName], envName, envName];
    else if (file[key] !== undefined) [v, source, from] = [file[key], `config file ${String(flags.config)}`, `config file ${String(flags.config)} (${key})`];
    else continue;
    if (key === 'nats') natsFrom = source;
    if (NUMERIC.has(key)) {
      // Only the type is checked here; ranges are checked once, by the options' own parser.
      const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : Number.NaN;
      if (!Number.isFinite(n)) throw new SettingsError(`${from}: '${String(v)}' is not a number`);
      out[key] = n;
    } else {
      if (typeof v !== 'string' || v === '') throw new SettingsError(`${from}: expected a non-empty string`);
      out[key] = v;
    }
  }
  if (out.nats === undefined && opts.clusterFile !== false) {
    let local: ReturnType<typeof readClusterFile>;
    try {
      local = readClusterFile(clusterDir(env), cwd);
    } catch (err) {
      if (err instanceof ClusterFileError) throw new SettingsError(err.message);
      throw err;
    }
    if (local !== undefined) {
      out.nats = local.nats;
      out.prefix ??= local.prefix;
      // A secured local cluster: its operator credentials, unless something else names them.
      if (out.user === undefined && out.token === undefined && out.creds === undefined && out.nkey === undefined) out.credentials ??= local.credentials;
      out.tlsCa ??= local.tlsCa;
      if (out.tlsCert === undefined && out.tlsKey === undefined && local.tlsCert !== undefined && local.tlsKey !== undefined) {
        out.tlsCert = local.tlsCert;
        out.tlsKey = local.tlsKey;
      }
      natsFrom = local.shown;
    }
  }
  out.nats ??= DEFAULT_NATS_URL;
  out.prefix ??= 'reel';
  return { ...(out as unknown as Settings), natsFrom };
}

/** What a `--credentials` file holds: a user and password, or a token. */
export interface CredentialsFile {
  user?: string;
  password?: string;
  token?: string;
}

/**
 * Reads a `--credentials` file. Like ssh with a private key, it refuses a file that group or
 * others may read or write (a password is in it): the message says to `chmod 600` it.
 */
export function readCredentialsFile(file: string): CredentialsFile {
  const text = readSecretFile(file, 'credentials file');
  const shape = `credentials file ${file}: expected {"user": NAME, "password": SECRET} or {"token": SECRET}`;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new SettingsError(`${shape} (${(err as Error).message})`);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new SettingsError(shape);
  const o = v as Record<string, unknown>;
  const str = (k: string) => typeof o[k] === 'string' && o[k] !== '';
  if (str('user') && str('password') && o.token === undefined) return { user: o.user as string, password: o.password as string };
  if (str('token') && o.user === undefined && o.password === undefined) return { token: o.token as string };
  throw new SettingsError(shape);
}

/**
 * A file that holds a secret (`what`: how messages name it), refused when its owner is not the
 * only one who may read or write it, as ssh refuses a loose key.
 */
export function readSecretFile(file: string, what: string): string {
  try {
    // Windows has no such mode bits: there the check is the file system's ACLs, not this.
    const mode = statSync(file).mode & 0o777;
    if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
      throw new SettingsError(`${what} ${file} is readable or writable by group or others (mode ${mode.toString(8).padStart(4, '0')}): it holds a secret, run 'chmod 600 ${file}'`);
    }
    return readFileSync(file, 'utf8');
  } catch (err) {
    if (err instanceof SettingsError) throw err;
    throw new SettingsError(`${what} ${file}: ${(err as Error).message}`);
  }
}

/** A user nkey's seed from its file (`--nkey`): one line, `SU…`. */
export function readNkeySeed(file: string): Uint8Array {
  const seed = readSecretFile(file, 'nkey seed file').trim();
  if (!/^SU[A-Z2-7]{56}$/.test(seed)) throw new SettingsError(`nkey seed file ${file}: expected a user seed (one line, "SU" and 56 more characters, as nk -gen user or reel cluster up --secure writes)`);
  return new TextEncoder().encode(seed);
}

/**
 * NATS connection options from the settings: servers, credentials, TLS. `--user`, `--password`
 * and `--token` (from any source) replace a `--credentials` file's, which is still read, so that a
 * bad file is reported rather than silently unused.
 */
export function connectionOptions(s: Settings, name: string): ConnectionOptions {
  const o: ConnectionOptions = { servers: s.nats.split(',').map((x) => x.trim()), name, noAsyncTraces: true, maxReconnectAttempts: -1 };
  const file = s.credentials !== undefined ? readCredentialsFile(s.credentials) : {};
  const given = s.user !== undefined || s.password !== undefined || s.token !== undefined;
  const user = given ? s.user : file.user;
  const password = given ? s.password : file.password;
  const token = given ? s.token : file.token;
  if (user !== undefined) o.user = user;
  if (password !== undefined) o.pass = password;
  if (token !== undefined) o.token = token;
  if (s.creds !== undefined) {
    const creds = s.creds;
    o.authenticator = credsAuthenticator(() => readFileSync(creds));
  }
  if (s.nkey !== undefined) {
    // One way to authenticate: a user that is an nkey has no password or token, and a .creds holds its own key.
    const other = s.creds !== undefined ? '--creds' : user !== undefined || token !== undefined ? (given ? '--user/--token' : '--credentials') : undefined;
    if (other !== undefined) throw new SettingsError(`--nkey and ${other} were both given: a NATS user authenticates one way, choose one`);
    const seed = readNkeySeed(s.nkey);
    o.authenticator = nkeyAuthenticator(() => seed);
  }
  // A client certificate is its pair: one half alone could only fail later, in the TLS handshake.
  if ((s.tlsCert === undefined) !== (s.tlsKey === undefined)) {
    throw new SettingsError(`${s.tlsCert === undefined ? '--tls-key' : '--tls-cert'} was given without ${s.tlsCert === undefined ? '--tls-cert' : '--tls-key'}: a client certificate needs both --tls-cert FILE and --tls-key FILE`);
  }
  if (s.tlsCa !== undefined || s.tlsCert !== undefined) {
    o.tls = {
      ...(s.tlsCa !== undefined ? { caFile: s.tlsCa } : {}),
      ...(s.tlsCert !== undefined ? { certFile: s.tlsCert, keyFile: s.tlsKey } : {}),
    };
  }
  return o;
}
