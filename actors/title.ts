import type { Actor, ActorAddress, ActorContext, Envelope } from '../runtime/index.js';
import { decodeInteraction, decodeNoBody, unknownMessageType } from './decode.js';
import { IdentitySet } from './identity-set.js';
import { countInteraction, emptyCounters, meanRating, type InteractionCounters } from './interaction-counters.js';
import { interactionHash } from './interaction-identity.js';
import { TitleMsg, type TitleSummary } from './messages.js';
import { Kind } from './kinds.js';
import type { NodeParams } from './training/node-params.js';
import { decodeTitleMetadata, TitleMetadata, type StoredTitleMetadata } from './title-metadata.js';

/** What a title snapshot holds: its counters, the identity hashes of every interaction applied, and its metadata. */
interface TitleSnapshot extends InteractionCounters {
  /** Absent in snapshots written before identities were kept: those start with none. */
  applied?: Float64Array;
  /** This title's parameter row in each model version: `[version, factors then bias]`. */
  rows?: Array<[string, Float32Array]>;
  /** Absent while no metadata was ever set. */
  metadata?: StoredTitleMetadata;
}

/**
 * One title: popularity counters and metadata, live in memory; each interaction is applied
 * once by its identity (`interactionIdentity`).
 *
 * Durability, per message type:
 * - `interaction`: applied in memory together with its identity. Both are written in one
 *   snapshot on passivation and planned shard moves, so they survive those; a crash of the
 *   owner loses both back to the last snapshot (a later issue makes the JetStream
 *   interaction log the source of truth). Answers true when applied, false for a repeat.
 * - `metadata`: an idempotent upsert (`TitleMetadata`), durable as `interaction` is. Answers
 *   true when it changed something, false otherwise.
 * - `summary`: read-only.
 */
export class TitleActor implements Actor<TitleSnapshot> {
  private s: InteractionCounters = emptyCounters();
  private applied = new IdentitySet();
  private metadata = new TitleMetadata();

  private shard = -1;

  constructor(
    private readonly address: ActorAddress,
    private readonly params?: NodeParams,
  ) {}

  onActivate(ctx: ActorContext, snap: TitleSnapshot | undefined): void {
    this.shard = ctx.shard;
    if (snap) {
      const { applied, rows, metadata, ...counters } = snap;
      this.s = counters;
      this.applied = applied ? IdentitySet.from(applied) : new IdentitySet();
      this.metadata = new TitleMetadata(metadata);
      if (rows) this.params?.restoreRows(Kind.Title, ctx.shard, this.address.key, rows);
    }
    this.params?.attachTitle(ctx.shard, this.address.key);
  }

  snapshot(): TitleSnapshot {
    const rows = this.params?.rowsOf(Kind.Title, this.shard, this.address.key) ?? [];
    const metadata = this.metadata.stored();
    return { ...this.s, applied: this.applied.toFloat64Array(), ...(rows.length > 0 ? { rows } : {}), ...(metadata && { metadata }) };
  }

  onPassivate(): TitleSnapshot {
    this.params?.detachTitle(this.shard, this.address.key);
    return this.snapshot();
  }

  pinned(): boolean {
    return this.params?.pinned === true;
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
      case TitleMsg.Metadata:
        return this.metadata.upsert(decodeTitleMetadata(msg.body, this.address));
      case TitleMsg.Summary:
        decodeNoBody(msg.body, this.address, msg.type);
        return this.summary();
      default:
        throw unknownMessageType(this.address, msg.type);
    }
  }

  private summary(): TitleSummary {
    return { titleId: this.address.key, ...this.metadata.view(), interactionCount: this.s.count, meanRating: meanRating(this.s), updateTimeMs: this.s.updateTimeMs };
  }
}
