import type { Actor, ActorAddress, Envelope } from '../runtime/index.js';
import { decodeInteraction, decodeNoBody, unknownMessageType } from './decode.js';
import { IdentitySet } from './identity-set.js';
import { countInteraction, emptyCounters, meanRating, type InteractionCounters } from './interaction-counters.js';
import { interactionHash } from './interaction-identity.js';
import { TitleMsg, type TitleSummary } from './messages.js';

/** What a title snapshot holds: its counters and the identity hashes of every interaction applied. */
interface TitleSnapshot extends InteractionCounters {
  /** Absent in snapshots written before identities were kept: those start with none. */
  applied?: Float64Array;
}

/**
 * One title: popularity counters, live in memory; each interaction is applied once by its
 * identity (`interactionIdentity`).
 *
 * Durability, per message type:
 * - `interaction`: applied in memory together with its identity. Both are written in one
 *   snapshot on passivation and planned shard moves, so they survive those; a crash of the
 *   owner loses both back to the last snapshot (a later issue makes the JetStream
 *   interaction log the source of truth). Answers true when applied, false for a repeat.
 * - `summary`: read-only.
 */
export class TitleActor implements Actor<TitleSnapshot> {
  private s: InteractionCounters = emptyCounters();
  private applied = new IdentitySet();

  constructor(private readonly address: ActorAddress) {}

  onActivate(_ctx: unknown, snap: TitleSnapshot | undefined): void {
    if (!snap) return;
    const { applied, ...counters } = snap;
    this.s = counters;
    this.applied = applied ? IdentitySet.from(applied) : new IdentitySet();
  }

  snapshot(): TitleSnapshot {
    return { ...this.s, applied: this.applied.toFloat64Array() };
  }

  receive(msg: Envelope): unknown {
    switch (msg.type) {
      case TitleMsg.Interaction: {
        // Decoded before anything changes: a rejected body leaves the state as it was.
        const b = decodeInteraction(msg.body, this.address, 'titleId');
        if (!this.applied.add(interactionHash(b))) return false;
        countInteraction(this.s, b);
        return true;
      }
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
