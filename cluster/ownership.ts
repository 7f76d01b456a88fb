import type { KV } from '@nats-io/kv';
import { Limiter, type Clock, type ShardId, type ShardOwnership } from '../runtime/index.js';
import type { PeerProbe } from './peer-probe.js';
import { TakeoverLog } from './takeovers.js';
import { BucketHistogram } from './bucket-histogram.js';
import { isRevisionConflict, json, readJson } from './cluster-kv.js';
import { isShardOwner, PLACEMENT_KEY, type ClusterView, type ShardOwner, type ShardRecord } from './cluster-view.js';
import { encodePlacement, sameTable, withOverrides, type PlacementNode, type PlacementTable } from './placement.js';

/** Timings of shard ownership. Every field is in ms of this node's monotonic clock. */
export interface OwnershipTimings {
  /** How long a claim or renewal lets the owner serve, from when it sent the write. */
  leaseMs: number;
  /** How often the owner renews its leases. */
  renewMs: number;
  /** Extra wait past another node's lease before taking its shard (clock rates, scheduling). */
  safetyMarginMs: number;
  /** A member whose entry did not change for this long is gone. */
  heartbeatWindowMs: number;
  /** How often the manager reconciles what it holds with what it should. */
  tickMs: number;
  /**
   * How often each peer that owns shards is probed for a closed NATS connection (with a
   * `PeerProbe`); 0 or absent: never, and a dead owner's shards wait out its lease.
   */
  probeMs?: number;
  /** A probe that finds no responders is repeated this much later; twice gone is gone. @default 50 */
  probeConfirmMs?: number;
}

/** What ownership drives: the node's actor system. */
export interface ShardHost {
  /** Start receiving messages for these shards. */
  host(shards: readonly ShardId[]): Promise<void>;
  /**
   * Planned handoff: stop receiving, passivate the shards' actors and flush their snapshots.
   * Returns how many actors could not be written; never throws.
   */
  unhost(shards: readonly ShardId[]): Promise<number>;
  /** Lost: stop receiving and drop the shards' actors without writing anything; never throws. */
  abandonShards(shards: readonly ShardId[]): Promise<void>;
  /**
   * Cut off from NATS: stop receiving, but keep the shards' actors in memory, doing nothing (each
   * act checks the lease first), in case this node takes the shards back unchanged (`carryOn`).
   * Without it they are abandoned. Never throws.
   */
  parkShards?(shards: readonly ShardId[]): Promise<void>;
  /** A parked shard taken back from the entry this node had written: its actors go on under `epoch`. Returns how many. */
  carryOn?(shard: ShardId, epoch: number): number;
  /**
   * A handoff's pre-copy: write the shards' changed actors while they keep serving, so that the
   * cut (`unhost`) has only what changed since to write. Resolves with how many were written; never throws.
   */
  precopy?(shards: readonly ShardId[]): Promise<number>;
  /**
   * After a shard's cut, before its release: keeps the stored state of its actors, as held under
   * `epoch`, for the next owner to fetch (a warm handoff: it reads none of them from the store).
   * Returns how many actors were kept; never throws.
   */
  handOver?(shard: ShardId, epoch: number): number;
}

/** A line of the manager's log; `level` says whether an operator must look. */
export type OwnershipLog = (msg: string, fields?: Record<string, unknown>, level?: 'info' | 'warn' | 'error') => void;

/** Upper bounds of the handoff duration histogram, in seconds. */
export const HANDOFF_BUCKETS_S = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60] as const;

/** Probes of one peer in flight at once (a paused peer answers none of them). */
const MAX_PROBES_IN_FLIGHT = 3;
/**
 * Shards of a handoff cut at once. One: a cut is CPU work once the pre-copy has written what
 * changed (its actors end unwritten), so cuts side by side only keep each other's shards dark
 * longer (bench:rebalance, join p99: 8 at once 120-250 ms, 2 at once 40-114 ms).
 */
const CUTS_AT_ONCE = 1;
/** The longest lease an owner's entry may declare that others wait out (10 minutes). */
const MAX_DECLARED_LEASE_MS = 600_000;
/** After a handoff that could not flush every actor, wait this long before trying again (doubling). */
const HANDOFF_RETRY_MS = 1_000;
const HANDOFF_RETRY_MAX_MS = 30_000;

