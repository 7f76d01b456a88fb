import { connect, type ConnectionOptions, type NatsConnection } from '@nats-io/transport-node';
import { ClusterClient, NoCluster, openExistingClusterKv } from '../cluster/index.js';
import { CliError, ExitCode } from './exit-codes.js';
import { explainConnectFailure, lackingBeforeConnect } from './nats-diagnose.js';
import { connectionOptions, resolveSettings, SettingsError, type ResolveOptions, type ResolvedSettings, type Settings } from './settings.js';

/** Resolves settings, turning a settings problem into a usage error. */
export function settingsFrom(flags: Record<string, unknown>, opts: ResolveOptions = {}): ResolvedSettings {
  try {
    return resolveSettings(flags, process.env, process.cwd(), opts);
  } catch (err) {
    if (err instanceof SettingsError) throw new CliError(err.message, ExitCode.Usage);
    throw err;
  }
}

/** Reconnect pacing of a node: a wait of 1 s plus up to 1 s of jitter, so nodes do not come back in step. */
const RECONNECT_WAIT_MS = 1_000;
const RECONNECT_JITTER_MS = 1_000;

/** Where the URL came from, for messages: `(from .reel/cluster.json: …)`. */
function whence(s: Settings & { natsFrom?: string }): string {
  // A URL typed on the command line needs no reminder of where it came from.
  if (s.natsFrom === undefined || s.natsFrom === '--nats') return '';
  if (s.natsFrom === 'default') return ' (the default; name the server with --nats or REEL_NATS_URL)';
  if (s.natsFrom.endsWith('cluster.json')) return ` (from ${s.natsFrom}: is 'reel cluster up' still running there?)`;
  return ` (from ${s.natsFrom})`;
}

/**
 * Connects to NATS, naming the server (and where its URL came from) when it cannot. A node
 * (`reconnect`) reconnects for ever, or `--max-reconnects` times; an operator command fails at
 * once instead.
 */
export async function connectNatsFor(s: Settings & { natsFrom?: string }, name: string, opts: { reconnect?: boolean } = {}): Promise<NatsConnection> {
  const reconnect = opts.reconnect
    ? { maxReconnectAttempts: s.maxReconnects ?? -1, reconnectTimeWait: RECONNECT_WAIT_MS, reconnectJitter: RECONNECT_JITTER_MS }
    : { maxReconnectAttempts: 0 };
  let options: ConnectionOptions;
  try {
    options = connectionOptions(s, name);
  } catch (err) {
    // A credentials file or TLS flag at fault is a usage error, found before any connection.
    if (err instanceof SettingsError) throw new CliError(err.message, ExitCode.Usage);
    throw err;
  }
  const before = await lackingBeforeConnect(s);
  if (before !== undefined) throw new CliError(`cannot connect to NATS: ${before}`, ExitCode.Failed, 'Refused');
  try {
    return await connect({ ...options, ...reconnect });
  } catch (err) {
    // A server that refuses what was given (or not given) says so in terms of the flags to pass.
    const lacking = await explainConnectFailure(err, s);
    if (lacking !== undefined) throw new CliError(`cannot connect to NATS: ${lacking}`, ExitCode.Failed, 'Refused');
    throw new CliError(`cannot connect to NATS at ${s.nats}${whence(s)}: ${(err as Error).message}`, ExitCode.Failed, 'Unreachable');
  }
}

/**
 * A cluster client for an operator command; `close()` closes the connection too. It creates
 * nothing on the server: a prefix or server with no cluster is an error naming both. Its asks
 * are sent once and wait for their deadline, unless `askAttemptTimeoutMs` is set: then an ask
 * with no answer by then goes again (same id, applied once), to whichever node owns its shard
 * by that time, so that an ask lost with a stopped node does not hold its caller until its deadline.
 */
export async function operatorClient(
  flags: Record<string, unknown>,
  opts: { askAttemptTimeoutMs?: number } = {},
): Promise<{ client: ClusterClient; settings: ResolvedSettings; nc: NatsConnection; close(): Promise<void> }> {
  const settings = settingsFrom(flags);
  const nc = await connectNatsFor(settings, 'reel-cli');
  try {
    const client = await ClusterClient.connect(nc, { prefix: settings.prefix, system: { askAttemptTimeoutMs: opts.askAttemptTimeoutMs ?? 0 } });
    return {
      client,
      settings,
      nc,
      async close() {
        await client.close();
        await nc.close();
      },
    };
  } catch (err) {
    await nc.close();
    throw noClusterError(err, settings);
  }
}

/**
 * A NATS connection for an operator command that reads the cluster's stores itself (no actor
 * system: `reel models`). Like `operatorClient` it creates nothing, and refuses a server or prefix
 * with no cluster.
 */
export async function operatorConnection(flags: Record<string, unknown>): Promise<{ nc: NatsConnection; settings: ResolvedSettings; close(): Promise<void> }> {
  const settings = settingsFrom(flags);
  const nc = await connectNatsFor(settings, 'reel-cli');
  try {
    await openExistingClusterKv(nc, settings.prefix);
  } catch (err) {
    await nc.close();
    throw noClusterError(err, settings);
  }
  return { nc, settings, close: () => nc.close() };
}

/** A failure to find the cluster, as a CliError naming the server and where its URL came from; any other failure as it is. */
function noClusterError(err: unknown, settings: ResolvedSettings): unknown {
  if (err instanceof NoCluster) {
    return new CliError(`no reel cluster with prefix '${err.prefix}' at ${settings.nats} (${err.detail})${whence(settings)}`, ExitCode.Failed, 'NoCluster');
  }
  return err;
}
