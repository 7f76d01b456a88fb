import { Unavailable, type Actor, type ActorAddress, type ActorContext, type Envelope } from '../runtime/index.js';
import { decodeInteraction, decodeNoBody, unknownMessageType } from './decode.js';
import { IdentitySet } from './identity-set.js';
import { countInteraction, emptyCounters, meanRating, type InteractionCounters } from './interaction-counters.js';
import { interactionHash } from './interaction-identity.js';
import { UserMsg, type InteractionBody, type LoggedType, type LogDelete, type LogPage, type UserSummary } from './messages.js';
import { Kind } from './kinds.js';
import { TitleInterner, typeCode, typeOfCode, TYPE_UNSPECIFIED, UserHistory, type NodeParams, type StoredHistory } from './training/node-params.js';
import { decodeLogDelete, decodeLogQuery, deleteMatcher, dislikedIn, logPage } from './user-log.js';
import { decodeUserProfile, UserProfile, type StoredUserProfile } from './user-profile.js';
import type { NodeServing } from './serving/node-serving.js';
import { decodeExplainBody, decodeRecommendBody, decodeSimilarBody, explain, RankingSnapshots, recommend, similarTitles, userVector, type UserView } from './serving/recommend.js';
import { FOLD_IN_HISTORY, foldIn, impliedBy, type FoldEntry } from './serving/fold-in.js';
import { DEFAULT_INTERACTION_WEIGHTS } from './serving/interaction-weights.js';
import type { TitleMatrix } from './serving/title-matrix.js';

/** Titles of recent history a user actor keeps. */
export const USER_RECENT_TITLES = 100;
/** An impression's type code: a title shown, not watched. */
const IMPRESSION = typeCode('IMPRESSION');

/** A user's state as a snapshot keeps it. */
interface UserState extends InteractionCounters {
  /** Titles by event time, oldest first; at most `USER_RECENT_TITLES`. */
  recent: string[];
  /** Event time of each of `recent`, ms since the Unix epoch. */
  recentTimes: number[];
}

/**
 * The most recent titles of a user by event time, oldest first, at most
 * `USER_RECENT_TITLES`: the title's index in the node's `TitleInterner` and the event time,
 * in typed arrays. A node holding ten million interactions kept them as strings, one per
 * interaction: millions of small heap objects that every full garbage collection marked.
 */
class RecentTitles {
  private titles = new Int32Array(4);
  private times = new Float64Array(4);
  private n = 0;

  /** Inserts at its place in event-time order (events arrive late or out of order), dropping the oldest past the bound. */
  add(title: number, t: number): void {
    let i = this.n;
    while (i > 0 && this.times[i - 1]! > t) i--;
    if (this.n === USER_RECENT_TITLES) {
      // Full: the oldest goes. A title older than all the kept ones is not kept.
      if (i === 0) return;
      this.titles.copyWithin(0, 1, i);
      this.times.copyWithin(0, 1, i);
      i--;
    } else {
      if (this.n === this.titles.length) this.grow();
      this.titles.copyWithin(i + 1, i, this.n);
      this.times.copyWithin(i + 1, i, this.n);
      this.n++;
    }
    this.titles[i] = title;
    this.times[i] = t;
  }

  /** Twice the room, up to the bound (most users have few interactions). */
  private grow(): void {
    const size = Math.min(USER_RECENT_TITLES, this.titles.length * 2);
    const titles = new Int32Array(size);
    titles.set(this.titles);
    const times = new Float64Array(size);
    times.set(this.times);
    this.titles = titles;
    this.times = times;
  }

  /** Oldest first, as a snapshot keeps them. */
  stored(interner: TitleInterner): Pick<UserState, 'recent' | 'recentTimes'> {
    const recent = new Array<string>(this.n);
    const recentTimes = new Array<number>(this.n);
    for (let j = 0; j < this.n; j++) {
      recent[j] = interner.key(this.titles[j]!);
      recentTimes[j] = this.times[j]!;
    }
    return { recent, recentTimes };
  }

