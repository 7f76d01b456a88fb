import type { Actor, ActorAddress, ActorContext, Envelope } from '../runtime/index.js';
import { decodeInteraction, decodeNoBody, unknownMessageType } from './decode.js';
import { IdentitySet } from './identity-set.js';
import { countInteraction, emptyCounters, meanRating, type InteractionCounters } from './interaction-counters.js';
import { interactionHash } from './interaction-identity.js';
import { UserMsg, type InteractionBody, type UserSummary } from './messages.js';
import { Kind } from './kinds.js';
import { TitleInterner, UserHistory, type NodeParams, type StoredHistory } from './training/node-params.js';

/** Titles of recent history a user actor keeps. */
export const USER_RECENT_TITLES = 100;

interface UserState extends InteractionCounters {
  /** Titles by event time, oldest first; at most `USER_RECENT_TITLES`. */
  recent: string[];
  /** Event time of each of `recent`, ms since the Unix epoch. */
  recentTimes: number[];
}

/** What a user snapshot holds: the state and the identity hashes of every interaction applied. */
interface UserSnapshot extends UserState {
  /** Absent in snapshots written before identities were kept: those start with none. */
  applied?: Float64Array;
  /** The training view of the history; absent in snapshots written before training existed. */
  history?: StoredHistory;
  /** This user's parameter row in each model version: `[version, factors then bias]`. */
  rows?: Array<[string, Float32Array]>;
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
 * - `summary`: read-only.
 */
export class UserActor implements Actor<UserSnapshot> {
  private s: UserState = { ...emptyCounters(), recent: [], recentTimes: [] };
  private applied = new IdentitySet();
  private history = new UserHistory();
  private shard = -1;
  /** The node's title indices (a private one without training: a test's bare actor). */
  private readonly titleIndex: TitleInterner;

  constructor(
    private readonly address: ActorAddress,
    private readonly params?: NodeParams,
  ) {
    this.titleIndex = params?.titleIndex ?? new TitleInterner();
  }

  onActivate(ctx: ActorContext, snap: UserSnapshot | undefined): void {
    this.shard = ctx.shard;
    if (snap) {
      const { applied, history, rows, ...state } = snap;
      this.s = { ...state, recentTimes: state.recentTimes ?? state.recent.map(() => 0) };
      this.applied = applied ? IdentitySet.from(applied) : new IdentitySet();
      if (history) this.history = UserHistory.fromStored(history, this.titleIndex);
      if (rows) this.params?.restoreRows(Kind.User, ctx.shard, this.address.key, rows);
    }
    this.params?.attachUser(ctx.shard, this.address.key, this.history);
  }

  snapshot(): UserSnapshot {
    const rows = this.params?.rowsOf(Kind.User, this.shard, this.address.key) ?? [];
    return { ...this.s, applied: this.applied.toFloat64Array(), history: this.history.stored(this.titleIndex), ...(rows.length > 0 ? { rows } : {}) };
  }

  onPassivate(): UserSnapshot {
    this.params?.detachUser(this.shard, this.address.key);
    return this.snapshot();
  }

  pinned(): boolean {
    return this.params?.pinned === true;
  }

  receive(msg: Envelope): unknown {
    switch (msg.type) {
      case UserMsg.Interaction:
        // Decoded before anything changes: a rejected body leaves the state as it was.
        return this.interaction(decodeInteraction(msg.body, this.address, 'userId'));
      case UserMsg.Summary:
        decodeNoBody(msg.body, this.address, msg.type);
        return this.summary();
      default:
        throw unknownMessageType(this.address, msg.type);
    }
  }

  private interaction(b: InteractionBody): boolean {
    if (!this.applied.add(interactionHash(b))) return false;
    countInteraction(this.s, b);
    this.addRecent(b.titleId, b.eventTimeMs);
    this.history.push(this.titleIndex.index(b.titleId), b.type === 'RATING' ? b.value : NaN);
    return true;
  }

  /** Keeps history in event-time order: events can arrive late or out of order. */
  private addRecent(titleId: string, t: number): void {
    const { recent, recentTimes } = this.s;
    let i = recentTimes.length;
    while (i > 0 && recentTimes[i - 1]! > t) i--;
    recent.splice(i, 0, titleId);
    recentTimes.splice(i, 0, t);
    if (recent.length > USER_RECENT_TITLES) {
      recent.shift();
      recentTimes.shift();
    }
  }

  private summary(): UserSummary {
    const s = this.s;
    return {
      userId: this.address.key,
      interactionCount: s.count,
      meanRating: meanRating(s),
      recentTitleIds: s.recent.slice().reverse(),
      updateTimeMs: s.updateTimeMs,
    };
  }
}
