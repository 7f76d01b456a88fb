import type { Actor, ActorAddress, Envelope } from '../runtime/index.js';
import { TitleMsg, type InteractionBody, type TitleSummary } from './messages.js';

interface TitleState {
  count: number;
  ratingSum: number;
  ratingCount: number;
  updateTimeMs: number;
}

/** One title: popularity counters, live in memory, snapshotted on passivation. */
export class TitleActor implements Actor<TitleState> {
  private s: TitleState = { count: 0, ratingSum: 0, ratingCount: 0, updateTimeMs: 0 };

  constructor(private readonly address: ActorAddress) {}

  onActivate(_ctx: unknown, snap: TitleState | undefined): void {
    if (snap) this.s = snap;
  }

  snapshot(): TitleState {
    return this.s;
  }

  receive(msg: Envelope): unknown {
    switch (msg.type) {
      case TitleMsg.Interaction: {
        const b = msg.body as InteractionBody;
        const s = this.s;
        s.count++;
        if (b.type === 'RATING') {
          s.ratingSum += b.value;
          s.ratingCount++;
        }
        s.updateTimeMs = Math.max(s.updateTimeMs, b.eventTimeMs);
        return undefined;
      }
      case TitleMsg.Summary:
        return this.summary();
      default:
        throw new Error(`title actor: unknown message type '${msg.type}'`);
    }
  }

  private summary(): TitleSummary {
    const s = this.s;
    return {
      titleId: this.address.key,
      interactionCount: s.count,
      meanRating: s.ratingCount ? s.ratingSum / s.ratingCount : 0,
      updateTimeMs: s.updateTimeMs,
    };
  }
}
