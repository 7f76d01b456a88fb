import { readFileSync } from 'node:fs';
import { credsAuthenticator, type ConnectionOptions } from '@nats-io/transport-node';
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
  tlsCa?: string;
  heartbeatWindowMs?: number;
  heartbeatMs?: number;
  leaseMs?: number;
  renewMs?: number;
  safetyMarginMs?: number;
  reconcileMs?: number;
  probeMs?: number;
  maxAskDeadlineMs?: number;
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
  tlsCa: 'REEL_NATS_TLS_CA',
  heartbeatWindowMs: 'REEL_HEARTBEAT_WINDOW_MS',
  heartbeatMs: 'REEL_HEARTBEAT_MS',
  leaseMs: 'REEL_LEASE_MS',
  renewMs: 'REEL_RENEW_MS',
  safetyMarginMs: 'REEL_SAFETY_MARGIN_MS',
  reconcileMs: 'REEL_RECONCILE_MS',
  probeMs: 'REEL_PROBE_MS',
  maxAskDeadlineMs: 'REEL_MAX_ASK_DEADLINE_MS',
  goneMemberRemovalMs: 'REEL_GONE_MEMBER_REMOVAL_MS',
  maxReconnects: 'REEL_MAX_RECONNECTS',
  kinds: 'REEL_KINDS',
  interactionWeights: 'REEL_INTERACTION_WEIGHTS',
};

const NUMERIC = new Set<keyof Settings>([
  'shardCount', 'weight', 'metricsPort', 'heartbeatWindowMs', 'heartbeatMs', 'leaseMs', 'renewMs', 'safetyMarginMs', 'reconcileMs', 'probeMs', 'maxAskDeadlineMs', 'maxReconnects', 'goneMemberRemovalMs',
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
    .option('--creds <file>', `NATS credentials file [${SETTINGS_ENV.creds}]`)
    .option('--tls-ca <file>', `CA certificate for TLS to NATS [${SETTINGS_ENV.tlsCa}]`)
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
      natsFrom = local.shown;
    }
  }
  out.nats ??= DEFAULT_NATS_URL;
  out.prefix ??= 'reel';
  return { ...(out as unknown as Settings), natsFrom };
}

/** NATS connection options from the settings: servers, credentials, TLS. */
export function connectionOptions(s: Settings, name: string): ConnectionOptions {
  const o: ConnectionOptions = { servers: s.nats.split(',').map((x) => x.trim()), name, noAsyncTraces: true, maxReconnectAttempts: -1 };
  if (s.user !== undefined) o.user = s.user;
  if (s.password !== undefined) o.pass = s.password;
  if (s.token !== undefined) o.token = s.token;
  if (s.creds !== undefined) {
    const file = s.creds;
    o.authenticator = credsAuthenticator(() => readFileSync(file));
  }
  if (s.tlsCa !== undefined) o.tls = { caFile: s.tlsCa };
  return o;
}
