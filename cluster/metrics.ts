import type { NatsConnection } from '@nats-io/transport-node';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { DURATION_BUCKETS_S, MESSAGE_OUTCOMES, type ActorSystem, type SystemOptions } from '../runtime/index.js';
import { PulledHistogram, type BucketCounts } from './metric-pulled-histogram.js';
import { NODE_VERSION, type ClusterNode } from './node.js';
import { HANDOFF_BUCKETS_S } from './ownership.js';

/** What a node's metrics read at scrape time; a `ClusterNode` and its connection provide it. */
export interface MetricsSource {
  /** The node's actor system: kinds, activations, mailboxes, message counts and durations, stale-epoch refusals. */
  system: Pick<ActorSystem, 'kindNames' | 'kindStats' | 'maxMailboxDepth' | 'rememberedAsks' | 'stats'>;
  /** Shards this node holds now. */
  ownedShards(): number;
  /** Planned handoffs started so far. */
  rebalances(): number;
  /** Durations of completed planned handoffs, in seconds, bucketed by `HANDOFF_BUCKETS_S`. */
  handoffDurations(): BucketCounts;
  /** Reconnects of the node's NATS connection so far. */
  natsReconnects(): number;
  /** Handoffs rolled back because some actors could not be written (an alarm: the shards stay put). */
  handoffRollbacks(): number;
  /** Whether the node is connected to NATS now (it serves nothing while cut off). */
  natsConnected(): boolean;
  /** Shard leases lost so far: run out, taken over, or dropped when cut off from NATS. */
  leasesLost(): number;
}

/** What `reel_build_info` labels: the version the node runs and its id. */
export interface BuildInfo {
  node: string;
  /** @default NODE_VERSION */
  version?: string;
}

/** System options a node needs for complete metrics: without them the duration histogram stays empty. */
export const METRICS_SYSTEM_OPTIONS = { recordDurations: true } as const satisfies SystemOptions;

type KindLabel = 'kind';
type MessageLabel = 'kind' | 'type' | 'outcome';

/**
 * Declares a node's metrics in `register`. All of them read the source at scrape time; the
 * counters expose the runtime's own monotonic counts, so a scrape sets rather than adds.
 */
