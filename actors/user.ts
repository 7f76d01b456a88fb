import type { Actor, ActorAddress, Envelope } from '../runtime/index.js';
import { countInteraction, emptyCounters, meanRating, type InteractionCounters } from './interaction-counters.js';
import { UserMsg, type InteractionBody, type UserSummary } from './messages.js';

/** Titles of recent history a user actor keeps. */
export const USER_RECENT_TITLES = 100;

interface UserState extends InteractionCounters {
  /** Oldest first; at most `USER_RECENT_TITLES`. */
  recent: string[];
}

/** One user: history and counters, live in memory, snapshotted on passivation. */
export class UserActor implements Actor<UserState> {
  private s: UserState = { ...emptyCounters(), recent: [] };

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
        countInteraction(this.s, b);
        const recent = this.s.recent;
        recent.push(b.titleId);
        if (recent.length > USER_RECENT_TITLES) recent.splice(0, recent.length - USER_RECENT_TITLES);
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
      meanRating: meanRating(s),
      recentTitleIds: s.recent.slice().reverse(),
      updateTimeMs: s.updateTimeMs,
    };
  }
}