  /** Newest first. */
  newestFirst(interner: TitleInterner): string[] {
    const out = new Array<string>(this.n);
    for (let j = 0; j < this.n; j++) out[j] = interner.key(this.titles[this.n - 1 - j]!);
    return out;
  }

  /** The last `USER_RECENT_TITLES` of a history by event time (in its order where times tie). */
  static of(history: UserHistory): RecentTitles {
    const r = new RecentTitles();
    const titles = history.titles;
    const times = history.times;
    const types = history.types;
    for (let j = 0; j < history.length; j++) if (types[j] !== IMPRESSION) r.add(titles[j]!, times[j]!);
    return r;
  }

  static from(stored: Pick<UserState, 'recent'> & Partial<Pick<UserState, 'recentTimes'>>, interner: TitleInterner): RecentTitles {
    const r = new RecentTitles();
    // Oldest first already: appended in order, the last `USER_RECENT_TITLES` kept.
    const from = Math.max(0, stored.recent.length - USER_RECENT_TITLES);
    for (let j = from; j < stored.recent.length; j++) {
      if (r.n === r.titles.length) r.grow();
      r.titles[r.n] = interner.index(stored.recent[j]!);
      r.times[r.n] = stored.recentTimes?.[j] ?? 0;
      r.n++;
    }
    return r;
  }
}

/** What a user snapshot holds: the state and the identity hashes of every interaction applied. */
interface UserSnapshot extends UserState {
  /** Absent in snapshots written before identities were kept: those start with none. */
  applied?: Float64Array;
  /** The training view of the history; absent in snapshots written before training existed. */
  history?: StoredHistory;
  /** This user's parameter row in each model version: `[version, factors then bias]`. */
  rows?: Array<[string, Float32Array]>;
  /** Absent while no profile was ever set. */
  profile?: StoredUserProfile;
  /** Titles with a thumbs-down; absent while none. */
  disliked?: string[];
  /** When an interaction last came from the stream, and the version the row was last folded into. */
  recordedAtMs?: number;
  foldedFor?: string;
}

/**
 * One user: history and counters, live in memory; each interaction is applied once by its
 * identity (`interactionIdentity`).
 *
 * Durability, per message type:
 * - `interaction`: applied in memory together with its identity. Both are written in one
 *   snapshot on passivation and planned shard moves, so they survive those; a crash of the
 *   owner loses both back to the last snapshot (a later issue makes the JetStream
 *   interaction log the source of truth). Answers true when applied, false for a repeat.
 * - `profile`: an idempotent upsert (`UserProfile`: labels, preferred genres), durable as
 *   `interaction` is. Answers true when something changed.
 * - `summary`, `interactions`: read-only.
 * - `deleteInteractions`: removes interactions from the log and rebuilds what derives from it
 *   (counters, recent and watched titles, dislikes, the cached ranking); the identities stay, so
 *   a replayed event does not come back. Durable before it answers, as `record` is. The row of
 *   the active version is then refit from what is left (a fold-in; zeroed when nothing is left
 *   to fit), and any other version's on its next ranking, whenever a delete removed something:
 *   a trained row still holds what was deleted.
 */
export class UserActor implements Actor<UserSnapshot> {
  private s: InteractionCounters = emptyCounters();
  private recent = new RecentTitles();
  private profile = new UserProfile();
  private applied = new IdentitySet();
  private history = new UserHistory();
  private shard = -1;
  /** The node's title indices (a private one without training: a test's bare actor). */
  private readonly titleIndex: TitleInterner;

