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

/** Connects to NATS, naming the server when it cannot. */
export async function connectNatsFor(s: Settings, name: string): Promise<NatsConnection> {
  try {
    return await connect({ ...connectionOptions(s, name), maxReconnectAttempts: 0 });
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
