import { ClusterClient, NoCluster } from '../cluster/index.js';
import { ClusterBackend, Gateway, GatewayMetrics } from '../gateway/index.js';
import { connectNatsFor, settingsFrom } from './cluster-connect.js';
import { CliError } from './exit-codes.js';
import { log, serveMetrics } from './process-log.js';

/** `reel gateway` flags beyond the cluster settings. */
export interface GatewayFlags extends Record<string, unknown> {
  port: number;
  host: string;
  /** The personalised path's budget per Recommend, ms (then the fallback list answers). */
  budgetMs: number;
  /** How old a user actor's cached ranking may be to answer a first page, ms (0: off). */
  recommendCacheMs: number;
}

/** The environment variable holding AdminService's bearer token. */
export const ADMIN_TOKEN_ENV = 'REEL_ADMIN_TOKEN';

/**
 * Runs a stateless gRPC gateway against a cluster until SIGTERM or SIGINT: it reports
 * NOT_SERVING, lets calls in flight finish, and exits 0. Any number can run against one cluster.
 */
export async function runGateway(flags: GatewayFlags): Promise<never> {
  const s = settingsFrom(flags);
  const nc = await connectNatsFor(s, 'reel-gateway', { reconnect: true });
  let client: ClusterClient;
  try {
    client = await ClusterClient.connect(nc, { prefix: s.prefix });
  } catch (err) {
    await nc.close();
    if (err instanceof NoCluster) throw new CliError(`no cluster at ${s.nats} with prefix '${s.prefix}': start one with 'reel node' or 'reel cluster up' first`);
    throw err;
  }
  const gm = new GatewayMetrics();
  const backend = new ClusterBackend(client, nc, s.prefix, { metrics: gm, budgetMs: flags.budgetMs, cacheMs: flags.recommendCacheMs });
  const gateway = new Gateway({ backend, metrics: gm, adminToken: process.env[ADMIN_TOKEN_ENV], log });
  const metrics = s.metricsPort !== undefined ? await serveMetrics(s, 'gateway', gateway.metrics.registry, () => undefined) : undefined;
  let port: number;
  try {
    port = await gateway.listen(flags.host, flags.port);
  } catch (err) {
    await metrics?.close();
    backend.close();
    await client.close();
    await nc.close();
    throw new CliError(`cannot listen on ${flags.host}:${flags.port}: ${(err as Error).message}`);
  }
  if (process.env[ADMIN_TOKEN_ENV] === undefined) log('warn', `no ${ADMIN_TOKEN_ENV}: AdminService refuses every call`);
  log('info', 'gateway ready', { host: flags.host, port, nats: s.nats, prefix: s.prefix, metricsPort: metrics?.port });
  return new Promise<never>(() => {
    const stop = async (signal: string) => {
      log('info', 'gateway stopping', { signal });
      await gateway.stop();
      backend.close();
      await metrics?.close();
      await client.close();
      await nc.close();
      process.exit(0);
    };
    process.once('SIGTERM', () => void stop('SIGTERM'));
    process.once('SIGINT', () => void stop('SIGINT'));
  });
}