  /** Titles the user gave a thumbs-down (and no thumbs-up since): their neighbours rank lower. */
  private disliked = new Set<string>();
  /** When the log last changed through the API (an interaction from the stream, a delete; wall-clock ms), and the version the row was last folded into. */
  private recordedAtMs = 0;
  private foldedFor: string | undefined;
  private watchedSet: Set<string> | undefined;
  private watchedLength = 0;
  /** Ranking snapshots for later pages (made on the first recommendation). */
  private snaps: RankingSnapshots | undefined;
  private readonly view: UserView = {
    key: '',
    shard: -1,
    watched: () => {
      // Kept between rankings while the history does not grow (a ranking asks for it each time).
      if (this.watchedSet === undefined || this.watchedLength !== this.history.length) {
        // A title only shown to the user (an impression) is not one it watched.
        const out = new Set<string>();
        const titles = this.history.titles;
        const types = this.history.types;
        for (let j = 0; j < titles.length; j++) if (types[j] !== IMPRESSION) out.add(this.titleIndex.key(titles[j]!));
        this.watchedSet = out;
        this.watchedLength = this.history.length;
      }
      return this.watchedSet;
    },
    recent: () => this.recent.newestFirst(this.titleIndex),
    disliked: () => this.disliked,
    state: () => `${this.history.length}|${this.disliked.size}|${this.foldedFor ?? ''}|${this.recordedAtMs}`,
    refresh: (m) => {
      if (this.recordedAtMs > m.fit.trainedAtMs && this.foldedFor !== m.version) this.foldInto(m);
    },
    preferredGenres: () => this.profile.view().preferredGenres,
  };

  constructor(
    private readonly address: ActorAddress,
    private readonly params?: NodeParams,
    /** The node's serving state (absent: a bare actor in a test, which cannot recommend). */
    private readonly serving?: NodeServing,
  ) {
    this.titleIndex = params?.titleIndex ?? new TitleInterner();
    this.view.key = address.key;
  }

  onActivate(ctx: ActorContext, snap: UserSnapshot | undefined): void {
    this.shard = ctx.shard;
    this.view.shard = ctx.shard;
    if (snap) {
      const { applied, history, rows, recent, recentTimes, profile, disliked, recordedAtMs, foldedFor, ...counters } = snap;
      this.s = counters;
      this.recordedAtMs = recordedAtMs ?? 0;
      this.foldedFor = foldedFor;
      this.disliked = new Set(disliked ?? []);
      this.profile = new UserProfile(profile);
      // Snapshots written before event times were kept have none: 0, in their stored order.
      this.recent = RecentTitles.from({ recent, recentTimes }, this.titleIndex);
      this.applied = applied ? IdentitySet.from(applied) : new IdentitySet();
      if (history) this.history = UserHistory.fromStored(history, this.titleIndex);
      if (rows) this.params?.restoreRows(Kind.User, ctx.shard, this.address.key, rows);
    }
    this.params?.attachUser(ctx.shard, this.address.key, this.history);
  }

  snapshot(): UserSnapshot {
    const rows = this.params?.rowsOf(Kind.User, this.shard, this.address.key) ?? [];
    const profile = this.profile.stored();
    return { ...this.s, ...this.recent.stored(this.titleIndex), applied: this.applied.toFloat64Array(), history: this.history.stored(this.titleIndex), ...(rows.length > 0 ? { rows } : {}), ...(profile && { profile }), ...(this.disliked.size > 0 ? { disliked: [...this.disliked] } : {}), ...(this.recordedAtMs > 0 ? { recordedAtMs: this.recordedAtMs } : {}), ...(this.foldedFor !== undefined ? { foldedFor: this.foldedFor } : {}) };
  }

  onPassivate(): UserSnapshot {
    this.params?.detachUser(this.shard, this.address.key);
    return this.snapshot();
  }

  pinned(): boolean {
    return this.params?.pinned === true;
  }