/**
 * Fenced shard ownership for one node: claims shards by compare-and-set on `shards.<n>`
 * (the winner is whoever's write landed), renews their leases, hands shards off when the
 * assignment moves them, and takes over a dead owner's shards once its lease plus a safety
 * margin has passed, or at once when NATS shows the owner cut off (below). Every claim raises
 * the shard's epoch.
 *
 * No clock is compared across machines. An owner times its lease on its own monotonic clock
 * from the moment it sent the write, and stops serving when it runs out; another node waits a
 * lease plus a margin from the moment *it* first saw the entry's current revision, which is
 * never earlier than that write. A node that is paused, cut off or whose clocks are offset
 * therefore stops before anyone else can start.
 *
 * Early takeover: an owner whose probe subject has no responders, twice `probeConfirmMs` apart,
 * has no connection to NATS: it can neither receive a message nor send an answer or a write, and
 * a node that loses its connection stops serving every shard at once (`suspend`). Its shards are then
 * claimable at once and it leaves the placement. A paused process or a half-open connection
 * still holds its subscriptions: its probes time out, and its lease stays the bound.
 */
export class OwnershipManager implements ShardOwnership {
  private readonly epochs: Float64Array;
  private readonly leases: Float64Array;
  private readonly revisions: Float64Array;
  /** Shards being handed off: they accept nothing, but their leases still hold. */
  private readonly releasing: Uint8Array;
  /** Shards whose entry this manager has ever seen exist: one that vanishes is waited out, not taken. */
  private readonly everSeen: Uint8Array;
  /** When this node first saw each shard's current revision (monotonic ms). */
  private readonly seen = new Map<ShardId, { revision: number; at: number }>();
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  /** The last KV write queued per shard (see `serial`). */
  private readonly writes = new Map<ShardId, Promise<void>>();
  /** A handoff in progress: it runs beside reconciliation, which keeps renewing its leases. */
  private handoff: Promise<void> | null = null;
  private handoffRetryAt = 0;
  private handoffRetryMs = HANDOFF_RETRY_MS;
  /** Another reconciliation asked for while one runs (a release seen, a peer found cut off). */
  private rerun = false;
  /** Peers NATS showed cut off, with their member entry's revision then: not placed, their shards claimable. */
  private readonly cutOff = new Map<string, number>();
  /** Shards with a renewal in flight. */
  private readonly renewing = new Set<ShardId>();
  /** Shards with a claim in flight (from reconciliation or from a release seen). */
  private readonly claiming = new Set<ShardId>();
  /** Per shard held: the epoch of the release its claim replaced (0: taken over, or new), and who released it. */
  private readonly releasedEpochs: Float64Array;
  private readonly releasedBy: string[];
  /** Where the last reconciliation placed each shard: a release of one placed here is claimed at once. */
  private desired: ReadonlyMap<ShardId, string> = new Map();
  /** Probes in flight per peer, and when each peer was last probed. */
  private readonly probing = new Map<string, number>();
  private readonly probedAt = new Map<string, number>();
  private stopView: (() => void) | undefined;
  /** A write of the placement in flight: one at a time. */
  private placing: Promise<void> | null = null;
  private draining = false;
  private stopped = false;
  /** Cut off from NATS: nothing is held, nothing claimed until `resume`. */
  private suspended = false;
  /** Shards dropped (parked) when cut off from NATS, with the entry this node last wrote for each. */
  private readonly droppedAt = new Map<ShardId, { revision: number; epoch: number }>();
  /** Completed claims, renewals lost, handoffs and handoffs rolled back, for operators and tests. */
  readonly stats = { claims: 0, lost: 0, released: 0, rebalances: 0, handoffFailures: 0, cutOffPeers: 0, precopied: 0, handedOver: 0, carriedOn: 0 };
  /** Seconds from the start of a handoff (its pre-copy) to its last release write, per completed handoff. */
  readonly handoffDurations = new BucketHistogram(HANDOFF_BUCKETS_S);
  /** Shards claimed from an owner that had not released them: what it held unwritten is gone. */
  readonly takeovers = new TakeoverLog();

  constructor(
    private readonly view: ClusterView,
    private readonly kv: KV,
    private readonly nodeId: string,
    private readonly shardCount: number,
    private readonly clock: Clock,
    private readonly target: ShardHost,
    private readonly t: OwnershipTimings,
    private readonly log: OwnershipLog = () => undefined,
    private readonly probe?: PeerProbe,
  ) {
    this.epochs = new Float64Array(shardCount);
    this.leases = new Float64Array(shardCount);
    this.revisions = new Float64Array(shardCount);
    this.releasing = new Uint8Array(shardCount);
    this.everSeen = new Uint8Array(shardCount);
    this.releasedEpochs = new Float64Array(shardCount);
    this.releasedBy = new Array<string>(shardCount).fill('');
  }

  // ---- ShardOwnership ----

  servingEpoch(shard: ShardId, now: number): number {
    return now < this.leases[shard]! && this.releasing[shard] === 0 ? this.epochs[shard]! : 0;
  }

