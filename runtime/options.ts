import { systemClock } from './clock.js';
import { InvalidArgument } from './errors.js';
import { DEFAULT_SHARD_COUNT, MAX_SHARD_COUNT } from './shard.js';
import type { Clock } from './types.js';

/** Messages a mailbox holds before it answers `Overloaded`. */
export const DEFAULT_MAILBOX_CAPACITY = 10_000;
/** An activation idle this long is passivated. */
export const DEFAULT_IDLE_PASSIVATE_MS = 5 * 60_000;
/** Active actors a node keeps before it passivates the least recently used. */
export const DEFAULT_MAX_ACTIVE_ACTORS = 1_000_000;
/** Consecutive handler failures after which an activation restarts from its snapshot. */
export const DEFAULT_MAX_CONSECUTIVE_FAILURES = 3;
/** Messages one mailbox runs before it yields to the event loop. */
export const DEFAULT_THROUGHPUT_PER_TURN = 256;
/** Default deadline of an ask. */
export const DEFAULT_ASK_TIMEOUT_MS = 5_000;
/** The longest deadline an ask may have (a cluster keeps it in its config); `deadlineMs: 0` asks for it. */
export const DEFAULT_MAX_ASK_DEADLINE_MS = 30_000;
/** How often the idle sweep looks for activations to passivate. */
export const DEFAULT_IDLE_SWEEP_MS = 1_000;
/** Granularity of the one timer that expires pending asks. */
export const DEFAULT_ASK_SWEEP_MS = 5;
/** Applied asks one activation may remember at once in a cluster (it refuses more with Overloaded). */
export const DEFAULT_DEDUP_MAX_ENTRIES = 100_000;
/** How long past an ask's deadline its id is kept: covers a retry delayed in transit longer than the first copy. */
export const DEFAULT_DEDUP_MARGIN_MS = 10_000;
/** First wait before an ask refused with NoRoute or StaleEpoch is sent again; doubles up to the max. */
export const DEFAULT_RETRY_BACKOFF_MS = 5;
export const DEFAULT_RETRY_BACKOFF_MAX_MS = 200;

/** Options of an actor system (one node). Every field is optional. */
export interface SystemOptions {
  /** Node id: a single NATS subject token (letters, digits, `_`, `-`). @default random `node-xxxxxx` */
  nodeId?: string;
  /** Number of shards S; fixed for the life of a cluster. @default 128 */
  shardCount?: number;
  /** Messages one mailbox holds; a further one is answered `Overloaded`. @default 10000 */
  mailboxCapacity?: number;
  /** Idle time after which an activation is passivated, in ms; 0 disables. @default 300000 */
  idlePassivateMs?: number;
  /** Interval of the idle sweep, in ms. @default 1000 */
  idleSweepMs?: number;
  /** Cap on active actors on this node; past it the least recently used are passivated. @default 1000000 */
  maxActiveActors?: number;
  /** Consecutive failures after which an activation restarts from its last snapshot. @default 3 */
  maxConsecutiveFailures?: number;
  /** Messages a mailbox runs before yielding to the event loop. @default 256 */
  throughputPerTurn?: number;
  /** Deadline of an ask without one, in ms (cut to `maxAskDeadlineMs` if longer). @default 5000 */
  askTimeoutMs?: number;
  /**
   * The longest deadline of an ask, in ms: longer ones are cut to it, `deadlineMs: 0` means it,
   * and an applied ask's id is kept at least this long. A cluster stores it in its config. @default 30000
   */
  maxAskDeadlineMs?: number;
  /** Granularity of the pending-ask expiry timer, in ms. @default 5 */
  askSweepMs?: number;
  /**
   * An ask with no answer after this many ms is sent again with the same message id (the
   * receiver applies it once); 0 sends each ask once. @default 0
   */
  askAttemptTimeoutMs?: number;
  /** First backoff before resending an ask refused with NoRoute or StaleEpoch, in ms; doubles per attempt. @default 5 */
  retryBackoffMs?: number;
  /** Cap of that backoff, in ms. @default 200 */
  retryBackoffMaxMs?: number;
  /**
   * Applied asks an activation may remember at once (with their answers, in its snapshot) so
   * that a retried ask is applied once; each is kept until its deadline plus `dedupMarginMs`
   * has passed, and past this many the activation refuses new asks with `Overloaded` rather
   * than forget one. 0 remembers none: a bare system sends each ask once, so that is its
   * default; cluster nodes, whose callers retry, use `DEFAULT_DEDUP_MAX_ENTRIES`. @default 0
   */
  dedupMaxEntries?: number;
  /** How long past its deadline an applied ask's id is kept, in ms. @default 10000 */
  dedupMarginMs?: number;
  /** Snapshot writes in flight at once; more wait their turn (a handoff flushes many). @default 256 */
  maxConcurrentSnapshotWrites?: number;
  /** Record each handler's duration (for the metrics histogram); costs two clock reads a message. @default false */
  recordDurations?: boolean;
  /**
   * Keep each active actor's snapshot as stored (its bytes, from a store that gives them) so that a
   * planned handoff can send it to the shard's next owner, which then reads nothing from the store
   * (`takeHandedOver`, `acceptHandedOver`). Costs the memory of one stored snapshot per active actor. @default false
   */
  warmHandoff?: boolean;
  /** Time source: wall clock for labels, monotonic clock for every duration. @default the system's */
  clock?: Clock;
}