  receive(msg: Envelope, ctx?: ActorContext): unknown {
    switch (msg.type) {
      case UserMsg.Interaction:
        // Decoded before anything changes: a rejected body leaves the state as it was.
        return this.interaction(decodeInteraction(msg.body, this.address, 'userId'));
      case UserMsg.Record: {
        // Folded into the served version's row at once (the next recommendation reflects it),
        // and durable before the answer: the stream's message is acknowledged on it.
        const applied = this.interaction(decodeInteraction(msg.body, this.address, 'userId'));
        if (applied) {
          this.recordedAtMs = Date.now();
          const m = this.serving?.active === undefined ? undefined : this.serving.matrix(this.serving.active);
          if (m !== undefined) this.foldInto(m);
        }
        return ctx === undefined ? applied : ctx.persist(applied).then(() => applied);
      }
      case UserMsg.Summary:
        decodeNoBody(msg.body, this.address, msg.type);
        return this.summary();
      case UserMsg.Profile:
        return this.profile.upsert(decodeUserProfile(msg.body, this.address));
      case UserMsg.Recommend: {
        const b = decodeRecommendBody(msg.body, this.address);
        if (this.serving === undefined) throw new Unavailable(`node hosting ${this.address.kind}/${this.address.key} does not serve recommendations`, {});
        return recommend(this.serving, this.view, b, (this.snaps ??= new RankingSnapshots()));
      }
      case UserMsg.Explain: {
        const b = decodeExplainBody(msg.body, this.address);
        if (this.serving === undefined) throw new Unavailable(`node hosting ${this.address.kind}/${this.address.key} does not serve recommendations`, {});
        return explain(this.serving, this.view, b, (t) => this.lastTypeOf(t));
      }
      case UserMsg.Delete: {
        // Forgets everything the user is (its identities stay: a replayed interaction applies
        // nothing twice) and its rows (zeroed: a user without history ranks from none), durably.
        decodeNoBody(msg.body, this.address, msg.type);
        const existed = this.s.count > 0 || !this.profile.empty;
        this.s = emptyCounters();
        this.recent = new RecentTitles();
        this.history = new UserHistory();
        this.params?.attachUser(this.shard, this.address.key, this.history);
        this.profile = new UserProfile();
        this.disliked = new Set();
        this.watchedSet = undefined;
        this.snaps = undefined;
        this.recordedAtMs = 0;
        this.foldedFor = undefined;
        for (const [version, row] of this.params?.rowsOf(Kind.User, this.shard, this.address.key) ?? []) {
          this.params!.existingVersion(version)!.arena(Kind.User, this.shard).set(this.address.key, new Float32Array(row.length));
        }
        return ctx === undefined ? existed : ctx.persist(existed).then(() => existed);
      }
      case UserMsg.Watched:
        decodeNoBody(msg.body, this.address, msg.type);
        return [...this.view.watched()];
      case UserMsg.Vector:
        decodeNoBody(msg.body, this.address, msg.type);
        if (this.serving === undefined) throw new Unavailable(`node hosting ${this.address.kind}/${this.address.key} does not serve recommendations`, {});
        return userVector(this.serving, this.view);
      case UserMsg.Interactions: {
        const q = decodeLogQuery(msg.body, this.address);
        return { ...logPage(this.history, this.titleIndex, q), known: this.s.count > 0 || !this.profile.empty } satisfies LogPage;
      }
      case UserMsg.DeleteInteractions: {
        const deleted = this.deleteInteractions(decodeLogDelete(msg.body, this.address));
        return ctx === undefined || deleted === 0 ? deleted : ctx.persist(deleted).then(() => deleted);
      }
      case UserMsg.Similar: {
        const b = decodeSimilarBody(msg.body, this.address);
        if (this.serving === undefined) throw new Unavailable(`node hosting ${this.address.kind}/${this.address.key} does not serve recommendations`, {});
        return similarTitles(this.serving, b, false, this.view, (this.snaps ??= new RankingSnapshots()));
      }
      default:
        throw unknownMessageType(this.address, msg.type);
    }
  }

  private interaction(b: InteractionBody): boolean {
    if (!this.applied.add(interactionHash(b))) return false;
    countInteraction(this.s, b);
    const title = this.titleIndex.index(b.titleId);
    // Recent titles are what the user watched (reasons, cold-start genres): not those only shown.
    if (b.type !== 'IMPRESSION') this.recent.add(title, b.eventTimeMs);
    this.history.log(title, b.type, b.value, b.eventTimeMs, b.eventId);
    if (b.type === 'THUMBS_DOWN') this.disliked.add(b.titleId);
    else if (b.type === 'THUMBS_UP') this.disliked.delete(b.titleId);
    return true;
  }