  holdsEpoch(shard: ShardId, epoch: number, now: number): boolean {
    return this.epochs[shard] === epoch && now < this.leases[shard]!;
  }

  routeEpoch(shard: ShardId): number {
    return this.view.routeEpoch(shard);
  }

  claimedFromRelease(shard: ShardId): { epoch: number; by: string } | undefined {
    if (this.epochs[shard] === 0 || this.releasedEpochs[shard] === 0 || this.releasedBy[shard] === '') return undefined;
    return { epoch: this.releasedEpochs[shard]!, by: this.releasedBy[shard]! };
  }

  onShardOwned(fn: (shard: ShardId) => void): () => void {
    return this.view.onShardOwned(fn);
  }

  // ---- control ----

  /** Shards this node holds now (serving or handing off). */
  owned(): ShardId[] {
    const out: ShardId[] = [];
    for (let s = 0; s < this.shardCount; s++) if (this.epochs[s]! > 0) out.push(s);
    return out;
  }

  /** Shards being handed off now. */
  handingOff(): ShardId[] {
    const out: ShardId[] = [];
    for (let s = 0; s < this.shardCount; s++) if (this.releasing[s] === 1) out.push(s);
    return out;
  }

  epochOf(shard: ShardId): number {
    return this.epochs[shard]!;
  }

  start(): void {
    this.timer = setInterval(() => void this.reconcile(), this.t.tickMs);
    // A released shard is claimed as soon as its new owner sees the release, not at its next tick.
    this.stopView = this.view.onShardReleased((s) => this.onReleased(s));
    void this.reconcile();
  }

  /** Runs one reconciliation (joining one already under way). */
  reconcile(): Promise<void> {
    if (this.running) return this.running;
    this.running = this.reconcileOnce()
      .catch((err: unknown) => this.log('ownership reconcile failed', { error: (err as Error).message }, 'warn'))
      .finally(() => {
        this.running = null;
        if (this.rerun && !this.stopped) {
          this.rerun = false;
          void this.reconcile();
        }
      });
    return this.running;
  }

  /**
   * A released shard that the last reconciliation placed here is claimed at once, beside any
   * reconciliation under way (which may be waiting on other claims' writes); then a
   * reconciliation runs for whatever else the release changed.
   */
  private onReleased(s: ShardId): void {
    if (this.stopped || this.suspended || this.draining) return;
    if (this.epochs[s] === 0 && this.desired.get(s) === this.nodeId && !this.claiming.has(s) && this.claimable(s, this.view.shard(s), this.clock.monoMs())) {
      void this.claimAndHost([s]);
    }
    this.kick();
  }

  /** Claims `shards` (each once at a time) and hosts those won, without waiting for the hosting. */
  private async claimAndHost(shards: ShardId[]): Promise<void> {
    const mine = shards.filter((s) => !this.claiming.has(s));
    for (const s of mine) this.claiming.add(s);
    let won: ShardId[];
    try {
      won = (await Promise.all(mine.map((s) => this.claim(s)))).filter((s): s is ShardId => s !== undefined);
    } finally {
      for (const s of mine) this.claiming.delete(s);
    }
    if (won.length === 0) return;
    this.log('claimed shards', { shards: won });
    // Hosting subscribes at once; it is not awaited, so that the next claims do not wait for the
    // server's confirmation (a flush queued behind a busy connection's traffic). Until the server
    // has the subscriptions, asks to these shards come back NoRoute and are sent again.
    void this.target.host(won).catch(async (err: unknown) => {
      // Held but unreachable: let them go (their leases run out) rather than hold shards nobody can reach.
      this.log('claimed shards could not be hosted; dropping them', { shards: won, error: (err as Error).message }, 'error');
      const held = won.filter((s) => this.epochs[s]! > 0);
      for (const s of held) this.forget(s);
      await this.target.abandonShards(held);
    });
  }

  /** Reconciles now, or right after the reconciliation under way. */
  private kick(): void {
    if (this.stopped) return;
    if (this.running) this.rerun = true;
    else void this.reconcile();
  }

  /** Peers NATS shows cut off now (for status and tests). */
  cutOffPeers(): string[] {
    return [...this.cutOff.keys()].sort();
  }

  /**
   * Cut off from NATS: this node can neither renew nor be fenced, so it stops serving at once,
   * rather than wait for leases, and parks its actors unwritten (they could not be written
   * anyway): those of a shard it takes back unchanged carry on, the others are dropped.
   */
  async suspend(why: string): Promise<void> {
    if (this.suspended) return;
    this.suspended = true;
    const held = this.owned();
    // What each entry was when this node last wrote it: reclaimed at once on reconnect if still so.
    for (const s of held) this.droppedAt.set(s, { revision: this.revisions[s]!, epoch: this.epochs[s]! });
    for (const s of held) this.forget(s);
    if (held.length > 0) {
      this.stats.lost += held.length;
      this.log('cut off from NATS; serving no shard (actors kept, unwritten, for shards that come back unchanged)', { shards: held.length, why }, 'warn');
    }
    await (this.target.parkShards !== undefined ? this.target.parkShards(held) : this.target.abandonShards(held));
  }

