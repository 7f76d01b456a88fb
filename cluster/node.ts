import type { KV } from '@nats-io/kv';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { ActorSystem, ENVELOPE_VERSION, kvSnapshotStore, natsTransport, snapshotBucket, systemClock, type RuntimeEvent, type SystemHooks } from '../runtime/index.js';
import { openClusterKv } from './cluster-kv.js';
import { checkReplicas, checkReplicasPlaceable, clusterStreams, defaultReplicas } from './replicas.js';
import { ClusterView } from './cluster-view.js';
import { joinClusterConfig, type ClusterConfig } from './config.js';
import { HandOver } from './handover.js';
import { Membership, type MembershipFault } from './membership.js';
import { DEFAULT_PROBE_TIMEOUT_MS, parseClusterNodeOptions, type ClusterNodeOptions, type ResolvedClusterNodeOptions } from './options.js';
import { OwnershipManager, type OwnershipLog } from './ownership.js';
import { answerProbes, NatsPeerProbe } from './peer-probe.js';

/** What a cluster node is started with besides its options. */
export interface ClusterNodeDeps {
  /** NATS connection; the caller owns it. */
  nc: NatsConnection;
  /**
   * A second connection for actor snapshots (reads and writes); the caller owns it. The server
   * handles each connection's messages in order, so on `nc` a burst of snapshot reads (the first
   * asks to shards just claimed) would hold up this node's claims, renewals and subscriptions.
   * @default nc
   */
  storeNc?: NatsConnection;
  /** Registers the actor kinds this node hosts; `view` is the node's cluster view (shard owners). */
  register(system: ActorSystem, ctx: { view: ClusterView }): void | Promise<void>;
  onEvent?: (e: RuntimeEvent) => void;
  hooks?: SystemHooks;
  log?: OwnershipLog;
}

/** Version string advertised in membership. */
export const NODE_VERSION = '0.3.0';

/** What an unplanned leave achieved (see `ClusterNode.leave`). */
export interface LeaveOutcome {
  /** Whether the cluster was told: every held shard released and the entry marked failed. */
  left: boolean;
  /** The NATS connection was closed for good: nothing could be written (leases run out instead). */
  connectionClosed: boolean;
  /** Whether its membership entry now says it failed, and why. */
  entryMarked: boolean;
  /** Shards held when it left, and how many of them were released (the rest wait out their leases). */
  held: number;
  released: number;
}

/** What a node reports of itself (the `status` node handler, gathered by `reel status`). */
export interface NodeStatus {
  node: string;
  /** Shards held (serving or handing off) and their epochs. */
  owned: Array<[shard: number, epoch: number]>;
  /** Shards being handed off now. */
  handingOff: number[];
  activeActors: number;
  activationsByKind: Record<string, number>;
  /**
   * Warm handoffs: actors whose state this node's cuts left and it still keeps for the next
   * owners, actors it gave them, and actors it activated from what another node's cut left.
   */
  handedOver: { kept: number; served: number; loaded: number };
  draining: boolean;
  /** False while the node is cut off from NATS (it serves nothing then). */
  connected: boolean;
  startedAt: number;
  version: string;
}

/**
 * One node of a reel cluster on NATS: joins the cluster config, heartbeats its membership,
 * claims and renews the shards the assignment gives it, and hosts their actors. Cut off from
 * NATS it serves nothing (its actors wait in memory, unwritten) and claims its shards again once
 * reconnected: those nobody wrote meanwhile come back with their actors as they were, the others'
 * actors are dropped. `failed` resolves when it cannot go on (its connection closed for good, or
 * another process runs with its id).
 */
export class ClusterNode {
  private drainPromise: Promise<void> | null = null;
  private markDrainStarted!: () => void;
  /** Resolves when a drain starts, here or by `reel drain` (the node command then exits after it). */
  readonly drainStarted = new Promise<void>((r) => (this.markDrainStarted = r));
  private markFailed!: (err: Error) => void;
  /** Resolves with the reason when the node cannot go on; it has stopped serving by then. */
  readonly failed = new Promise<Error>((r) => (this.markFailed = r));
  private failure: Error | null = null;
  private connected = true;
  private stopping = false;
  private sweepTimer: NodeJS.Timeout | null = null;