  /** The type of the user's newest interaction (by event time) with `titleId`; undefined when it has none. */
  private lastTypeOf(titleId: string): LoggedType | undefined {
    const h = this.history;
    const title = this.titleIndex.index(titleId);
    let at = -1;
    for (let j = 0; j < h.length; j++) if (h.titles[j] === title && (at < 0 || h.times[j]! >= h.times[at]!)) at = j;
    return at < 0 ? undefined : typeOfCode(h.types[at]!);
  }

  /**
   * Sets the user's row of `m`'s version to the least-squares fit of its history (`foldIn`, with
   * the node's interaction weights); false when nothing could be fit.
   */
  private foldInto(m: TitleMatrix): boolean {
    const v = this.params?.existingVersion(m.version);
    if (v === undefined || v.shape.factors !== m.factors) return false;
    const weights = this.serving?.weights ?? DEFAULT_INTERACTION_WEIGHTS;
    const titles = this.history.titles;
    const values = this.history.values;
    const types = this.history.types;
    // The newest entries that count: an impression (weight 0 by default) takes no place.
    const entries: FoldEntry[] = [];
    for (let j = titles.length - 1; j >= 0 && entries.length < FOLD_IN_HISTORY; j--) {
      const titleId = this.titleIndex.key(titles[j]!);
      const e: FoldEntry = { titleId, rating: values[j]!, type: typeOfCode(types[j]!), disliked: this.disliked.has(titleId) };
      if (impliedBy(e, weights).weight > 0) entries.push(e);
    }
    const row = foldIn(m, entries, weights);
    if (row === undefined) return false;
    v.arena(Kind.User, this.shard).set(this.address.key, row);
    this.foldedFor = m.version;
    return true;
  }

  /**
   * Removes the interactions `d` matches from the log and rebuilds what derives from it; answers
   * how many went. Counters go down by what was removed (a snapshot from before the log kept
   * every interaction counts more than the log holds); the latest event time is the log's, unless
   * it holds interactions of unknown time.
   */
  private deleteInteractions(d: Required<LogDelete>): number {
    const h = this.history;
    const drop = deleteMatcher(h, this.titleIndex, d);
    let ratings = 0;
    let ratingSum = 0;
    for (let j = 0; j < h.length; j++) {
      if (!drop(j) || Number.isNaN(h.values[j]!)) continue;
      ratings++;
      ratingSum += h.values[j]!;
    }
    const removed = h.remove(drop);
    if (removed === 0) return 0;
    const s = this.s;
    s.count = Math.max(0, s.count - removed);
    s.ratingCount = Math.max(0, s.ratingCount - ratings);
    s.ratingSum = s.ratingCount === 0 ? 0 : s.ratingSum - ratingSum;
    if (s.count === h.length && !h.types.includes(TYPE_UNSPECIFIED)) s.updateTimeMs = h.times.reduce((a, t) => Math.max(a, t), 0);
    this.recent = RecentTitles.of(h);
    this.disliked = dislikedIn(h, this.titleIndex, this.disliked);
    this.watchedSet = undefined;
    if (this.snaps !== undefined) this.snaps.last = undefined;
    // The rows of every version still hold what was deleted: refit the active one now, the others when they rank (`refresh`).
    this.recordedAtMs = Date.now();
    this.foldedFor = undefined;
    const m = this.serving?.active === undefined ? undefined : this.serving.matrix(this.serving.active);
    if (m !== undefined && !this.foldInto(m)) {
      // Nothing left to fit: a row trained on the deleted interactions must not go on ranking.
      const arena = this.params?.existingVersion(m.version)?.existing(Kind.User, this.shard);
      if (arena?.has(this.address.key)) arena.set(this.address.key, new Float32Array(m.factors + 1));
      this.foldedFor = m.version;
    }
    return removed;
  }

  private summary(): UserSummary {
    const s = this.s;
    return {
      userId: this.address.key,
      interactionCount: s.count,
      meanRating: meanRating(s),
      recentTitleIds: this.recent.newestFirst(this.titleIndex),
      updateTimeMs: s.updateTimeMs,
      ...this.profile.view(),
      known: s.count > 0 || !this.profile.empty,
    };
  }
}