  /**
   * Connected again: shards are claimed anew (new epochs), at once those whose entry still names
   * this node under the epoch it held, the others once their leases are seen to have run out.
   */
  resume(): void {
    if (!this.suspended) return;
    this.suspended = false;
    void this.reconcile();
  }

  /** Hands every shard off and stops taking new ones; resolves when none is held. */
  async drain(timeoutMs = 60_000): Promise<void> {
    this.draining = true;
    this.handoffRetryAt = 0;
    const until = this.clock.monoMs() + timeoutMs;
    while (this.owned().length > 0) {
      if (this.clock.monoMs() > until) throw new Error(`drain: ${this.owned().length} shards still held after ${timeoutMs} ms (see the log for actors that could not be written)`);
      await this.reconcile();
      await this.handoff;
      if (this.owned().length > 0) await new Promise((r) => setTimeout(r, this.t.tickMs));
    }
  }

  /** Stops the loop. Held leases simply run out (a crash looks the same to the others). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.stopView?.();
    await this.running;
    await this.placing;
    await this.handoff;
  }

  // ---- reconciliation ----

  private async reconcileOnce(): Promise<void> {
    if (this.stopped) return;
    const now = this.clock.monoMs();
    // Leases that ran out (a pause, a partition): those shards are gone; drop their actors unwritten.
    const lost: ShardId[] = [];
    for (let s = 0; s < this.shardCount; s++) {
      if (this.epochs[s]! > 0 && now >= this.leases[s]!) {
        lost.push(s);
        this.forget(s);
      }
    }
    if (lost.length) {
      this.stats.lost += lost.length;
      this.log('lease ran out; shards lost', { shards: lost }, 'warn');
      await this.target.abandonShards(lost);
    }
    for (let s = 0; s < this.shardCount; s++) {
      const rec = this.view.shard(s);
      if (rec.revision > 0) this.everSeen[s] = 1;
      const seen = this.seen.get(s);
      if (seen === undefined || seen.revision !== rec.revision) this.seen.set(s, { revision: rec.revision, at: now });
    }
    if (this.suspended) return;
    this.probePeers(now);

    const eligible = this.eligible(now);
    const table = this.view.placementFor(this.shardCount, eligible);
    this.storePlacement(table, eligible);
    const desired = withOverrides(table, eligible, this.view.overrides);
    this.desired = desired;
    // Parked shards placed elsewhere now, or written since: they will not come back as they were.
    for (const s of [...this.droppedAt.keys()]) {
      if (this.epochs[s] === 0 && !this.claiming.has(s) && (desired.get(s) !== this.nodeId || !this.unchangedSinceDropped(s, this.view.shard(s)))) this.dropParked(s);
    }
    const renew: ShardId[] = [];
    const claim: ShardId[] = [];
    const release: ShardId[] = [];
    for (let s = 0; s < this.shardCount; s++) {
      if (this.epochs[s]! > 0) {
        if (this.leases[s]! - now <= this.t.leaseMs - this.t.renewMs) renew.push(s);
        // Hand off to the assigned node; a draining node with nobody to take over releases anyway.
        if (desired.get(s) !== this.nodeId && this.releasing[s] === 0 && (desired.has(s) || this.draining)) release.push(s);
      } else if (desired.get(s) === this.nodeId && !this.claiming.has(s) && this.claimable(s, this.view.shard(s), now)) {
        claim.push(s);
      }
    }
    // Renewals run beside reconciliation (one in flight per shard): a slow KV write must not hold
    // up the next reconciliation's claims, since a released shard is dark until its new owner claims it.
    for (const s of renew) {
      if (this.renewing.has(s)) continue;
      this.renewing.add(s);
      void this.renew(s).finally(() => this.renewing.delete(s));
    }
    await this.claimAndHost(claim);
    if (release.length && this.handoff === null && now >= this.handoffRetryAt) {
      this.handoff = this.handOff(release)
        .catch((err: unknown) => this.log('handoff failed', { error: (err as Error).message }, 'error'))
        .finally(() => {
          this.handoff = null;
        });
    }
  }

  /**
   * The nodes placement spreads shards over, as this node sees them: live and not draining (then
   * `ClusterView.placementNodes`). A member whose heartbeat is late but whose shard entries still
   * change within a lease plus the margin is renewing its leases: it is there, and nobody could take
   * its shards anyway, so it keeps its place (a node slow to heartbeat under load must not be
   * handed a new set of shards when its heartbeat lands).
   */
  private eligible(now: number): PlacementNode[] {
    const live = this.view.liveMembers(now, this.t.heartbeatWindowMs, this.nodeId);
    const ids = new Set(live.map((m) => m.id));
    const renewing = new Set<string>();
    for (const [s, seen] of this.seen) {
      const owner = this.view.shard(s).value?.owner;
      if (owner !== undefined && owner !== '' && !ids.has(owner) && now - seen.at < this.t.leaseMs + this.t.safetyMarginMs) renewing.add(owner);
    }
    const members = [...live, ...[...this.view.members.values()].filter((m) => renewing.has(m.id))]
      .filter((m) => !m.draining && !(this.draining && m.id === this.nodeId) && !this.isCutOff(m.id))
      .sort((a, b) => (a.id < b.id ? -1 : 1));
    return this.view.placementNodes(this.shardCount, members);
  }