  private constructor(
    readonly options: ResolvedClusterNodeOptions,
    readonly system: ActorSystem,
    readonly ownership: OwnershipManager,
    readonly membership: Membership,
    readonly view: ClusterView,
    readonly kv: KV,
    readonly config: ClusterConfig,
    private readonly nc: NatsConnection,
    private readonly log: OwnershipLog,
    /** This node's answers to probes: closed last, once it serves nothing, so that others may take over at once. */
    private readonly probes: Subscription,
    /** Warm handoffs, both ways. */
    private readonly handOver: HandOver,
    /** Connected to a NATS cluster: nobody takes this node's shards before their leases run out. */
    private readonly natsCluster: boolean,
  ) {}

  static async start(opts: ClusterNodeOptions, deps: ClusterNodeDeps): Promise<ClusterNode> {
    // Every option is checked before anything is written to the cluster.
    // "No responders" is what one server knows: across a NATS cluster, a route that breaks makes a
    // connected peer look gone from the other side. Early takeover runs on a single server only; in
    // a cluster of servers dead owners are waited out (their leases, longer there: see NATS_CLUSTER_LEASE_MS).
    const inCluster = deps.nc.info?.cluster !== undefined;
    const o = parseClusterNodeOptions(opts, { natsCluster: inCluster });
    const clock = o.system.clock ?? systemClock;
    const log: OwnershipLog = deps.log ?? (() => undefined);
    // A new cluster's bucket takes the count asked for (else the default for the servers); an
    // existing one is opened as it is, and checked against the config below.
    if (o.replicas !== undefined) checkReplicasPlaceable(deps.nc, o.replicas);
    const kv = await openClusterKv(deps.nc, o.prefix, o.replicas ?? defaultReplicas(deps.nc));
    // Liveness on the view's fresh clock: a stalled watch (a stream electing a leader) makes nobody gone.
    const view = new ClusterView(kv, clock, { refreshMs: o.viewRefreshMs, log, self: { id: o.nodeId, heartbeatMs: o.heartbeatMs } });
    await view.open();
    const window = o.timings.heartbeatWindowMs + o.heartbeatMs;
    const wish = {
      ...(o.shardCount !== undefined ? { shardCount: o.shardCount } : {}),
      ...(o.maxAskDeadlineMs !== undefined ? { maxAskDeadlineMs: o.maxAskDeadlineMs } : {}),
      ...(o.replicas !== undefined ? { replicas: o.replicas } : {}),
      defaultReplicas: defaultReplicas(deps.nc),
    };
    const config = await joinClusterConfig(kv, wish, clock.wallMs(), {
      liveMembersSpeaking: (version) => view.changedWithin([...view.members.values()].filter((m) => (m.codecVersion ?? 2) === version).map((m) => m.id), window),
    });
    // The system and the ownership manager refer to each other: the manager drives hosting,
    // the system asks the manager before every message. The holder breaks the cycle.
    const holder: { system?: ActorSystem } = {};
    if (inCluster && (o.timings.probeMs ?? 0) > 0) log('connected to a NATS cluster: early takeover is off, dead owners are waited out', { cluster: deps.nc.info?.cluster });
    const timings = inCluster ? { ...o.timings, probeMs: 0 } : o.timings;
    // What this node's cuts leave, kept for the next owners to fetch, and their fetches of what
    // others' cuts left: on the snapshot connection, answered until it closes (after a drain too).
    const handOver = new HandOver(deps.storeNc ?? deps.nc, o.prefix, () => holder.system!, o.nodeId);
    const ownership = new OwnershipManager(view, kv, o.nodeId, config.shardCount, clock, {
      host: (s) => holder.system!.host(s),
      unhost: (s) => holder.system!.unhost(s),
      abandonShards: (s) => holder.system!.abandonShards(s),
      parkShards: (s) => holder.system!.parkShards(s),
      carryOn: (s, epoch) => holder.system!.carryOn(s, epoch),
      precopy: (s) => holder.system!.precopy(s),
      handOver: (s, epoch) => handOver.keep(s, epoch),
    }, timings, log, new NatsPeerProbe(deps.nc, o.prefix, DEFAULT_PROBE_TIMEOUT_MS));
    const system = new ActorSystem({
      // A node hands its actors' stored state to their shard's next owner unless told not to.
      warmHandoff: true,
      ...o.system,
      nodeId: o.nodeId,
      shardCount: config.shardCount,
      maxAskDeadlineMs: config.maxAskDeadlineMs,
      transport: natsTransport(deps.nc, { prefix: o.prefix }),
      store: kvSnapshotStore(deps.storeNc ?? deps.nc, { bucketPrefix: o.prefix, replicas: config.replicas }),
      handOverSource: handOver.source,
      ownership,
      ...(deps.onEvent ? { onEvent: deps.onEvent } : {}),
      ...(deps.hooks ? { hooks: deps.hooks } : {}),
    });
    holder.system = system;
    await deps.register(system, { view });
    // Every bucket this node uses that exists already must have the cluster's replica count.
    await checkReplicas(deps.nc, clusterStreams(o.prefix, system.kindNames().map((k) => snapshotBucket(o.prefix, k))), config.replicas, o.prefix).catch((err: unknown) => {
      handOver.close();
      view.close();
      throw err;
    });
    const nodeRef: { node?: ClusterNode } = {};
    const membership = new Membership(
      kv,
      view,
      { id: o.nodeId, roles: o.roles, weight: o.weight, incarnation: system.incarnation, codecVersion: ENVELOPE_VERSION, startedAt: clock.wallMs(), version: NODE_VERSION },
      o.heartbeatMs,
      clock,
      (f) => nodeRef.node?.onFault(f),
    );
    // Probes are answered before this node is a member: a member with no responders is cut off.
    const probes = answerProbes(deps.nc, o.prefix, o.nodeId);
    // Refuses to start while a live node has this id (its entry keeps changing).
    await membership.start(window).catch((err: unknown) => {
      probes.unsubscribe();
      handOver.close();
      throw err;
    });
    try {
      system.registerNodeHandler('status', () => nodeRef.node!.status());
      // `reel drain NODE`: answer at once, then hand every shard off (the caller watches status).
      // `flush`: writes every active actor's snapshot (by passivating it), so that what was loaded
      // survives a crash of this node; answers how many could not be written.
      system.registerNodeHandler('flush', async () => ({ unwritten: await system.passivateWhere(() => true, 60_000) }));
      // `takeovers`: the shards this node claimed without a release after the caller's mark for
      // it (`since[node]`), so that a writer that acknowledged before writing can send them again.
      system.registerNodeHandler('takeovers', (_shards, body) => {
        const since = (body as { since?: Record<string, unknown> } | undefined)?.since?.[o.nodeId];
        return { node: o.nodeId, incarnation: system.incarnation, ...ownership.takeovers.since(typeof since === 'number' ? since : 0) };
      });
      system.registerNodeHandler('drain', () => {
        void nodeRef.node!.drain().catch(() => undefined);
        return { draining: true };
      });
      await system.start([]);
    } catch (err) {
      // Joined but never served: leave no entry behind.
      await membership.stop(true);
      await system.stop().catch(() => undefined);
      probes.unsubscribe();
      handOver.close();
      view.close();
      throw err;
    }
    ownership.start();
    const node = new ClusterNode(o, system, ownership, membership, view, kv, config, deps.nc, log, probes, handOver, inCluster);
    nodeRef.node = node;
    node.watchConnection();
    node.sweepTimer = setInterval(() => {
      void membership.sweepGone(o.goneMemberRemovalMs).then((gone) => {
        if (gone.length > 0) log('deleted the entries of members gone for good', { members: gone });
      });
    }, o.timings.heartbeatWindowMs);
    node.sweepTimer.unref();
    return node;
  }

