import type { Actor, ActorAddress, Envelope } from '../runtime/index.js';
import { countInteraction, emptyCounters, meanRating, type InteractionCounters } from './interaction-counters.js';
import { decodeInteraction, decodeNoBody, unknownMessageType } from './decode.js';
import { UserMsg, type UserSummary } from './messages.js';

/** Titles of recent history a user actor keeps. */
export const USER_RECENT_TITLES = 100;

interface UserState extends InteractionCounters {
  /** Titles by event time, oldest first; at most `USER_RECENT_TITLES`. */
  recent: string[];
  /** Event time of each of `recent`, ms since the Unix epoch. */
  recentTimes: number[];
}

/** One user: history and counters, live in memory, snapshotted on passivation. */
export class UserActor implements Actor<UserState> {
  private s: UserState = { ...emptyCounters(), recent: [], recentTimes: [] };

  constructor(private readonly address: ActorAddress) {}

  onActivate(_ctx: unknown, snap: UserState | undefined): void {
    if (snap) this.s = { ...snap, recentTimes: snap.recentTimes ?? snap.recent.map(() => 0) };
  }

  snapshot(): UserState {
    return this.s;
  }

  receive(msg: Envelope): unknown {
    switch (msg.type) {
      case UserMsg.Interaction: {
        // Decoded before anything changes: a rejected body leaves the state as it was.
        const b = decodeInteraction(msg.body, this.address, 'userId');
        countInteraction(this.s, b);
        this.addRecent(b.titleId, b.eventTimeMs);
        return undefined;
      }
      case UserMsg.Summary:
        decodeNoBody(msg.body, this.address, msg.type);
        return this.summary();
      default:
        throw unknownMessageType(this.address, msg.type);
    }
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