  /** Shards the placement gives this node that it does not hold now (for readiness). */
  assignedNotHeld(): ShardId[] {
    if (this.draining) return [];
    const eligible = this.eligible(this.clock.monoMs());
    const desired = withOverrides(this.view.placementFor(this.shardCount, eligible), eligible, this.view.overrides);
    const out: ShardId[] = [];
    for (const [s, id] of desired) if (id === this.nodeId && this.servingEpoch(s, this.clock.monoMs()) === 0) out.push(s);
    return out;
  }

  /**
   * Stores the placement this node computed when it differs from the stored one, by compare-and-set:
   * the next change of membership is then computed from it (so it moves as little as it can). Any
   * node may write it; the nodes compute the same table from the same view, and a node whose view
   * lags loses the compare-and-set.
   */
  private storePlacement(table: PlacementTable, nodes: readonly PlacementNode[]): void {
    if (this.placing !== null || this.suspended || this.stopped || nodes.length === 0) return;
    const stored = this.view.storedPlacement(this.shardCount);
    if (stored.table !== undefined && sameTable(stored.table, table) && sameIds(stored.nodes!, nodes)) return;
    const value = encodePlacement(table, nodes);
    this.placing = (async () => {
      try {
        const revision = stored.revision === 0 ? await this.kv.create(PLACEMENT_KEY, json(value)) : await this.kv.update(PLACEMENT_KEY, json(value), stored.revision);
        this.view.notePlacementWrite(value, revision);
        const moved = stored.table === undefined ? table.length : table.filter((id, s) => id !== stored.table![s]).length;
        this.log('placement stored', { nodes: value.nodes, moved, before: stored.nodes === undefined ? null : [...stored.nodes] });
      } catch (err) {
        // Another node stored one first: the watch brings it, and the next tick computes from it.
        if (!isRevisionConflict(err)) this.log('placement write failed', { error: (err as Error).message }, 'warn');
      }
    })().finally(() => {
      this.placing = null;
    });
  }

  /**
   * Unplanned leave after a fatal error: stops at once, drops every shard's actors unwritten (the
   * process may be in no state to write them; a crash would lose them the same way) and writes
   * each held entry as released, so that others claim it now rather than after its lease. A
   * release that cannot be written leaves that shard to its lease. Returns the shards held and
   * how many were released.
   */
  async leave(): Promise<{ held: number; released: number }> {
    await this.stop();
    const held = this.owned();
    // Serving stops before the first release lands: nothing here acts once another may own a shard.
    for (const s of held) this.releasing[s] = 1;
    await this.target.abandonShards(held);
    const before = this.stats.released;
    await Promise.all(held.map((s) => this.release(s)));
    return { held: held.length, released: this.stats.released - before };
  }

  /**
   * A shard nobody may be serving: released, or never seen with an entry at all (a key that
   * does not exist has no owner to fence), or its entry has stood still for a lease plus the
   * margin since this node first saw it, or its owner is cut off from NATS. Deleted, garbled and
   * vanished entries get no shortcut.
   */
  private claimable(s: ShardId, rec: ShardRecord, now: number): boolean {
    // Dropped by this node when it was cut off, and nobody has written the entry since: a client
    // that lost its server and reconnected to another (a NATS cluster) takes its shards back at
    // once, not after its own lease. The compare-and-set is from the revision seen, so a node
    // that claimed the shard meanwhile wins, and this claim fails.
    if (this.droppedAt.has(s)) {
      if (this.unchangedSinceDropped(s, rec)) return true;
      this.dropParked(s);
    }
    if (rec.value !== undefined && (rec.value.owner === '' || this.isCutOff(rec.value.owner))) return true;
    if (rec.revision === 0 && this.everSeen[s] === 0) return true;
    return now >= this.seen.get(s)!.at + this.leaseOf(rec) + this.t.safetyMarginMs;
  }

