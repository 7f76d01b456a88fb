import { join } from 'node:path';

/**
 * nats-server configuration files for reel: one server, or a cluster of servers with routes
 * between them and clustered JetStream. `reel cluster up --nats-servers N` writes these, the tests
 * and benchmarks start their clusters from them, and the README's production section shows the
 * same settings for real hosts.
 */

/** One server of a plan. */
export interface NatsServerPlan {
  /** `server_name`: JetStream clustering needs a stable, unique one per server. */
  name: string;
  host: string;
  /** Client port. */
  port: number;
  /** This server's JetStream store (never shared: two servers on one store corrupt it). */
  storeDir: string;
  /** Routes to the other servers, when there are others. */
  cluster?: { name: string; host: string; port: number; routes: string[]; extra?: string };
  /**
   * How often the server pings clients and routes, in s, and how many unanswered pings end the
   * connection: a paused or unreachable peer is dropped after about `pingIntervalS * pingMax`.
   * @default nats-server's own (2 minutes, 2)
   */
  pingIntervalS?: number;
  pingMax?: number;
  /** Further configuration, appended as is (authorization and TLS blocks, `nats-security.ts`). */
  extra?: string;
}

/** What `localNatsCluster` lays out. */
export interface LocalNatsClusterOptions {
  servers: number;
  /** Server i (from 0) listens for clients on `port + i`. */
  port: number;
  /** Server i listens for routes on `routePort + i`. */
  routePort: number;
  /** Server i keeps its JetStream store in `<dir>/<name>`. */
  dir: string;
  /** @default '127.0.0.1' */
  host?: string;
  /** The NATS cluster's name. @default 'reel' */
  clusterName?: string;
  pingIntervalS?: number;
  pingMax?: number;
  extra?: string;
  /** Further configuration of every server's cluster block (TLS between servers). */
  clusterExtra?: string;
}

/** Name of server i (from 0) of a local plan: `nats-1`, `nats-2`, … */
export function natsServerName(i: number): string {
  return `nats-${i + 1}`;
}

/**
 * The servers of a local NATS cluster on one host: each with its own name, client and route
 * port, and store; every server routes to every other (a full mesh, as nats-server builds anyway).
 * One server has no cluster block at all.
 */
export function localNatsCluster(o: LocalNatsClusterOptions): NatsServerPlan[] {
  const host = o.host ?? '127.0.0.1';
  return Array.from({ length: o.servers }, (_, i) => {
    const name = natsServerName(i);
    const plan: NatsServerPlan = { name, host, port: o.port + i, storeDir: join(o.dir, name) };
    if (o.servers > 1) {
      const routes = Array.from({ length: o.servers }, (_, j) => j).filter((j) => j !== i).map((j) => `nats-route://${host}:${o.routePort + j}`);
      plan.cluster = { name: o.clusterName ?? 'reel', host, port: o.routePort + i, routes, ...(o.clusterExtra !== undefined ? { extra: o.clusterExtra } : {}) };
    }
    if (o.pingIntervalS !== undefined) plan.pingIntervalS = o.pingIntervalS;
    if (o.pingMax !== undefined) plan.pingMax = o.pingMax;
    if (o.extra !== undefined) plan.extra = o.extra;
    return plan;
  });
}

/** A string as nats-server's configuration reads it (double-quoted, JSON escapes). */
export function confString(s: string): string {
  return JSON.stringify(s);
}

/** The configuration file of one server. */
export function natsServerConfig(p: NatsServerPlan): string {
  const lines = [
    `# written by reel; see the README's "Running in production"`,
    `server_name: ${confString(p.name)}`,
    `listen: ${confString(`${p.host}:${p.port}`)}`,
  ];
  if (p.pingIntervalS !== undefined) lines.push(`ping_interval: ${confString(`${p.pingIntervalS}s`)}`);
  if (p.pingMax !== undefined) lines.push(`ping_max: ${p.pingMax}`);
  lines.push('jetstream {', `  store_dir: ${confString(p.storeDir)}`, '}');
  if (p.cluster !== undefined) {
    lines.push(
      'cluster {',
      `  name: ${confString(p.cluster.name)}`,
      `  listen: ${confString(`${p.cluster.host}:${p.cluster.port}`)}`,
      `  routes: [${p.cluster.routes.map(confString).join(', ')}]`,
      ...(p.cluster.extra === undefined ? [] : p.cluster.extra.trimEnd().split('\n').map((l) => `  ${l}`)),
      '}',
    );
  }
  if (p.extra !== undefined && p.extra.trim() !== '') lines.push(p.extra.trimEnd());
  return `${lines.join('\n')}\n`;
}

/** The client URLs of a plan, comma-separated: what nodes and commands take as `--nats`. */
export function clientUrls(plans: readonly NatsServerPlan[], scheme = 'nats'): string {
  return plans.map((p) => `${scheme}://${p.host}:${p.port}`).join(',');
}
