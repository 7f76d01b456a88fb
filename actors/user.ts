import type { Actor, ActorAddress, Envelope } from '../runtime/index.js';
import { decodeInteraction, decodeNoBody, unknownMessageType } from './decode.js';
import { IdentitySet } from './identity-set.js';
import { countInteraction, emptyCounters, meanRating, type InteractionCounters } from './interaction-counters.js';
import { interactionHash } from './interaction-identity.js';
import { UserMsg, type InteractionBody, type UserSummary } from './messages.js';

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

  constructor(private readonly address: ActorAddress) {}

  onActivate(_ctx: unknown, snap: UserSnapshot | undefined): void {
    if (!snap) return;
    const { applied, ...state } = snap;
    this.s = { ...state, recentTimes: state.recentTimes ?? state.recent.map(() => 0) };
    this.applied = applied ? IdentitySet.from(applied) : new IdentitySet();
  }

  snapshot(): UserSnapshot {
    return { ...this.s, applied: this.applied.toFloat64Array() };
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
