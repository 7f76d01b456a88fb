import type { JetStreamManager } from '@nats-io/jetstream';
import { KvWatchInclude, type KV, type KvEntry } from '@nats-io/kv';
import type { Clock } from '../runtime/index.js';
import { isRequestTimeout, readJson } from './cluster-kv.js';
import { decodePlacement, placeShards, withOverrides, type PlacementNode, type PlacementTable } from './placement.js';

/** A node as it registers itself in `members.<id>`. */
export interface MemberInfo {
  id: string;
  roles: string[];
  weight: number;
  /** Run of the node this entry belongs to: a namesake with another one is another process. */
  incarnation: string;
  /** Envelope version the node speaks. */
  codecVersion: number;
  /** Wall-clock ms when the node started, by its own clock: a label, never compared. */
  startedAt: number;
  version: string;
  /** Wall-clock ms of its last heartbeat, by its own clock: a label, never compared. */
  heartbeatAt: number;
  /** Set while the node drains: it takes no new shards. */
  draining?: boolean;
  /** Why the node stopped after a fatal error (it released its shards); its last write, set with `draining`. */
  failed?: string;
}

/** The ownership record of one shard, `shards.<n>`. */
export interface ShardOwner {
  /** Owning node id; '' when released. */
  owner: string;
  /** Increases with every change of owner; a safe integer. */
  epoch: number;
  /** How long the owner's last claim or renewal lets it serve, in ms of its own clock: another node waits at least this (timed on its own clock) before taking the shard. */
  leaseMs?: number;
  /** On a release (owner ''): the node that released it, which keeps what its cut left for the next owner. */
  by?: string;
}

/** What the view knows of a shard's entry. */
export interface ShardRecord {
  /** Undefined for a garbled value, a delete marker or an entry that does not exist. */
  value: ShardOwner | undefined;
  /** KV revision for compare-and-set; 0 when the bucket has no entry for the key. */
  revision: number;
  /** A value exists but does not read as an ownership record. */
  poisoned: boolean;
}

/** A member entry and when this view last saw it change. */
interface MemberRecord {
  info: MemberInfo;
  revision: number;
  /** This node's monotonic clock when the entry's revision last changed (or was first seen). */
  changedAt: number;
  /** The view's fresh clock then (see `ClusterViewOptions.self`). */
  freshChangedAt: number;
  /** Revision changes seen since the view opened (its first sight is not one). */
  changes: number;
}

/** Key of the placement in force (see `placeShards`). */
export const PLACEMENT_KEY = 'placement';

/** Member weights above this are nonsense (placement would hand one node everything). */
export const MAX_MEMBER_WEIGHT = 1_000;

const ID_RE = /^[A-Za-z0-9_-]{1,64}$/;

/** An ownership record: a node id (or '' when released) and a safe epoch that `+1` still raises. */
export function isShardOwner(v: unknown): v is ShardOwner {
  const o = v as ShardOwner;
  return (
    typeof o === 'object' && o !== null && typeof o.owner === 'string' && (o.owner === '' || ID_RE.test(o.owner)) &&
    Number.isSafeInteger(o.epoch) && o.epoch >= 0 && o.epoch < Number.MAX_SAFE_INTEGER &&
    (o.by === undefined || (typeof o.by === 'string' && ID_RE.test(o.by)))
  );
}

/** A member entry whose fields all make sense, under the key that names it. */
export function isMember(v: unknown, id: string): v is MemberInfo {
  const o = v as MemberInfo;
  return (
    typeof o === 'object' && o !== null && o.id === id && ID_RE.test(id) && typeof o.weight === 'number' && Number.isFinite(o.weight) &&
    o.weight > 0 && o.weight <= MAX_MEMBER_WEIGHT && Array.isArray(o.roles) && o.roles.every((r) => typeof r === 'string')
  );
}