export type ResolvedSystemOptions = Required<SystemOptions>;

export function defaultSystemOptions(): ResolvedSystemOptions {
  return {
    nodeId: `node-${Math.random().toString(36).slice(2, 8)}`,
    shardCount: DEFAULT_SHARD_COUNT,
    mailboxCapacity: DEFAULT_MAILBOX_CAPACITY,
    idlePassivateMs: DEFAULT_IDLE_PASSIVATE_MS,
    idleSweepMs: DEFAULT_IDLE_SWEEP_MS,
    maxActiveActors: DEFAULT_MAX_ACTIVE_ACTORS,
    maxConsecutiveFailures: DEFAULT_MAX_CONSECUTIVE_FAILURES,
    throughputPerTurn: DEFAULT_THROUGHPUT_PER_TURN,
    askTimeoutMs: DEFAULT_ASK_TIMEOUT_MS,
    maxAskDeadlineMs: DEFAULT_MAX_ASK_DEADLINE_MS,
    askSweepMs: DEFAULT_ASK_SWEEP_MS,
    askAttemptTimeoutMs: 0,
    retryBackoffMs: DEFAULT_RETRY_BACKOFF_MS,
    retryBackoffMaxMs: DEFAULT_RETRY_BACKOFF_MAX_MS,
    dedupMaxEntries: 0,
    dedupMarginMs: DEFAULT_DEDUP_MARGIN_MS,
    recordDurations: false,
    warmHandoff: false,
    maxConcurrentSnapshotWrites: 256,
    clock: systemClock,
  };
}

/** A node id must be one subject token so that it can name reply subjects. */
export const NODE_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** Merges `opts` over the defaults; throws `InvalidArgument` naming every bad field. */
export function parseSystemOptions(opts: SystemOptions = {}): ResolvedSystemOptions {
  const o: ResolvedSystemOptions = { ...defaultSystemOptions() };
  for (const [k, v] of Object.entries(opts)) if (v !== undefined) (o as unknown as Record<string, unknown>)[k] = v;
  const bad: string[] = [];
  const int = (name: keyof ResolvedSystemOptions, min: number, max = Number.MAX_SAFE_INTEGER) => {
    const v = o[name];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) bad.push(`${name} must be an integer in ${min}..${max} (got ${String(v)})`);
  };
  if (typeof o.nodeId !== 'string' || !NODE_ID_PATTERN.test(o.nodeId)) bad.push(`nodeId must match ${NODE_ID_PATTERN} (got ${JSON.stringify(o.nodeId)})`);
  int('shardCount', 1, MAX_SHARD_COUNT);
  int('mailboxCapacity', 1);
  int('idlePassivateMs', 0);
  int('idleSweepMs', 1);
  int('maxActiveActors', 1);
  int('maxConsecutiveFailures', 1);
  int('throughputPerTurn', 1);
  int('askTimeoutMs', 1);
  int('maxAskDeadlineMs', 1);
  int('askSweepMs', 1);
  int('askAttemptTimeoutMs', 0);
  int('retryBackoffMs', 1);
  int('retryBackoffMaxMs', 1);
  int('dedupMaxEntries', 0);
  int('dedupMarginMs', 0);
  int('maxConcurrentSnapshotWrites', 1);
  if (!o.clock || typeof o.clock.wallMs !== 'function' || typeof o.clock.monoMs !== 'function') bad.push('clock must have wallMs() and monoMs()');
  if (bad.length) {
    throw new InvalidArgument(`invalid system options: ${bad.join('; ')}`, { fields: bad.map((b) => b.split(' ')[0]!) });
  }
  return o;
}