  /** This node's status, as `reel status` shows it. */
  status(): NodeStatus {
    const activationsByKind: Record<string, number> = {};
    for (const k of this.system.kindNames()) activationsByKind[k] = this.system.kindStats(k).active;
    return {
      node: this.nodeId,
      owned: this.ownership.owned().map((s) => [s, this.ownership.epochOf(s)]),
      handingOff: this.ownership.handingOff(),
      activeActors: this.system.activeActors,
      activationsByKind,
      handedOver: { kept: this.handOver.stats.kept, served: this.handOver.stats.served, loaded: this.system.fresh.loads },
      draining: this.drainPromise !== null,
      connected: this.connected,
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

  /**
   * Why this node is not ready to serve (`/readyz`), or undefined when it is: connected to NATS,
   * not draining, and holding every shard placement gives it.
   */
  notReady(): string | undefined {
    if (this.failure !== null) return `failed: ${this.failure.message}`;
    if (this.stopping) return 'stopping';
    if (this.drainPromise !== null) return 'draining: handing its shards off';
    if (!this.connected) return 'disconnected from NATS';
    const missing = this.ownership.assignedNotHeld().length;
    return missing > 0 ? `${missing} assigned shards not held yet (claims pending, or a previous owner's leases to wait out)` : undefined;
  }

  /**
   * Unplanned leave after a fatal error (the process exits next): releases every shard it holds,
   * actors dropped unwritten, so that others claim them at once rather than after the leases, and
   * marks its membership entry failed with `reason` (nothing is placed on it; `reel status` lists
   * it as gone, with the reason, until the others remove the entry). With the NATS connection
   * closed for good it can write nothing: it stops, and its leases run out.
   */
  async leave(reason: string): Promise<LeaveOutcome> {
    this.stopping = true;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    if (this.nc.isClosed()) {
      await this.stop();
      return { left: false, connectionClosed: true, entryMarked: false, held: 0, released: 0 };
    }
    // No reconcile (nor handoff) starts from here; the entry is marked before any shard is
    // released, so that the others place nothing here by the time they claim.
    await this.ownership.stop();
    const entryMarked = await this.membership.fail(reason);
    const { held, released } = await this.ownership.leave();
    await this.system.stop().catch(() => undefined);
    this.view.close();
    this.probes.unsubscribe();
    return { left: entryMarked && released === held, connectionClosed: false, entryMarked, held, released };
  }

  /** Stops without a handoff (held leases run out and others take over). */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    await this.ownership.stop();
    await this.membership.stop(true);
    await this.system.stop();
    this.view.close();
    this.probes.unsubscribe();
  }

  /**
   * Cut off from a single server, the node serves nothing: others may take its shards at once
   * (early takeover), so it parks them, and reconnected it takes back those nobody wrote meanwhile,
   * under new epochs, their actors as they were. Cut off from one server of a NATS cluster (the
   * client moves to another), nobody takes its shards before their leases run out: it keeps
   * them, and goes on serving them once reconnected if its leases were renewed in time.
   */
  private watchConnection(): void {
    void (async () => {
      for await (const s of this.nc.status()) {
        if (s.type === 'disconnect') {
          this.connected = false;
          if (this.natsCluster) {
            this.log('disconnected from a NATS server; shards kept until their leases run out, while the client moves to another server', {}, 'warn');
            continue;
          }
          this.log('disconnected from NATS; serving nothing until reconnected', {}, 'warn');
          await this.ownership.suspend('disconnected from NATS');
        } else if (s.type === 'reconnect') {
          this.connected = true;
          this.log(this.natsCluster ? 'reconnected to NATS; serving on the shards whose leases held' : 'reconnected to NATS; claiming shards again', {});
          await this.view.refresh().catch((err: unknown) => this.log('cluster view re-read failed', { error: (err as Error).message }, 'warn'));
          this.ownership.resume();
        }
      }
    })().catch(() => undefined);
    void this.nc.closed().then((err) => {
      if (this.stopping) return;
      void this.ownership.suspend('connection closed');
      this.fail(new Error(`NATS connection closed for good${err ? `: ${err.message}` : ''}`));
    });
  }

  private fail(err: Error): void {
    this.failure ??= err;
    this.markFailed(err);
  }

  private onFault(f: MembershipFault): void {
    if (f.type === 'duplicate') {
      void this.ownership.suspend('another process has this node id');
      this.fail(new Error(`another process runs as node '${this.nodeId}' (incarnation ${f.other.incarnation}, this one ${this.system.incarnation}): stopping this one`));
    }
  }
}
