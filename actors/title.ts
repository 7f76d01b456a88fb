import type { Actor, ActorAddress, Envelope } from '../runtime/index.js';
import { countInteraction, emptyCounters, meanRating, type InteractionCounters } from './interaction-counters.js';
import { decodeInteraction, decodeNoBody, unknownMessageType } from './decode.js';
import { TitleMsg, type TitleSummary } from './messages.js';

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
        // Decoded before anything changes: a rejected body leaves the state as it was.
        countInteraction(this.s, decodeInteraction(msg.body, this.address, 'titleId'));
        return undefined;
      case TitleMsg.Summary:
        decodeNoBody(msg.body, this.address, msg.type);
        return this.summary();
      default:
        throw unknownMessageType(this.address, msg.type);
    }
  }

  private summary(): TitleSummary {
    return { titleId: this.address.key, interactionCount: this.s.count, meanRating: meanRating(this.s), updateTimeMs: this.s.updateTimeMs };
  }
}