export function registerNodeMetrics(register: Registry, src: MetricsSource): void {
  const registers = [register];
  const { system } = src;

  new Gauge({
    name: 'reel_cluster_shards_owned',
    help: 'Shards this node holds (serving or handing off).',
    registers,
    aggregator: 'sum',
    collect() {
      this.set(src.ownedShards());
    },
  });

  new Counter({
    name: 'reel_cluster_rebalances_total',
    help: 'Planned handoffs of shards to other nodes started by this node.',
    registers,
    aggregator: 'sum',
    collect() {
      setCounter(this, {}, src.rebalances());
    },
  });

  new PulledHistogram<never>({
    name: 'reel_cluster_handoff_duration_seconds',
    help: 'Duration of planned shard handoffs, from the start of the pre-copy to the last release write.',
    labelNames: [],
    bounds: HANDOFF_BUCKETS_S,
    registers,
    aggregator: 'sum',
    read: () => [{ labels: {}, histogram: src.handoffDurations() }],
  });

  new Counter({
    name: 'reel_cluster_handoff_rollbacks_total',
    help: 'Planned handoffs rolled back because some actors could not be written; the shards stayed on this node. Alert on any increase.',
    registers,
    aggregator: 'sum',
    collect() {
      setCounter(this, {}, src.handoffRollbacks());
    },
  });

  new Gauge({
    name: 'reel_nats_connected',
    help: 'Whether this node is connected to NATS (1) or cut off and serving nothing (0).',
    registers,
    aggregator: 'min',
    collect() {
      this.set(src.natsConnected() ? 1 : 0);
    },
  });

  new Counter({
    name: 'reel_nats_reconnects_total',
    help: "Reconnects of this node's NATS connection.",
    registers,
    aggregator: 'sum',
    collect() {
      setCounter(this, {}, src.natsReconnects());
    },
  });

  new Counter({
    name: 'reel_cluster_leases_lost_total',
    help: 'Shard leases this node lost: run out (a pause, a partition), taken over by another node, or dropped when cut off from NATS.',
    registers,
    aggregator: 'sum',
    collect() {
      setCounter(this, {}, src.leasesLost());
    },
  });

  new Counter({
    name: 'reel_cluster_stale_epoch_total',
    help: 'Messages this node refused because they named another owner epoch than the one it serves (the sender retries once its view catches up).',
    registers,
    aggregator: 'sum',
    collect() {
      setCounter(this, {}, system.stats.staleEpochs);
    },
  });

  new Counter({
    name: 'reel_cluster_fenced_writes_total',
    help: "Snapshot writes of this node the store refused because a newer owner had written (this node's ownership was stale). Alert on any increase.",
    registers,
    aggregator: 'sum',
    collect() {
      let n = 0;
      for (const kind of system.kindNames()) n += system.kindStats(kind).snapshotsRejected;
      setCounter(this, {}, n);
    },
  });

  new Counter<KindLabel>({
    name: 'reel_actor_dedup_hits_total',
    help: 'Asks sent again with an id already applied (or in progress), answered from the applied window without running the handler again, per kind.',
    labelNames: ['kind'],
    registers,
    aggregator: 'sum',
    collect() {
      this.reset();
      for (const kind of system.kindNames()) this.inc({ kind }, system.kindStats(kind).duplicates);
    },
  });

  new Gauge<KindLabel>({
    name: 'reel_actor_activations',
    help: 'Actor activations alive on this node, per kind.',
    labelNames: ['kind'],
    registers,
    aggregator: 'sum',
    collect() {
      this.reset();
      for (const kind of system.kindNames()) this.set({ kind }, system.kindStats(kind).active);
    },
  });

  new Gauge({
    name: 'reel_actor_remembered_asks',
    help: 'Asks the activations on this node remember for deduplication (until their deadline plus a margin).',
    registers,
    aggregator: 'sum',
    collect() {
      this.set(system.rememberedAsks);
    },
  });

  new Gauge({
    name: 'reel_actor_mailbox_depth_max',
    help: 'Messages queued in the deepest mailbox on this node.',
    registers,
    aggregator: 'max',
    collect() {
      this.set(system.maxMailboxDepth());
    },
  });

  new Counter<MessageLabel>({
    name: 'reel_actor_messages_total',
    help: 'Messages that reached an actor, per kind, message type and outcome.',
    labelNames: ['kind', 'type', 'outcome'],
    registers,
    aggregator: 'sum',
    collect() {
      this.reset();
      // The runtime keeps at most MAX_MESSAGE_TYPES_PER_KIND types per kind (the rest as 'other').
      for (const kind of system.kindNames()) {
        for (const [type, stats] of system.kindStats(kind).byType) for (const outcome of MESSAGE_OUTCOMES) this.inc({ kind, type, outcome }, stats[outcome]);
      }
    },
  });

  new Counter<KindLabel>({
    name: 'reel_actor_snapshot_write_failures_total',
    help: 'Snapshot writes that failed (store unreachable, snapshot too large), per kind; the actor stayed in memory.',
    labelNames: ['kind'],
    registers,
    aggregator: 'sum',
    collect() {
      this.reset();
      for (const kind of system.kindNames()) this.inc({ kind }, system.kindStats(kind).snapshotFailures);
    },
  });

  new PulledHistogram<KindLabel>({
    name: 'reel_actor_message_duration_seconds',
    help: 'Handler duration per message, per kind (recorded when the node runs with recordDurations).',
    labelNames: ['kind'],
    bounds: DURATION_BUCKETS_S,
    registers,
    aggregator: 'sum',
    *read() {
      for (const kind of system.kindNames()) {
        const h = system.kindStats(kind).durations;
        if (h !== null) yield { labels: { kind }, histogram: h };
      }
    },
  });
}

/**
 * A registry of its own for one node process: process defaults and `reel_build_info`, served from
 * before the node joins; `registerNodeMetrics` adds the node's own once it has.
 */
export function processRegistry(build: BuildInfo): Registry {
  const register = new Registry();
  collectDefaultMetrics({ register });
  const info = new Gauge<'version' | 'node'>({
    name: 'reel_build_info',
    help: 'Always 1; its labels say which reel version this node runs.',
    labelNames: ['version', 'node'],
    registers: [register],
  });
  info.set({ version: build.version ?? NODE_VERSION, node: build.node }, 1);
  return register;
}

/** The metrics source of a running node. */
export function clusterNodeSource(node: ClusterNode, nc: NatsConnection): MetricsSource {
  const reconnects = countReconnects(nc);
  return {
    system: node.system,
    ownedShards: () => node.ownership.owned().length,
    rebalances: () => node.ownership.stats.rebalances,
    handoffDurations: () => node.ownership.handoffDurations,
    natsReconnects: reconnects,
    handoffRollbacks: () => node.ownership.stats.handoffFailures,
    natsConnected: () => node.status().connected,
    leasesLost: () => node.ownership.stats.lost,
  };
}

/** Counts `reconnect` events of a connection from now on; the count stops when the connection closes. */
export function countReconnects(nc: NatsConnection): () => number {
  let n = 0;
  void (async () => {
    for await (const s of nc.status()) if (s.type === 'reconnect') n++;
  })().catch(() => undefined); // status iterators end quietly on close; nothing else to report
  return () => n;
}

/** Sets a counter to a monotonic count kept elsewhere (prom-client counters only add). */
function setCounter<T extends string>(c: Counter<T>, labels: Partial<Record<T, string>>, value: number): void {
  c.reset();
  c.inc(labels, value);
}
