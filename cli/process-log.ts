import type { Registry } from 'prom-client';
import { DEFAULT_METRICS_HOST, startMetricsServer, type MetricsServer } from '../cluster/index.js';
import { CliError, ExitCode } from './exit-codes.js';
import type { Settings } from './settings.js';

export type Level = 'debug' | 'info' | 'warn' | 'error';

/** A structured log line on stdout (long-running commands: `reel node`, `reel gateway`). */
export function log(level: Level, msg: string, fields: Record<string, unknown> = {}): void {
  process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields })}\n`);
}

/**
 * Listens on `--metrics-host`:`--metrics-port` before the process joins anything, so that a
 * port it cannot have ends the command with nothing written to the cluster. `who` names the
 * process in messages ("node n1", "gateway").
 */
export async function serveMetrics(s: Settings, who: string, registry: Registry, notReady: () => string | undefined): Promise<MetricsServer> {
  const port = s.metricsPort!;
  const host = s.metricsHost ?? DEFAULT_METRICS_HOST;
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new CliError(`--metrics-port ${port}: must be an integer in 0..65535`, ExitCode.Usage);
  try {
    const server = await startMetricsServer(registry, { port, host, notReady });
    log('info', 'metrics server listening', { process: who, host: server.host, port: server.port });
    return server;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'EADDRINUSE' ? 'the address is in use (another process listens there)'
      : code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' ? 'this machine has no such interface (see --metrics-host)'
      : code === 'EACCES' ? 'permission denied (ports below 1024 need privileges)'
      : (err as Error).message;
    throw new CliError(`--metrics-port ${port}: cannot listen on ${host}:${port}: ${why}; ${who} did not start`);
  }
}