  /**
   * How long the owner of `rec` may serve from its last write: the longer of this node's lease and
   * the one the entry says its owner took (nodes may run with different `--lease-ms`: one waiting
   * only its own shorter lease would start while the owner still serves). Capped, so that a
   * nonsense entry cannot hold a shard for ever.
   */
  private leaseOf(rec: ShardRecord): number {
    const declared = rec.value?.leaseMs;
    return typeof declared === 'number' && declared > this.t.leaseMs ? Math.min(declared, MAX_DECLARED_LEASE_MS) : this.t.leaseMs;
  }

  /**
   * Whether the entry of a shard this node dropped when cut off still names it under the epoch it
   * held: then nobody has owned the shard since (a claim raises the epoch, a release clears the
   * owner), only this node's own renewals can have landed (one whose answer the cut lost).
   */
  private unchangedSinceDropped(s: ShardId, rec: ShardRecord): boolean {
    const d = this.droppedAt.get(s);
    return d !== undefined && rec.value?.owner === this.nodeId && (rec.revision === d.revision || rec.value.epoch === d.epoch);
  }

  /** A shard dropped when cut off that will not come back as it was: its parked actors go. */
  private dropParked(s: ShardId): void {
    if (!this.droppedAt.delete(s) || this.target.parkShards === undefined) return;
    void this.target.abandonShards([s]);
  }

  private async claim(s: ShardId): Promise<ShardId | undefined> {
    const rec = this.view.shard(s);
    const carry = this.unchangedSinceDropped(s, rec);
    // Above every epoch ever written for this shard, even an unreadable one's: honest epochs
    // never exceed their own write's revision, and revisions only grow.
    const epoch = Math.max(rec.value?.epoch ?? 0, rec.revision) + 1;
    const start = this.clock.monoMs();
    const value: ShardOwner = { owner: this.nodeId, epoch, leaseMs: this.t.leaseMs };
    let revision: number;
    try {
      revision = rec.revision === 0 ? await this.kv.create(`shards.${s}`, json(value)) : await this.kv.update(`shards.${s}`, json(value), rec.revision);
    } catch (err) {
      if (!isRevisionConflict(err)) {
        this.log('claim failed', { shard: s, error: (err as Error).message }, 'warn');
        return undefined;
      }
      // Another node won (the watch shows who), or this view is ahead of the bucket: either way
      // the next claim starts from what is stored.
      await this.view.resync(`shards.${s}`).catch(() => undefined);
      return undefined;
    }
    if (this.stopped || this.suspended) {
      // Its lease runs out unused; nobody else owned the shard, so its actors may still come back.
      if (carry && !this.stopped) this.droppedAt.set(s, { revision, epoch });
      return undefined;
    }
    if (carry) {
      this.droppedAt.delete(s);
      this.stats.carriedOn += this.target.carryOn?.(s, epoch) ?? 0;
    } else {
      this.dropParked(s);
    }
    this.epochs[s] = epoch;
    this.leases[s] = start + this.t.leaseMs;
    this.revisions[s] = revision;
    this.releasing[s] = 0;
    // The compare-and-set replaced this very entry: a release names the epoch its owner wrote everything under.
    const released = rec.value !== undefined && rec.value.owner === '';
    this.releasedEpochs[s] = released ? rec.value!.epoch : 0;
    this.releasedBy[s] = released ? (rec.value!.by ?? '') : '';
    this.view.noteShardWrite(s, value, revision);
    this.stats.claims++;
    // An entry that names an owner (or cannot be read) was not released by a handoff.
    if (rec.revision > 0 && rec.value?.owner !== '') this.takeovers.note(s, rec.value?.owner ?? '?', this.clock.wallMs());
    return s;
  }

  /**
   * Runs KV writes of one shard one after another: a renewal in flight and a release (or
   * two renewals) must not race for the same revision, or the loser would look like a
   * takeover.
   */
  private serial<T>(s: ShardId, write: () => Promise<T>): Promise<T> {
    const prev = this.writes.get(s) ?? Promise.resolve();
    const p = prev.then(write, write);
    const tail = p.then(() => undefined, () => undefined);
    this.writes.set(s, tail);
    void tail.then(() => {
      if (this.writes.get(s) === tail) this.writes.delete(s);
    });
    return p;
  }

