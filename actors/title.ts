import type { Actor, ActorAddress, Envelope } from '../runtime/index.js';
import { countInteraction, emptyCounters, meanRating, type InteractionCounters } from './interaction-counters.js';
import { TitleMsg, type InteractionBody, type TitleSummary } from './messages.js';

type TitleState = InteractionCounters;

/** One title: popularity counters, live in memory, snapshotted on passivation. */
export class TitleActor implements Actor<TitleState> {
  private s: TitleState = emptyCounters();

  constructor(private readonly address: ActorAddress) {}

  onActivate(_ctx: unknown, snap: TitleState | undefined): void {
    if (snap) this.s = snap;
  }

  snapshot(): TitleState {
    return this.s;
  }

  receive(msg: Envelope): unknown {
    switch (msg.type) {
      case TitleMsg.Interaction:
        countInteraction(this.s, msg.body as InteractionBody);
        return undefined;
      case TitleMsg.Summary:
        return this.summary();
      default:
        throw new Error(`title actor: unknown message type '${msg.type}'`);
    }
  }

  private summary(): TitleSummary {
    return { titleId: this.address.key, interactionCount: this.s.count, meanRating: meanRating(this.s), updateTimeMs: this.s.updateTimeMs };
  }
}
