import type { KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { ActorSystem, natsTransport, systemClock, type ShardId, type ShardOwnership, type SystemOptions } from '../runtime/index.js';
import { openClusterKv, openExistingClusterKv } from './cluster-kv.js';
import { defaultReplicas } from './replicas.js';
import { ClusterView } from './cluster-view.js';
import { joinClusterConfig, readClusterConfig } from './config.js';
import { DEFAULT_CLUSTER_ASK_ATTEMPT_MS } from './options.js';
import { ClusterScatterGather } from './scatter-gather.js';

/** A node that serves nothing: it only routes, stamping epochs from its view of the owners. */
class RouteOnly implements ShardOwnership {
  constructor(private readonly view: ClusterView) {}
  servingEpoch(): number {
    return 0;
  }
  holdsEpoch(): boolean {
    return false;
  }
  routeEpoch(shard: ShardId): number {
    return this.view.routeEpoch(shard);
  }
  onShardOwned(fn: (shard: ShardId) => void): () => void {
    return this.view.onShardOwned(fn);
  }
}

/**
 * A cluster client (a gateway, a test, a loader): an actor system hosting no shards whose
 * asks carry the owner epochs it sees and retry NoRoute and StaleEpoch while shards move.
 */
export class ClusterClient {
  /** One ask per owning node, gathered within a deadline. */
  readonly scatter: ClusterScatterGather;

  private constructor(
    readonly system: ActorSystem,
    readonly view: ClusterView,
    /** The cluster bucket (membership, ownership, overrides). */
    readonly kv: KV,
  ) {
    this.scatter = new ClusterScatterGather(system, view);
  }

  /**
   * Without a shard count, the client reads the cluster's and refuses one that does not exist
   * (`NoCluster`), creating nothing: this is how operator commands connect. With one, it joins as a
   * node would, creating the cluster if it is the first.
   */
  static async connect(nc: NatsConnection, opts: { prefix?: string; shardCount?: number; system?: SystemOptions } = {}): Promise<ClusterClient> {
    const prefix = opts.prefix ?? 'reel';
    const clock = opts.system?.clock ?? systemClock;
    const replicas = defaultReplicas(nc);
    const kv = opts.shardCount === undefined ? await openExistingClusterKv(nc, prefix) : await openClusterKv(nc, prefix, replicas);
    const config = opts.shardCount === undefined ? await readClusterConfig(kv, prefix) : await joinClusterConfig(kv, { shardCount: opts.shardCount, defaultReplicas: replicas }, clock.wallMs());
    const view = new ClusterView(kv, clock);
    await view.open();
    const system = new ActorSystem({
      askAttemptTimeoutMs: DEFAULT_CLUSTER_ASK_ATTEMPT_MS,
      ...opts.system,
      shardCount: config.shardCount,
      // Every caller of a cluster caps its deadlines as the nodes keep applied asks: by the cluster's limit.
      maxAskDeadlineMs: config.maxAskDeadlineMs,
      transport: natsTransport(nc, { prefix }),
      ownership: new RouteOnly(view),
    });
    await system.start([]);
    return new ClusterClient(system, view, kv);
  }

  /** Owner of each shard as this client sees it ('' for none). */
  owners(): string[] {
    const n = this.system.options.shardCount;
    return Array.from({ length: n }, (_, s) => this.view.shard(s).value?.owner ?? '');
  }

  /** The nodes that own at least one shard as this client sees it, each once. */
  ownerNodes(): string[] {
    return [...new Set(this.owners())].filter((o) => o !== '');
  }

  async close(): Promise<void> {
    await this.system.stop();
    this.view.close();
  }
}