  private renew(s: ShardId): Promise<void> {
    const epoch = this.epochs[s]!;
    return this.serial(s, async () => {
      if (this.epochs[s] !== epoch) return; // released or lost meanwhile
      const start = this.clock.monoMs();
      const value: ShardOwner = { owner: this.nodeId, epoch, leaseMs: this.t.leaseMs };
      try {
        const revision = await this.kv.update(`shards.${s}`, json(value), this.revisions[s]!);
        if (this.epochs[s] !== epoch) return;
        this.leases[s] = start + this.t.leaseMs;
        this.revisions[s] = revision;
        this.view.noteShardWrite(s, value, revision);
      } catch (err) {
        if (!isRevisionConflict(err)) return; // a slow or failed write: the lease runs out unless a later renewal lands
        if (this.epochs[s] !== epoch) return;
        // Someone wrote the entry since our last known revision. If it still names us under our
        // epoch, it was our own renewal whose answer was lost: adopt it and keep the shard.
        const e = await this.kv.get(`shards.${s}`).catch(() => null);
        const v = e !== null && e.operation === 'PUT' ? readJson<unknown>(e) : undefined;
        if (e !== null && isShardOwner(v) && v.owner === this.nodeId && v.epoch === epoch) {
          if (this.epochs[s] === epoch) this.revisions[s] = e.revision;
          return;
        }
        if (this.epochs[s] !== epoch) return;
        this.stats.lost++;
        this.log('ownership taken over; shard lost', { shard: s, epoch }, 'warn');
        this.forget(s);
        await this.target.abandonShards([s]);
      }
    });
  }

  /** Writes the released entry (owner '') after any renewal in flight. */
  private release(s: ShardId): Promise<void> {
    return this.serial(s, async () => {
      const epoch = this.epochs[s]!;
      if (epoch === 0) return;
      // `by`: where the next owner may fetch what the cut left (`ShardHost.handOver`).
      const value: ShardOwner = { owner: '', epoch, by: this.nodeId };
      try {
        const revision = await this.kv.update(`shards.${s}`, json(value), this.revisions[s]!);
        this.view.noteShardWrite(s, value, revision);
        this.stats.released++;
      } catch (err) {
        // Not released: the new owner waits out the lease instead (slower, still safe).
        this.log('release write failed', { shard: s, error: (err as Error).message }, 'warn');
      }
      this.forget(s);
    });
  }

  /**
   * Planned handoff of shards the assignment gives to others. First the pre-copy: the shards keep
   * serving while their changed actors are written. Then the cut, shard by shard (CUTS_AT_ONCE),
   * each release going out while the next cut runs: a shard stops taking messages, passivates its
   * actors (writing only what changed since the pre-copy) and is released by one KV write, which
   * its new owner claims as soon as it
   * sees it. A shard is released only once every one of its actors is written; otherwise that
   * shard is rolled back (served here again), an alarm is logged and it is tried again later.
   * Nodes hand off at the same time: nothing is locked across the cluster.
   */
  private async handOff(shards: ShardId[]): Promise<void> {
    const started = this.clock.monoMs();
    this.stats.rebalances++;
    this.log('handing shards off', { shards });
    if (this.target.precopy !== undefined) this.stats.precopied += await this.target.precopy(shards);
    const precopyMs = this.clock.monoMs() - started;
    let slowest = { shard: -1, ms: 0, unhostMs: 0 };
    const failed: ShardId[] = [];
    let unwritten = 0;
    let handedOver = 0;
    // One cut at a time, each shard's release write going out while the next one's cut runs: a
    // shard is dark for its own cut, not for those that would share the cores with it.
    const cutting = new Limiter(CUTS_AT_ONCE);
    const cut = async (s: ShardId): Promise<void> => {
      let t0 = 0;
      const left = await cutting.run(async () => {
        // Lost while the pre-copy or an earlier cut ran (a lease that ran out, a takeover).
        if (this.epochs[s] === 0 || this.stopped || this.suspended) return undefined;
        this.releasing[s] = 1;
        t0 = this.clock.monoMs();
        return this.target.unhost([s]).catch((err: unknown) => {
          this.log('unhost failed', { shard: s, error: (err as Error).message }, 'error');
          return -1;
        });
      });
      if (left === undefined) return;
      try {
        if (left !== 0) {
          failed.push(s);
          if (left > 0) unwritten += left;
          return;
        }
        // Every actor is written: their stored state is kept for the next owner, then the release.
        const unhosted = this.clock.monoMs();
        if (this.target.handOver !== undefined && this.epochs[s]! > 0) handedOver += this.target.handOver(s, this.epochs[s]!);
        await this.release(s);
        const dark = this.clock.monoMs() - t0;
        if (dark > slowest.ms) slowest = { shard: s, ms: dark, unhostMs: unhosted - t0 };
      } finally {
        await this.rollBack([s]);
      }
    };
    await Promise.all(shards.map((s) => cut(s)));
    if (failed.length > 0) {
      this.stats.handoffFailures++;
      this.log('handoff rolled back: actors could not be written; their shards stay here', { shards: failed, unwritten, retryInMs: this.handoffRetryMs }, 'error');
      this.handoffRetryAt = this.clock.monoMs() + this.handoffRetryMs;
      this.handoffRetryMs = Math.min(HANDOFF_RETRY_MAX_MS, this.handoffRetryMs * 2);
      return;
    }
    this.handoffRetryMs = HANDOFF_RETRY_MS;
    this.stats.handedOver += handedOver;
    const ms = this.clock.monoMs() - started;
    this.handoffDurations.observe(ms / 1000);
    // Per handoff, what operators need to judge it: how long, and the longest a shard was dark here.
    this.log('handed shards off', { shards: shards.length, ms: Math.round(ms), precopyMs: Math.round(precopyMs), slowestCut: { shard: slowest.shard, ms: Math.round(slowest.ms), unhostMs: Math.round(slowest.unhostMs) }, handedOver });
  }

