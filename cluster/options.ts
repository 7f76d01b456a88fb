import { DEFAULT_DEDUP_WINDOW, DEFAULT_SHARD_COUNT, InvalidArgument, type SystemOptions } from '../runtime/index.js';
import type { OwnershipTimings } from './ownership.js';

/** Heartbeat interval of a node's membership entry. */
export const DEFAULT_HEARTBEAT_MS = 1_000;
/** A node silent this long is gone. */
export const DEFAULT_HEARTBEAT_WINDOW_MS = 3_000;
/** Shard lease, renewal, margin and reconcile interval. */
export const DEFAULT_LEASE_MS = 3_000;
export const DEFAULT_RENEW_MS = 1_000;
export const DEFAULT_SAFETY_MARGIN_MS = 500;
export const DEFAULT_RECONCILE_MS = 100;
/** An ask with no answer after this long is sent again with the same id. */
export const DEFAULT_CLUSTER_ASK_ATTEMPT_MS = 1_000;

/** Options of a cluster node. Every field is optional. */
export interface ClusterNodeOptions {
  /** Node id, one subject token. @default random */
  nodeId?: string;
  /** Subject and bucket prefix shared by the cluster's nodes. @default 'reel' */
  prefix?: string;
  /** Shards of the cluster; a node with a different count refuses to join. @default 128 */
  shardCount?: number;
  /** Relative capacity in placement. @default 1 */
  weight?: number;
  /** Roles advertised in membership. @default ['node'] */
  roles?: string[];
  /** Membership heartbeat interval, in ms. @default 1000 */
  heartbeatMs?: number;
  /** A member silent this long is gone, in ms. @default 3000 */
  heartbeatWindowMs?: number;
  /** Shard lease, in ms. @default 3000 */
  leaseMs?: number;
  /** Lease renewal interval, in ms. @default 1000 */
  renewMs?: number;
  /** Wait past another node's lease before taking its shard, in ms. @default 500 */
  safetyMarginMs?: number;
  /** Ownership reconcile interval, in ms. @default 100 */
  reconcileMs?: number;
  /** Options of the node's actor system (mailbox, passivation, …). */
  system?: SystemOptions;
}

export interface ResolvedClusterNodeOptions {
  nodeId: string;
  prefix: string;
  shardCount: number;
  weight: number;
  roles: string[];
  heartbeatMs: number;
  timings: OwnershipTimings;
  system: SystemOptions;
}

export function parseClusterNodeOptions(o: ClusterNodeOptions = {}): ResolvedClusterNodeOptions {
  const r: ResolvedClusterNodeOptions = {
    nodeId: o.nodeId ?? `node-${Math.random().toString(36).slice(2, 8)}`,
    prefix: o.prefix ?? 'reel',
    shardCount: o.shardCount ?? DEFAULT_SHARD_COUNT,
    weight: o.weight ?? 1,
    roles: o.roles ?? ['node'],
    heartbeatMs: o.heartbeatMs ?? DEFAULT_HEARTBEAT_MS,
    timings: {
      leaseMs: o.leaseMs ?? DEFAULT_LEASE_MS,
      renewMs: o.renewMs ?? DEFAULT_RENEW_MS,
      safetyMarginMs: o.safetyMarginMs ?? DEFAULT_SAFETY_MARGIN_MS,
      heartbeatWindowMs: o.heartbeatWindowMs ?? DEFAULT_HEARTBEAT_WINDOW_MS,
      tickMs: o.reconcileMs ?? DEFAULT_RECONCILE_MS,
    },
    // Callers in a cluster retry (moves, lost replies): nodes remember recent ask ids.
    system: { askAttemptTimeoutMs: DEFAULT_CLUSTER_ASK_ATTEMPT_MS, dedupWindow: DEFAULT_DEDUP_WINDOW, ...o.system },
  };
  const bad: string[] = [];
  if (!/^[A-Za-z0-9_-]+$/.test(r.prefix)) bad.push('prefix must match [A-Za-z0-9_-]+');
  if (!(r.weight > 0)) bad.push('weight must be > 0');
  const t = r.timings;
  if (!(t.renewMs > 0 && t.renewMs * 2 <= t.leaseMs)) bad.push('renewMs must be > 0 and at most half of leaseMs');
  if (!(t.safetyMarginMs >= 0)) bad.push('safetyMarginMs must be >= 0');
  if (!(r.heartbeatMs > 0 && r.heartbeatMs < t.heartbeatWindowMs)) bad.push('heartbeatMs must be > 0 and below heartbeatWindowMs');
  if (!(t.tickMs > 0 && t.tickMs <= t.renewMs)) bad.push('reconcileMs must be > 0 and at most renewMs');
  if (bad.length) throw new InvalidArgument(`invalid cluster node options: ${bad.join('; ')}`, { fields: bad.map((b) => b.split(' ')[0]!) });
  return r;
}