/** Timings of a view. */
export interface ClusterViewOptions {
  /** Full re-read interval, in ms: the safety net under the watch. @default 5000 */
  refreshMs?: number;
  /** Wait before restarting a watch that ended or failed, in ms. @default 500 */
  watchRetryMs?: number;
  /** Where the view reports a watch or re-read failure. */
  log?: (msg: string, fields?: Record<string, unknown>) => void;
  /**
   * The view's own node and how often it heartbeats. Liveness then runs on a fresh clock: time
   * counts only while this view is seen current, by its own node's heartbeats arriving through
   * its watch or by a re-read to the end (a gap between two such counts at most twice the
   * interval). A view that sees nothing change (its watch stalled while the bucket's stream
   * elects a leader after a server died, or every write failing) shows every entry standing
   * still, its own too, and that must not make the others look gone. Without it liveness runs
   * on the monotonic clock (a client, the CLI).
   */
  self?: { id: string; heartbeatMs: number };
}

/**
 * A node's cached view of the cluster bucket: members, shard owners and overrides, kept
 * current by one watch (restarted when it ends or fails) and a periodic full read.
 *
 * Liveness is judged here, on this node's monotonic clock, from when each member's entry last
 * changed: a member's own timestamps are labels written by another clock and never compared.
 */
export class ClusterView {
  readonly shards = new Map<number, ShardRecord>();
  readonly overrides = new Map<number, string>();
  /** The stored placement (`placement`), as read: decoded per shard count on use. */
  private placementEntry: { value: unknown; revision: number } = { value: undefined, revision: 0 };
  private placementMemo: { key: string; table: string[] } | undefined;
  private readonly memberRecords = new Map<string, MemberRecord>();
  private readonly revisions = new Map<string, number>();
  private readonly listeners = new Set<() => void>();
  private readonly releaseListeners = new Set<(shard: number) => void>();
  private readonly ownedListeners = new Set<(shard: number) => void>();
  private readonly refreshMs: number;
  private readonly watchRetryMs: number;
  private readonly log: (msg: string, fields?: Record<string, unknown>) => void;
  private watch: { stop(): void } | null = null;
  private refreshTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private readonly self: { key: string; gapMs: number } | undefined;
  /** When this view was last seen current (its own node's heartbeat through the watch, a complete re-read), on both clocks. */
  private ownSeen: { at: number; fresh: number };
  /** The revision of the last heartbeat of its own node that the watch delivered. */
  private ownWatched = 0;
  /** Whether `readAllByGets` has said once that it stands in for a watch. */
  private watchFallbackLogged = false;
  /** The last attempt to start the watch failed. */
  private watchDown = false;
  /** Watch restarts so far (a failed or ended watch), for operators and tests. */
  watchRestarts = 0;

  constructor(
    readonly kv: KV,
    private readonly clock: Clock,
    opts: ClusterViewOptions = {},
  ) {
    this.refreshMs = opts.refreshMs ?? 5_000;
    this.watchRetryMs = opts.watchRetryMs ?? 500;
    this.log = opts.log ?? (() => undefined);
    this.self = opts.self && { key: `members.${opts.self.id}`, gapMs: 2 * opts.self.heartbeatMs };
    const now = clock.monoMs();
    this.ownSeen = { at: now, fresh: now };
  }

  /** The view is current now: the fresh clock moves on to here (at most a gap since the last time). */
  private markFresh(): void {
    if (this.self === undefined) return;
    const now = this.clock.monoMs();
    this.ownSeen = { at: now, fresh: this.freshAt(now) };
  }

  /** The fresh clock at `now` (see `ClusterViewOptions.self`); the monotonic clock itself without `self`. */
  private freshAt(now: number): number {
    if (this.self === undefined) return now;
    return this.ownSeen.fresh + Math.min(now - this.ownSeen.at, this.self.gapMs);
  }

