import {
  DEFAULT_DEDUP_MAX_ENTRIES, DEFAULT_SHARD_COUNT, InvalidArgument, MAX_REPLICAS, MAX_SHARD_COUNT, NODE_ID_PATTERN, parseSystemOptions, type SystemOptions,
} from '../runtime/index.js';
import { MAX_MEMBER_WEIGHT } from './cluster-view.js';
import type { OwnershipTimings } from './ownership.js';

/** Heartbeat interval of a node's membership entry. */
export const DEFAULT_HEARTBEAT_MS = 1_000;
/** A node whose entry did not change for this long is gone. */
export const DEFAULT_HEARTBEAT_WINDOW_MS = 3_000;
/** Shard lease, renewal, margin and reconcile interval. */
export const DEFAULT_LEASE_MS = 3_000;
export const DEFAULT_RENEW_MS = 1_000;
export const DEFAULT_SAFETY_MARGIN_MS = 500;
/**
 * The lease and heartbeat window of a node on a NATS cluster: longer than JetStream's leader
 * election, which leaves a replicated bucket unwritable for about 5 s when its leader's server
 * dies (nats-server 2.9: 5.0-5.2 s in bench:nats-cluster). Leases and heartbeats outlast it, so
 * a dead server moves no shard; the cost is a longer wait for the shards of a node that dies
 * without leaving (early takeover is off on a cluster of servers, see ClusterNode).
 */
export const NATS_CLUSTER_LEASE_MS = 10_000;
export const NATS_CLUSTER_HEARTBEAT_WINDOW_MS = 10_000;
export const DEFAULT_RECONCILE_MS = 100;
/** How often a node probes each shard owner for a closed NATS connection (early takeover); 0: never. */
export const DEFAULT_PROBE_MS = 200;
/** A probe of a live peer is answered within this, or counts for nothing (a paused peer). */
export const DEFAULT_PROBE_TIMEOUT_MS = 500;
/** A probe that found no responders is repeated this much later: twice gone is cut off. */
export const DEFAULT_PROBE_CONFIRM_MS = 50;
/** Full re-read of the cluster bucket, under the watch. */
export const DEFAULT_VIEW_REFRESH_MS = 5_000;
/**
 * A member whose entry has not changed for this long has its entry deleted by the others. Until
 * then `reel status` lists it as gone (and the cluster as degraded): long enough for an operator
 * to see that a node died without leaving.
 */
export const DEFAULT_GONE_MEMBER_REMOVAL_MS = 600_000;
/** An ask with no answer after this long is sent again with the same id. */
export const DEFAULT_CLUSTER_ASK_ATTEMPT_MS = 1_000;

/** Options of a cluster node. Every field is optional. */
export interface ClusterNodeOptions {
  /** Node id, one subject token. @default random */
  nodeId?: string;
  /** Subject and bucket prefix shared by the cluster's nodes. @default 'reel' */
  prefix?: string;
  /** Shards of a new cluster; a node with a different count refuses to join an existing one. @default the cluster's, or 128 */
  shardCount?: number;
  /** The cluster's longest ask deadline, in ms (see `SystemOptions.maxAskDeadlineMs`). @default the cluster's, or 30000 */
  maxAskDeadlineMs?: number;
  /**
   * Replicas of the cluster's buckets and streams (JetStream `num_replicas`), stored in the
   * cluster config; a node with another count, or one that finds a bucket with another count,
   * refuses to run. @default the cluster's; for a new cluster 3 on a NATS cluster of 3 or more
   * servers, else 1
   */
  replicas?: number;
  /** Relative capacity in placement (0 < weight ≤ 1000). @default 1 */
  weight?: number;
  /** Roles advertised in membership. @default ['node'] */
  roles?: string[];
  /** Membership heartbeat interval, in ms. @default 1000 */
  heartbeatMs?: number;
  /** A member whose entry did not change for this long is gone, in ms. @default 3000; 10000 on a NATS cluster */
  heartbeatWindowMs?: number;
  /** Shard lease, in ms. @default 3000; 10000 on a NATS cluster */
  leaseMs?: number;
  /** Lease renewal interval, in ms (at most half the lease). @default 1000 */
  renewMs?: number;
  /** Wait past another node's lease before taking its shard, in ms. @default 500 */
  safetyMarginMs?: number;
  /** Ownership reconcile interval, in ms. @default 100 */
  reconcileMs?: number;
  /**
   * How often each shard owner is probed for a closed NATS connection, in ms: an owner with no
   * responders twice (`probeConfirmMs` apart) is taken over at once instead of after its lease.
   * 0: never (dead owners are waited out). @default 200
   */
  probeMs?: number;
  /** Wait between the two probes that find an owner gone, in ms. @default 50 */
  probeConfirmMs?: number;
  /** Full re-read of the cluster bucket, in ms. @default 5000 */
  viewRefreshMs?: number;
  /** A member whose entry has not changed for this long (it died without leaving) is deleted by the others, in ms; above heartbeatWindowMs. @default 600000 */
  goneMemberRemovalMs?: number;
  /** Options of the node's actor system (mailbox, passivation, clock, …). */
  system?: SystemOptions;
}

