import type { KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { ActorSystem, kvSnapshotStore, natsTransport, type RuntimeEvent, type SystemHooks } from '../runtime/index.js';
import { openClusterKv } from './cluster-kv.js';
import { ClusterView } from './cluster-view.js';
import { joinClusterConfig, type ClusterConfig } from './config.js';
import { Membership } from './membership.js';
import { parseClusterNodeOptions, type ClusterNodeOptions, type ResolvedClusterNodeOptions } from './options.js';
import { OwnershipManager, type OwnershipLog } from './ownership.js';

/** What a cluster node is started with besides its options. */
export interface ClusterNodeDeps {
  /** NATS connection; the caller owns it. */
  nc: NatsConnection;
  /** Registers the actor kinds this node hosts. */
  register(system: ActorSystem): void;
  onEvent?: (e: RuntimeEvent) => void;
  hooks?: SystemHooks;
  log?: OwnershipLog;
}

/** Version string advertised in membership. */
export const NODE_VERSION = '0.1.0';

/** What a node reports of itself (the `status` node handler, gathered by `reel status`). */
export interface NodeStatus {
  node: string;
  /** Shards held (serving or handing off) and their epochs. */
  owned: Array<[shard: number, epoch: number]>;
  activeActors: number;
  activationsByKind: Record<string, number>;
  draining: boolean;
  startedAt: number;
  version: string;
}

/**
 * One node of a reel cluster on NATS: joins the cluster config, heartbeats its membership,
 * claims and renews the shards the assignment gives it, and hosts their actors.
 */
export class ClusterNode {
  private drainPromise: Promise<void> | null = null;
  private markDrainStarted!: () => void;
  /** Resolves when a drain starts, here or by `reel drain` (the node command then exits after it). */
  readonly drainStarted = new Promise<void>((r) => (this.markDrainStarted = r));

  private constructor(
    readonly options: ResolvedClusterNodeOptions,
    readonly system: ActorSystem,
    readonly ownership: OwnershipManager,
    readonly membership: Membership,
    readonly view: ClusterView,
    readonly kv: KV,
    readonly config: ClusterConfig,
  ) {}

  static async start(opts: ClusterNodeOptions, deps: ClusterNodeDeps): Promise<ClusterNode> {
    const o = parseClusterNodeOptions(opts);
    const clock = o.system.clock ?? { now: () => Date.now() };
    const kv = await openClusterKv(deps.nc, o.prefix);
    const config = await joinClusterConfig(kv, o.shardCount);
    const view = new ClusterView(kv);
    await view.open();
    // The system and the ownership manager refer to each other: the manager drives hosting,
    // the system asks the manager before every message. The holder breaks the cycle.
    const holder: { system?: ActorSystem } = {};
    const ownership = new OwnershipManager(view, kv, o.nodeId, o.shardCount, clock, {
      host: (s) => holder.system!.host(s),
      unhost: (s) => holder.system!.unhost(s),
      abandonShards: (s) => holder.system!.abandonShards(s),
    }, o.timings, deps.log);
    const system = new ActorSystem({
      ...o.system,
      nodeId: o.nodeId,
      shardCount: o.shardCount,
      transport: natsTransport(deps.nc, { prefix: o.prefix }),
      store: kvSnapshotStore(deps.nc, { bucketPrefix: o.prefix }),
      ownership,
      ...(deps.onEvent ? { onEvent: deps.onEvent } : {}),
      ...(deps.hooks ? { hooks: deps.hooks } : {}),
    });
    holder.system = system;
    deps.register(system);
    const nodeRef: { node?: ClusterNode } = {};
    system.registerNodeHandler('status', () => nodeRef.node!.status());
    // `reel drain NODE`: answer at once, then hand every shard off (the caller watches status).
    system.registerNodeHandler('drain', () => {
      void nodeRef.node!.drain().catch(() => undefined);
      return { draining: true };
    });
    await system.start([]);
    const membership = new Membership(kv, { id: o.nodeId, roles: o.roles, weight: o.weight, startedAt: clock.now(), version: NODE_VERSION }, o.heartbeatMs, clock);
    await membership.start();
    await view.refresh();
    ownership.start();
    const node = new ClusterNode(o, system, ownership, membership, view, kv, config);
    nodeRef.node = node;
    return node;
  }

  /** This node's status, as `reel status` shows it. */
  status(): NodeStatus {
    const activationsByKind: Record<string, number> = {};
    for (const k of this.system.kindNames()) activationsByKind[k] = this.system.kindStats(k).active;
    return {
      node: this.nodeId,
      owned: this.ownership.owned().map((s) => [s, this.ownership.epochOf(s)]),
      activeActors: this.system.activeActors,
      activationsByKind,
      draining: this.drainPromise !== null,
      startedAt: this.membership.self.startedAt,
      version: NODE_VERSION,
    };
  }

  get nodeId(): string {
    return this.options.nodeId;
  }

  /** Planned leave: hands every shard off (snapshots flushed), leaves membership, stops. */
  drain(timeoutMs?: number): Promise<void> {
    this.markDrainStarted();
    this.drainPromise ??= (async () => {
      await this.membership.setDraining(true);
      await this.ownership.drain(timeoutMs);
      await this.stop();
    })();
    return this.drainPromise;
  }

  /** Stops without a handoff (held leases run out and others take over). */
  async stop(): Promise<void> {
    await this.ownership.stop();
    await this.membership.stop(true);
    await this.system.stop();
    this.view.close();
  }
}