  /** Starts the watch and the periodic re-read, and reads everything once. */
  async open(): Promise<void> {
    try {
      await this.startWatch();
    } catch (err) {
      // No watch yet (a NATS cluster electing leaders): read key by key, and keep trying to start one.
      if (!isRequestTimeout(err)) throw err;
      this.log('cluster view watch could not start; trying again', { error: (err as Error).message });
      this.restartWatch();
    }
    await this.refresh().catch((err: unknown) => {
      // Not opened: stop what was started (a watch, or attempts at one).
      this.close();
      throw err;
    });
    this.refreshTimer = setInterval(() => {
      this.refresh().catch((err: unknown) => this.log('cluster view re-read failed', { error: (err as Error).message }));
    }, this.refreshMs);
    this.refreshTimer.unref();
  }

  /** Re-reads every entry, delete markers included (the watch covers changes in between). */
  async refresh(): Promise<void> {
    const { entries, firstSeq, complete } = await this.readAll();
    for (const e of entries) this.apply(e);
    // Read to the end: the view was current then.
    if (complete) this.markFresh();
    // Keys gone from the bucket altogether (the stream was purged): those whose last revision this
    // view knows is below the stream's first message. A key a read cut short (by its timer) did not
    // reach still has its message in the stream, and stays.
    for (const [k, rev] of [...this.revisions]) if (rev < firstSeq) this.forget(k);
    this.emit();
  }

  /**
   * The last entry of every key, delete markers included, and the stream's first sequence. A watch
   * of last values delivers each key's last entry as of when it started, in revision order, then
   * every later change; an entry replaced before its turn is skipped, and its key comes back with
   * the newer value. So the read ends once it has seen the bucket's last revision and as many keys
   * as the bucket held, both as of just after the watch started. The watch's own first-update mark
   * cannot be trusted for this: it counts what was still pending when the watch asked, after
   * delivery had begun, so under steady writes it comes early and the read misses keys (a fresh
   * view, `reel status`'s, would not know them). `keys()` and `history()` wait for a quiet moment,
   * which a bucket renewed every few ms may not have.
   */
  private async readAll(): Promise<{ entries: KvEntry[]; firstSeq: number; complete: boolean }> {
    // While no watch can be started, a read by one would wait out the same timeout first.
    if (this.watchDown) return this.readAllByGets(new Error('no watch'));
    let it: Awaited<ReturnType<KV['watch']>>;
    try {
      it = await this.kv.watch({ key: '>', include: KvWatchInclude.LastValue });
    } catch (err) {
      if (!isRequestTimeout(err)) throw err;
      return this.readAllByGets(err as Error);
    }
    const out: KvEntry[] = [];
    // A read that cannot get there (keys purged from the stream meanwhile) ends by this timer.
    const timer = setTimeout(() => it.stop(), this.refreshMs).unref();
    try {
      const { state } = (await this.kv.status()).streamInfo;
      if (state.messages === 0) return { entries: [], firstSeq: Infinity, complete: true };
      const keys = new Set<string>();
      const keyCount = state.num_subjects ?? state.messages;
      let complete = false;
      for await (const e of it) {
        out.push(e);
        keys.add(e.key);
        if (e.revision >= state.last_seq && keys.size >= keyCount) {
          complete = true;
          break;
        }
      }
      return { entries: out, firstSeq: state.first_seq, complete };
    } finally {
      clearTimeout(timer);
      it.stop();
    }
  }

  /**
   * `readAll` without a consumer: the bucket's keys from its stream's subjects, then each key's
   * last entry by a get. After a server of a NATS cluster dies, creating a consumer (a watch) can
   * time out for tens of seconds while stream info and gets, answered by the stream's leader,
   * already work again: the view is read this way meanwhile. `err` is thrown when the bucket
   * offers no stream to ask (not a JetStream bucket).
   */
  private async readAllByGets(err: Error): Promise<{ entries: KvEntry[]; firstSeq: number; complete: boolean }> {
    const b = this.kv as Partial<{ jsm: JetStreamManager; stream: string; prefix: string }>;
    if (b.jsm === undefined || b.stream === undefined || b.prefix === undefined) throw err;
    const { state } = await b.jsm.streams.info(b.stream, { subjects_filter: '>' });
    const from = b.prefix.length + 1;
    const keys = Object.keys(state.subjects ?? {}).map((subject) => subject.slice(from));
    const entries = (await Promise.all(keys.map((k) => this.kv.get(k)))).filter((e): e is KvEntry => e !== null);
    if (!this.watchFallbackLogged) this.log('cluster view read key by key: a watch could not be created', { error: err.message, keys: keys.length });
    this.watchFallbackLogged = true;
    return { entries, firstSeq: state.messages === 0 ? Infinity : state.first_seq, complete: true };
  }

