import { connect, type NatsConnection } from '@nats-io/transport-node';
import { ClusterClient } from '../cluster/index.js';
import { CliError, ExitCode } from './exit-codes.js';
import { connectionOptions, resolveSettings, SettingsError, type Settings } from './settings.js';

/** Resolves settings, turning a settings problem into a usage error. */
export function settingsFrom(flags: Record<string, unknown>): Settings {
  try {
    return resolveSettings(flags);
  } catch (err) {
    if (err instanceof SettingsError) throw new CliError(err.message, ExitCode.Usage);
    throw err;
  }
}

/** Reconnect pacing of a node: a wait of 1 s plus up to 1 s of jitter, so nodes do not come back in step. */
const RECONNECT_WAIT_MS = 1_000;
const RECONNECT_JITTER_MS = 1_000;

/**
 * Connects to NATS, naming the server when it cannot. A node (`reconnect`) reconnects for ever,
 * or `--max-reconnects` times; an operator command fails at once instead.
 */
export async function connectNatsFor(s: Settings, name: string, opts: { reconnect?: boolean } = {}): Promise<NatsConnection> {
  const reconnect = opts.reconnect
    ? { maxReconnectAttempts: s.maxReconnects ?? -1, reconnectTimeWait: RECONNECT_WAIT_MS, reconnectJitter: RECONNECT_JITTER_MS }
    : { maxReconnectAttempts: 0 };
  try {
    return await connect({ ...connectionOptions(s, name), ...reconnect });
  } catch (err) {
    throw new CliError(`cannot connect to NATS at ${s.nats}: ${(err as Error).message}`);
  }
}

/** A cluster client for an operator command; `close()` closes the connection too. */
export async function operatorClient(flags: Record<string, unknown>): Promise<{ client: ClusterClient; settings: Settings; close(): Promise<void> }> {
  const settings = settingsFrom(flags);
  const nc = await connectNatsFor(settings, 'reel-cli');
  try {
    const client = await ClusterClient.connect(nc, { prefix: settings.prefix, system: { askAttemptTimeoutMs: 0 } });
    return {
      client,
      settings,
      async close() {
        await client.close();
        await nc.close();
      },
    };
  } catch (err) {
    await nc.close();
    throw new CliError((err as Error).message);
  }
}