  /** Shards of a handoff that were not released serve here again, if their lease still holds. */
  private async rollBack(shards: ShardId[]): Promise<void> {
    const back = shards.filter((s) => this.releasing[s] === 1);
    if (back.length === 0) return;
    for (const s of back) this.releasing[s] = 0;
    try {
      await this.target.host(back.filter((s) => this.epochs[s]! > 0));
    } catch (err) {
      // Not subscribed again: drop them rather than hold shards nobody can reach.
      this.log('rolled-back shards could not be hosted again; dropping them', { shards: back, error: (err as Error).message }, 'error');
      for (const s of back) this.forget(s);
      await this.target.abandonShards(back);
    }
  }

  // ---- peers cut off from NATS ----

  /** A peer shown cut off, until it answers a probe or its member entry changes (a restart). */
  private isCutOff(node: string): boolean {
    const at = this.cutOff.get(node);
    if (at === undefined) return false;
    const m = this.view.memberRevision(node);
    if (m !== undefined && m > at) {
      this.cutOff.delete(node);
      return false;
    }
    return true;
  }

  /**
   * Probes each peer that owns shards (or is cut off) every `probeMs`; one with no responders is
   * probed again `probeConfirmMs` later, and twice gone is cut off: reconciliation runs at once.
   */
  private probePeers(now: number): void {
    const every = this.t.probeMs ?? 0;
    if (this.probe === undefined || every <= 0) return;
    const peers = new Set<string>(this.cutOff.keys());
    for (const rec of this.view.shards.values()) {
      const owner = rec.value?.owner;
      if (owner !== undefined && owner !== '' && owner !== this.nodeId) peers.add(owner);
    }
    for (const peer of peers) {
      // A probe in flight does not hold the next one back (one sent just before the peer died waits
      // out its timeout), but a peer that stopped answering gets a few at most.
      const inFlight = this.probing.get(peer) ?? 0;
      if (inFlight >= MAX_PROBES_IN_FLIGHT || now - (this.probedAt.get(peer) ?? -Infinity) < every) continue;
      this.probing.set(peer, inFlight + 1);
      this.probedAt.set(peer, now);
      void this.probeOne(peer).finally(() => {
        const left = (this.probing.get(peer) ?? 1) - 1;
        if (left > 0) this.probing.set(peer, left);
        else this.probing.delete(peer);
      });
    }
  }

  private async probeOne(peer: string): Promise<void> {
    const probe = this.probe!;
    const first = await probe.probe(peer);
    if (first === 'alive') {
      if (this.cutOff.delete(peer)) this.log('peer reachable again', { peer });
      return;
    }
    if (first !== 'gone' || this.cutOff.has(peer)) return;
    await new Promise((r) => setTimeout(r, this.t.probeConfirmMs ?? 50));
    if (this.stopped || this.suspended || (await probe.probe(peer)) !== 'gone' || this.cutOff.has(peer)) return;
    // Whatever it wrote before it was cut off has reached this view by now; a later entry is a restart.
    this.cutOff.set(peer, this.view.memberRevision(peer) ?? 0);
    this.stats.cutOffPeers++;
    this.log('peer cut off from NATS (no responders twice); taking its shards now', { peer });
    this.kick();
  }

  private forget(s: ShardId): void {
    this.epochs[s] = 0;
    this.releasedEpochs[s] = 0;
    this.releasedBy[s] = '';
    this.leases[s] = 0;
    this.revisions[s] = 0;
    this.releasing[s] = 0;
  }
}

function sameIds(a: ReadonlySet<string>, nodes: readonly PlacementNode[]): boolean {
  return a.size === nodes.length && nodes.every((n) => a.has(n.id));
}