  /** Calls `fn` after every change. */
  onChange(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Calls `fn` with each shard whose entry this view sees released (owner ''), by any path. */
  onShardReleased(fn: (shard: number) => void): () => void {
    this.releaseListeners.add(fn);
    return () => this.releaseListeners.delete(fn);
  }

  /**
   * Calls `fn` with each shard whose entry this view sees name an owner: by its watch, or by this
   * node's own write (a claim). Asks waiting to be sent again go at once, not at their retry timer.
   */
  onShardOwned(fn: (shard: number) => void): () => void {
    this.ownedListeners.add(fn);
    return () => this.ownedListeners.delete(fn);
  }

  /** The revision of a member's entry as this view last saw it; undefined when it has none. */
  memberRevision(id: string): number | undefined {
    return this.memberRecords.get(id)?.revision;
  }

  /** Every member entry that reads as one, by id. */
  get members(): ReadonlyMap<string, MemberInfo> {
    const out = new Map<string, MemberInfo>();
    for (const [id, r] of this.memberRecords) out.set(id, r.info);
    return out;
  }

  /**
   * Members whose entry changed within `windowMs` of `now` (this node's monotonic clock), sorted
   * by id. `self` counts whatever its entry's age: a node under load whose own heartbeat lands
   * late must not hand its shards off to itself; the others judge it by what they see. With
   * the view's `self` option, "within" is on its fresh clock: a member is gone once its entry
   * stood still for `windowMs` while this node's own heartbeats kept arriving.
   */
  liveMembers(now: number, windowMs: number, self?: string): MemberInfo[] {
    const fresh = this.freshAt(now);
    const out: MemberInfo[] = [];
    for (const r of this.memberRecords.values()) if (fresh - r.freshChangedAt <= windowMs || r.info.id === self) out.push(r.info);
    return out.sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  /** When this view last saw member `id`'s entry change, and how many changes it saw; undefined when there is no entry. */
  memberSeen(id: string): { changedAt: number; changes: number; revision: number } | undefined {
    const r = this.memberRecords.get(id);
    return r && { changedAt: r.changedAt, changes: r.changes, revision: r.revision };
  }

  /**
   * Waits `windowMs` and returns those of `ids` whose entry this view saw change meanwhile: the
   * ones that are alive, judged as always by change seen, never by the times an entry claims.
   */
  async changedWithin(ids: readonly string[], windowMs: number): Promise<string[]> {
    const since = this.clock.monoMs();
    await new Promise((r) => setTimeout(r, windowMs));
    return ids.filter((id) => (this.memberRecords.get(id)?.changedAt ?? -Infinity) > since);
  }

  shard(s: number): ShardRecord {
    return this.shards.get(s) ?? { value: undefined, revision: 0, poisoned: false };
  }

  /** The stored placement, the nodes it was computed for and its KV revision (0: no entry); undefined parts when none reads as one. */
  storedPlacement(shardCount: number): { table: PlacementTable | undefined; nodes: ReadonlySet<string> | undefined; revision: number } {
    const d = decodePlacement(this.placementEntry.value, shardCount);
    return { table: d?.table, nodes: d && new Set(d.nodes), revision: this.placementEntry.revision };
  }

  /**
   * Which of `candidates` (live, not draining) the placement spreads shards over. A node the stored
   * placement left out is added back only once its entry changed after that placement was stored:
   * whoever stored it judged the node gone after its last heartbeat, and a view that saw that
   * heartbeat a moment later must not put it back (the two would take turns rewriting the table).
   * The bucket's order of revisions is the same for every view, so every view draws the same line.
   */
  placementNodes(shardCount: number, candidates: readonly PlacementNode[]): PlacementNode[] {
    const stored = this.storedPlacement(shardCount);
    if (stored.nodes === undefined) return [...candidates];
    return candidates.filter((n) => stored.nodes!.has(n.id) || (this.memberRecords.get(n.id)?.revision ?? Infinity) > stored.revision);
  }

  /**
   * The placement for `nodes`: the stored table carried forward to them (`placeShards`, which moves
   * as little as it can). Remembered until the stored table or the nodes change.
   */
  placementFor(shardCount: number, nodes: readonly PlacementNode[]): PlacementTable {
    const key = `${this.placementEntry.revision}|${shardCount}|${nodes.map((n) => `${n.id}:${n.weight}`).join(',')}`;
    if (this.placementMemo?.key !== key) {
      this.placementMemo = { key, table: placeShards(shardCount, nodes, this.storedPlacement(shardCount).table) };
    }
    return this.placementMemo.table;
  }

  /** The node each shard should be on: the placement over `placementNodes(candidates)`, manual overrides on top. */
  targetOwners(shardCount: number, candidates: readonly PlacementNode[]): Map<number, string> {
    const nodes = this.placementNodes(shardCount, candidates);
    return withOverrides(this.placementFor(shardCount, nodes), nodes, this.overrides);
  }

  /** Records this node's own write of the placement before the watch echoes it. */
  notePlacementWrite(value: unknown, revision: number): void {
    if ((this.revisions.get(PLACEMENT_KEY) ?? 0) >= revision) return;
    this.revisions.set(PLACEMENT_KEY, revision);
    this.placementEntry = { value, revision };
  }

  /** The current owner's epoch as this view sees it; 0 when the shard has no owner. */
  routeEpoch(s: number): number {
    const v = this.shards.get(s)?.value;
    return v !== undefined && v.owner !== '' ? v.epoch : 0;
  }

  /** Records this node's own successful write of a shard entry before the watch echoes it. */
  noteShardWrite(s: number, value: ShardOwner, revision: number): void {
    const key = `shards.${s}`;
    if ((this.revisions.get(key) ?? 0) >= revision) return;
    this.revisions.set(key, revision);
    this.shards.set(s, { value, revision, poisoned: false });
    if (value.owner !== '') for (const fn of this.ownedListeners) fn(s);
  }

  /** Records this node's own heartbeat: a node always sees itself alive while its writes land. */
  noteMemberWrite(info: MemberInfo, revision: number): void {
    const key = `members.${info.id}`;
    if ((this.revisions.get(key) ?? 0) >= revision) return;
    this.revisions.set(key, revision);
    this.setMember(info.id, info, revision);
  }

  close(): void {
    this.closed = true;
    this.watch?.stop();
    this.watch = null;
    if (this.refreshTimer) clearInterval(this.refreshTimer);
    this.listeners.clear();
    this.releaseListeners.clear();
    this.ownedListeners.clear();
  }

  private async startWatch(): Promise<void> {
    let it: Awaited<ReturnType<KV['watch']>>;
    try {
      it = await this.kv.watch({ key: '>', include: KvWatchInclude.UpdatesOnly });
    } catch (err) {
      this.watchDown = true;
      throw err;
    }
    this.watchDown = false;
    this.watch = it;
    void (async () => {
      try {
        for await (const e of it) {
          // This node's own heartbeat, through the watch: the view is current up to here.
          if (this.self !== undefined && e.key === this.self.key && e.revision > this.ownWatched) {
            this.ownWatched = e.revision;
            this.markFresh();
          }
          this.apply(e);
        }
        if (!this.closed) this.log('cluster view watch ended; restarting it');
      } catch (err) {
        if (!this.closed) this.log('cluster view watch failed; restarting it', { error: (err as Error).message });
      }
      this.restartWatch();
    })();
  }

  /** A dead watch would make every peer look dead: start a new one, and re-read what it missed. */
  private restartWatch(): void {
    if (this.closed) return;
    this.watchRestarts++;
    setTimeout(() => {
      if (this.closed) return;
      this.startWatch()
        .then(() => this.refresh())
        .catch((err: unknown) => {
          this.log('cluster view watch could not restart', { error: (err as Error).message });
          this.restartWatch();
        });
    }, this.watchRetryMs).unref();
  }

  private apply(e: KvEntry): void {
    const prev = this.revisions.get(e.key) ?? 0;
    if (e.revision <= prev) return;
    this.revisions.set(e.key, e.revision);
    const [group, id] = splitKey(e.key);
    const v = readJson<unknown>(e);
    const live = e.operation === 'PUT';
    if (group === 'members') {
      if (live && isMember(v, id)) this.setMember(id, v, e.revision);
      else this.memberRecords.delete(id);
    } else if (group === 'shards') {
      const s = Number(id);
      if (!Number.isInteger(s)) return;
      // One rule for every path: a delete marker is an entry with no readable owner, never "no entry".
      if (!live) this.shards.set(s, { value: undefined, revision: e.revision, poisoned: false });
      else if (isShardOwner(v)) {
        this.shards.set(s, { value: v, revision: e.revision, poisoned: false });
        for (const fn of v.owner === '' ? this.releaseListeners : this.ownedListeners) fn(s);
      }
      else this.shards.set(s, { value: undefined, revision: e.revision, poisoned: true });
    } else if (group === 'overrides') {
      const s = Number(id);
      if (live && typeof v === 'string' && ID_RE.test(v) && Number.isInteger(s)) this.overrides.set(s, v);
      else this.overrides.delete(s);
    } else if (e.key === PLACEMENT_KEY) {
      this.placementEntry = { value: live ? v : undefined, revision: e.revision };
    }
    this.emit();
  }

  private setMember(id: string, info: MemberInfo, revision: number): void {
    const r = this.memberRecords.get(id);
    const now = this.clock.monoMs();
    if (r !== undefined && r.revision === revision) return;
    const fresh = this.freshAt(now);
    this.memberRecords.set(id, { info, revision, changedAt: now, freshChangedAt: fresh, changes: r === undefined ? 0 : r.changes + 1 });
  }

  /**
   * Reads `key` from the bucket and takes what is stored, even a lower revision than this view
   * has seen: after a compare-and-set on it failed. Normally the view is behind (another node
   * wrote), and the watch would have brought the entry anyway. But a NATS cluster whose stream
   * leader dies can come back without the last entries it had already delivered to watchers
   * (writes never acknowledged, or lost): a view that saw them is ahead of the bucket, every
   * compare-and-set from it fails, and no later entry of that key ever corrects it.
   */
  async resync(key: string): Promise<void> {
    const e = await this.kv.get(key);
    const known = this.revisions.get(key) ?? 0;
    if (e === null) {
      if (known > 0) {
        this.forget(key);
        this.emit();
      }
      return;
    }
    if (e.revision < known) {
      this.log('the cluster view was ahead of the bucket (its stream lost entries after a server failure); taking the stored entry', { key, seen: known, stored: e.revision });
      this.revisions.delete(key);
    }
    this.apply(e);
  }

  private forget(key: string): void {
    this.revisions.delete(key);
    const [group, id] = splitKey(key);
    if (group === 'members') this.memberRecords.delete(id);
    else if (group === 'shards') this.shards.delete(Number(id));
    else if (group === 'overrides') this.overrides.delete(Number(id));
    else if (key === PLACEMENT_KEY) this.placementEntry = { value: undefined, revision: 0 };
  }

  private emit(): void {
    for (const fn of this.listeners) fn();
  }
}

function splitKey(key: string): [string, string] {
  const i = key.indexOf('.');
  return i < 0 ? [key, ''] : [key.slice(0, i), key.slice(i + 1)];
}