export interface ResolvedClusterNodeOptions {
  nodeId: string;
  prefix: string;
  /** Undefined: take the cluster's (or the default for a new one). */
  shardCount: number | undefined;
  maxAskDeadlineMs: number | undefined;
  replicas: number | undefined;
  weight: number;
  roles: string[];
  heartbeatMs: number;
  viewRefreshMs: number;
  goneMemberRemovalMs: number;
  timings: OwnershipTimings;
  system: SystemOptions;
}

/**
 * Merges `o` over the defaults and validates every field, the system options included, before
 * anything is written anywhere; throws `InvalidArgument` naming each bad field.
 */
export function parseClusterNodeOptions(o: ClusterNodeOptions = {}, on: { natsCluster?: boolean } = {}): ResolvedClusterNodeOptions {
  const r: ResolvedClusterNodeOptions = {
    nodeId: o.nodeId ?? `node-${Math.random().toString(36).slice(2, 8)}`,
    prefix: o.prefix ?? 'reel',
    shardCount: o.shardCount,
    maxAskDeadlineMs: o.maxAskDeadlineMs,
    replicas: o.replicas,
    weight: o.weight ?? 1,
    roles: o.roles ?? ['node'],
    heartbeatMs: o.heartbeatMs ?? DEFAULT_HEARTBEAT_MS,
    viewRefreshMs: o.viewRefreshMs ?? DEFAULT_VIEW_REFRESH_MS,
    goneMemberRemovalMs: o.goneMemberRemovalMs ?? DEFAULT_GONE_MEMBER_REMOVAL_MS,
    timings: {
      leaseMs: o.leaseMs ?? (on.natsCluster ? NATS_CLUSTER_LEASE_MS : DEFAULT_LEASE_MS),
      renewMs: o.renewMs ?? DEFAULT_RENEW_MS,
      safetyMarginMs: o.safetyMarginMs ?? DEFAULT_SAFETY_MARGIN_MS,
      heartbeatWindowMs: o.heartbeatWindowMs ?? (on.natsCluster ? NATS_CLUSTER_HEARTBEAT_WINDOW_MS : DEFAULT_HEARTBEAT_WINDOW_MS),
      tickMs: o.reconcileMs ?? DEFAULT_RECONCILE_MS,
      probeMs: o.probeMs ?? DEFAULT_PROBE_MS,
      probeConfirmMs: o.probeConfirmMs ?? DEFAULT_PROBE_CONFIRM_MS,
    },
    // Callers in a cluster retry (moves, lost replies): nodes remember applied asks.
    system: { askAttemptTimeoutMs: DEFAULT_CLUSTER_ASK_ATTEMPT_MS, dedupMaxEntries: DEFAULT_DEDUP_MAX_ENTRIES, ...o.system },
  };
  const bad: string[] = [];
  const field: string[] = [];
  const check = (ok: boolean, name: string, rule: string, v: unknown) => {
    if (ok) return;
    bad.push(`${name} ${rule} (got ${JSON.stringify(v) ?? String(v)})`);
    field.push(name);
  };
  const int = (v: unknown, min: number, max = Number.MAX_SAFE_INTEGER) => typeof v === 'number' && Number.isSafeInteger(v) && v >= min && v <= max;
  check(typeof r.nodeId === 'string' && NODE_ID_PATTERN.test(r.nodeId), 'nodeId', `must match ${NODE_ID_PATTERN}`, r.nodeId);
  check(typeof r.prefix === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(r.prefix), 'prefix', 'must match [A-Za-z0-9_-]{1,64}', r.prefix);
  check(r.shardCount === undefined || int(r.shardCount, 1, MAX_SHARD_COUNT), 'shardCount', `must be an integer in 1..${MAX_SHARD_COUNT}`, r.shardCount);
  check(r.maxAskDeadlineMs === undefined || int(r.maxAskDeadlineMs, 1), 'maxAskDeadlineMs', 'must be an integer >= 1', r.maxAskDeadlineMs);
  check(r.replicas === undefined || int(r.replicas, 1, MAX_REPLICAS), 'replicas', `must be an integer in 1..${MAX_REPLICAS}`, r.replicas);
  check(typeof r.weight === 'number' && r.weight > 0 && r.weight <= MAX_MEMBER_WEIGHT, 'weight', `must be > 0 and <= ${MAX_MEMBER_WEIGHT}`, r.weight);
  check(Array.isArray(r.roles) && r.roles.every((x) => typeof x === 'string' && x !== ''), 'roles', 'must be non-empty strings', r.roles);
  const t = r.timings;
  check(int(t.leaseMs, 1), 'leaseMs', 'must be an integer >= 1', t.leaseMs);
  check(int(t.renewMs, 1) && t.renewMs * 2 <= t.leaseMs, 'renewMs', 'must be an integer >= 1 and at most half of leaseMs', t.renewMs);
  check(int(t.safetyMarginMs, 0), 'safetyMarginMs', 'must be an integer >= 0', t.safetyMarginMs);
  check(int(t.heartbeatWindowMs, 1), 'heartbeatWindowMs', 'must be an integer >= 1', t.heartbeatWindowMs);
  check(int(r.heartbeatMs, 1) && r.heartbeatMs < t.heartbeatWindowMs, 'heartbeatMs', 'must be an integer >= 1 and below heartbeatWindowMs', r.heartbeatMs);
  check(int(t.tickMs, 1) && t.tickMs <= t.renewMs, 'reconcileMs', 'must be an integer >= 1 and at most renewMs', t.tickMs);
  check(int(t.probeMs, 0), 'probeMs', 'must be an integer >= 0', t.probeMs);
  check(int(t.probeConfirmMs, 1), 'probeConfirmMs', 'must be an integer >= 1', t.probeConfirmMs);
  check(int(r.viewRefreshMs, 100), 'viewRefreshMs', 'must be an integer >= 100', r.viewRefreshMs);
  check(int(r.goneMemberRemovalMs, 1) && r.goneMemberRemovalMs > t.heartbeatWindowMs, 'goneMemberRemovalMs', 'must be an integer above heartbeatWindowMs', r.goneMemberRemovalMs);
  if (bad.length) throw new InvalidArgument(`invalid cluster node options: ${bad.join('; ')}`, { fields: field });
  // The system options are checked here too (with the node's id and shard count), so a node
  // never writes anything to the cluster before every option has been found valid.
  parseSystemOptions({ ...r.system, nodeId: r.nodeId, shardCount: r.shardCount ?? DEFAULT_SHARD_COUNT, ...(r.maxAskDeadlineMs !== undefined ? { maxAskDeadlineMs: r.maxAskDeadlineMs } : {}) });
  return r;
}
