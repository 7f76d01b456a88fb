import type { Actor, ActorAddress, Envelope } from '../runtime/index.js';
import { UserMsg, type InteractionBody, type UserSummary } from './messages.js';

/** Titles of recent history a user actor keeps. */
export const USER_RECENT_TITLES = 100;

interface UserState {
  count: number;
  ratingSum: number;
  ratingCount: number;
  /** Oldest first; at most `USER_RECENT_TITLES`. */
  recent: string[];
  updateTimeMs: number;
}

/** One user: history and counters, live in memory, snapshotted on passivation. */
export class UserActor implements Actor<UserState> {
  private s: UserState = { count: 0, ratingSum: 0, ratingCount: 0, recent: [], updateTimeMs: 0 };

  constructor(private readonly address: ActorAddress) {}

  onActivate(_ctx: unknown, snap: UserState | undefined): void {
    if (snap) this.s = snap;
  }

  snapshot(): UserState {
    return this.s;
  }

  receive(msg: Envelope): unknown {
    switch (msg.type) {
      case UserMsg.Interaction: {
        const b = msg.body as InteractionBody;
        const s = this.s;
        s.count++;
        if (b.type === 'RATING') {
          s.ratingSum += b.value;
          s.ratingCount++;
        }
        s.recent.push(b.titleId);
        if (s.recent.length > USER_RECENT_TITLES) s.recent.splice(0, s.recent.length - USER_RECENT_TITLES);
        s.updateTimeMs = Math.max(s.updateTimeMs, b.eventTimeMs);
        return undefined;
      }
      case UserMsg.Summary:
        return this.summary();
      default:
        throw new Error(`user actor: unknown message type '${msg.type}'`);
    }
  }

  private summary(): UserSummary {
    const s = this.s;
    return {
      userId: this.address.key,
      interactionCount: s.count,
      meanRating: s.ratingCount ? s.ratingSum / s.ratingCount : 0,
      recentTitleIds: s.recent.slice().reverse(),
      updateTimeMs: s.updateTimeMs,
    };
  }
}
