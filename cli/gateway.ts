import type { NatsConnection } from '@nats-io/transport-node';
import { ClusterClient, NoCluster } from '../cluster/index.js';
import { ClusterBackend, Gateway, GatewayMetrics } from '../gateway/index.js';
import { connectNatsFor, settingsFrom } from './cluster-connect.js';
import { CliError } from './exit-codes.js';
import { log, serveMetrics } from './process-log.js';
import type { ResolvedSettings } from './settings.js';

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

/** A gateway over a cluster client (`clusterGateway`): listen, then stop. */
export interface ClusterGateway {
  readonly gateway: Gateway;
  /** Listens on `host`:`port` (0: any free port); resolves with the port. */
  listen(host: string, port: number): Promise<number>;
  /** Until its fallback list exists (it can answer recommendations), at most `timeoutMs`; whether it does. */
  untilReady(timeoutMs?: number): Promise<boolean>;
  /** Reports NOT_SERVING, lets calls in flight finish, stops the backend's refreshes; closes neither the client nor its connection. */
  stop(): Promise<void>;
}

/**
 * The gRPC gateway over a cluster, the one `reel gateway` runs and `reel start --nats` runs in
 * its own process: every service, through `client` and its connection `nc`. AdminService takes
 * the token in REEL_ADMIN_TOKEN.
 */
export function clusterGateway(client: ClusterClient, nc: NatsConnection, prefix: string, opts: { budgetMs?: number; recommendCacheMs?: number } = {}): ClusterGateway {
  const gm = new GatewayMetrics();
  const backend = new ClusterBackend(client, nc, prefix, { metrics: gm, ...(opts.budgetMs !== undefined ? { budgetMs: opts.budgetMs } : {}), ...(opts.recommendCacheMs !== undefined ? { cacheMs: opts.recommendCacheMs } : {}) });
  const gateway = new Gateway({ backend, metrics: gm, adminToken: process.env[ADMIN_TOKEN_ENV], log });
  return {
    gateway,
    listen: (host, port) => gateway.listen(host, port),
    untilReady: (timeoutMs) => backend.popular.untilReady(timeoutMs),
    async stop() {
      await gateway.stop();
      backend.close();
    },
  };
}

/**
 * A gateway's cluster client, on a NATS connection of its own that reconnects for ever. It
 * creates nothing: a server or prefix with no cluster is a CliError naming both.
 */
export async function connectGatewayClient(s: ResolvedSettings): Promise<{ nc: NatsConnection; client: ClusterClient }> {
  const nc = await connectNatsFor(s, 'reel-gateway', { reconnect: true });
  try {
    return { nc, client: await ClusterClient.connect(nc, { prefix: s.prefix }) };
  } catch (err) {
    await nc.close();
    if (err instanceof NoCluster) throw new CliError(`no cluster at ${s.nats} with prefix '${s.prefix}': start one with 'reel node' or 'reel cluster up' first`);
    throw err;
  }
}

/**
 * Runs a stateless gRPC gateway against a cluster until SIGTERM or SIGINT: it reports
 * NOT_SERVING, lets calls in flight finish, and exits 0. Any number can run against one cluster.
 */
export async function runGateway(flags: GatewayFlags): Promise<never> {
  const s = settingsFrom(flags);
  const { nc, client } = await connectGatewayClient(s);
  const g = clusterGateway(client, nc, s.prefix, { budgetMs: flags.budgetMs, recommendCacheMs: flags.recommendCacheMs });
  const metrics = s.metricsPort !== undefined ? await serveMetrics(s, 'gateway', g.gateway.metrics.registry, () => undefined) : undefined;
  let port: number;
  try {
    port = await g.listen(flags.host, flags.port);
  } catch (err) {
    await metrics?.close();
    await g.stop();
    await client.close();
    await nc.close();
    throw new CliError(`cannot listen on ${flags.host}:${flags.port}: ${(err as Error).message}`);
  }
  if (process.env[ADMIN_TOKEN_ENV] === undefined) log('warn', `no ${ADMIN_TOKEN_ENV}: AdminService refuses every call`);
  log('info', 'gateway ready', { host: flags.host, port, nats: s.nats, prefix: s.prefix, metricsPort: metrics?.port });
  return new Promise<never>(() => {
    const stop = async (signal: string) => {
      log('info', 'gateway stopping', { signal });
      await g.stop();
      await metrics?.close();
      await client.close();
      await nc.close();
      process.exit(0);
    };
    process.once('SIGTERM', () => void stop('SIGTERM'));
    process.once('SIGINT', () => void stop('SIGINT'));
  });
}
