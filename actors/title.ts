import { Unavailable, type Actor, type ActorAddress, type ActorContext, type Envelope } from '../runtime/index.js';
import { decodeInteraction, decodeNoBody, unknownMessageType } from './decode.js';
import { IdentitySet } from './identity-set.js';
import { countInteraction, emptyCounters, meanRating, type InteractionCounters } from './interaction-counters.js';
import { interactionHash } from './interaction-identity.js';
import { TitleMsg, type InteractionBody, type TitleSummary } from './messages.js';
import { Kind } from './kinds.js';
import type { NodeParams } from './training/node-params.js';
import { DailyCounts } from './daily-counts.js';
import type { CatalogEntry } from './serving/catalog.js';
import type { NodeServing } from './serving/node-serving.js';
import { decodeSimilarBody, RankingSnapshots, similarTitles } from './serving/recommend.js';
import { decodeTitleMetadata, TitleMetadata, type StoredTitleMetadata } from './title-metadata.js';

/** What a title snapshot holds: its counters, the identity hashes of every interaction applied, and its metadata. */
interface TitleSnapshot extends InteractionCounters {
  /** Absent in snapshots written before identities were kept: those start with none. */
  applied?: Float64Array;
  /** This title's parameter row in each model version: `[version, factors then bias]`. */
  rows?: Array<[string, Float32Array]>;
  /** Absent while no metadata was ever set. */
  metadata?: StoredTitleMetadata;
  /** Interactions per day of its last days of events (`DailyCounts.stored`); absent in older snapshots. */
  daily?: number[];
  /** Deleted (DeleteTitle) and nothing since. */
  deleted?: boolean;
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
  private daily = new DailyCounts();
  private deleted = false;

  private shard = -1;
  private readonly view = (): CatalogEntry => this.entry();

  constructor(
    private readonly address: ActorAddress,
    private readonly params?: NodeParams,
    /** The node's serving state: its book of titles, and what similar titles are ranked from (absent: a bare actor in a test). */
    private readonly serving?: NodeServing,
  ) {}

  private snaps: RankingSnapshots | undefined;

  onActivate(ctx: ActorContext, snap: TitleSnapshot | undefined): void {
    this.shard = ctx.shard;
    if (snap) {
      const { applied, rows, metadata, daily, deleted, ...counters } = snap;
      this.s = counters;
      this.deleted = deleted === true;
      this.daily = DailyCounts.from(daily);
      this.applied = applied ? IdentitySet.from(applied) : new IdentitySet();
      this.metadata = new TitleMetadata(metadata);
      if (rows) this.params?.restoreRows(Kind.Title, ctx.shard, this.address.key, rows);
    }
    this.params?.attachTitle(ctx.shard, this.address.key);
    // A title that exists (a snapshot) is in the catalog; one merely looked up is not.
    if (snap) this.serving?.book.touch(this.address.key, ctx.shard, this.view);
  }

  snapshot(): TitleSnapshot {
    const rows = this.params?.rowsOf(Kind.Title, this.shard, this.address.key) ?? [];
    const metadata = this.metadata.stored();
    const daily = this.daily.stored();
    return { ...this.s, applied: this.applied.toFloat64Array(), ...(rows.length > 0 ? { rows } : {}), ...(metadata && { metadata }), ...(daily.length > 0 ? { daily } : {}), ...(this.deleted ? { deleted: true } : {}) };
  }

  onPassivate(): TitleSnapshot {
    this.params?.detachTitle(this.shard, this.address.key);
    return this.snapshot();
  }

  pinned(): boolean {
    return this.params?.pinned === true;
  }

  receive(msg: Envelope, ctx?: ActorContext): unknown {
    switch (msg.type) {
      case TitleMsg.Interaction:
        // Decoded before anything changes: a rejected body leaves the state as it was.
        return this.interaction(decodeInteraction(msg.body, this.address, 'titleId'));
      case TitleMsg.Record: {
        // Durable before the answer: the stream's message is acknowledged on it.
        const applied = this.interaction(decodeInteraction(msg.body, this.address, 'titleId'));
        return ctx === undefined ? applied : ctx.persist(applied).then(() => applied);
      }
      case TitleMsg.Metadata: {
        const changed = this.metadata.upsert(decodeTitleMetadata(msg.body, this.address));
        if (changed) {
          this.deleted = false;
          this.serving?.book.touch(this.address.key, this.shard, this.view);
        }
        return changed;
      }
      case TitleMsg.Delete: {
        // Forgets what the title is and its counts (its identities stay: a replayed interaction
        // applies nothing twice), tells the catalog, and answers once durable whether it existed.
        decodeNoBody(msg.body, this.address, msg.type);
        const existed = this.known;
        this.s = emptyCounters();
        this.metadata = new TitleMetadata();
        this.daily = new DailyCounts();
        this.deleted = true;
        this.serving?.book.touch(this.address.key, this.shard, this.view);
        return ctx === undefined ? existed : ctx.persist(existed).then(() => existed);
      }
      case TitleMsg.Summary:
        decodeNoBody(msg.body, this.address, msg.type);
        return this.summary();
      case TitleMsg.Similar: {
        const b = decodeSimilarBody(msg.body, this.address);
        if (this.serving === undefined) throw new Unavailable(`node hosting ${this.address.kind}/${this.address.key} does not serve recommendations`, {});
        return similarTitles(this.serving, { ...b, titleId: this.address.key }, this.known, undefined, (this.snaps ??= new RankingSnapshots()));
      }
      default:
        throw unknownMessageType(this.address, msg.type);
    }
  }

  /** Whether an interaction or metadata ever reached the title (since a delete). */
  private get known(): boolean {
    return this.s.count > 0 || this.metadata.stored() !== undefined;
  }

  private interaction(b: InteractionBody): boolean {
    if (!this.applied.add(interactionHash(b))) return false;
    this.deleted = false;
    countInteraction(this.s, b);
    this.daily.add(b.eventTimeMs);
    this.serving?.book.touch(this.address.key, this.shard, this.view);
    return true;
  }

  private entry(): CatalogEntry {
    const m = this.metadata.view();
    return {
      titleId: this.address.key, displayName: m.displayName, genres: m.genres, releaseYear: m.releaseYear, hidden: m.hidden, publishTimeMs: m.publishTimeMs, labels: m.labels,
      interactionCount: this.s.count, daily: this.daily.stored(), updateTimeMs: this.s.updateTimeMs, shard: this.shard,
      ...(this.deleted ? { deleted: true } : {}),
    };
  }

  private summary(): TitleSummary {
    return { titleId: this.address.key, ...this.metadata.view(), interactionCount: this.s.count, meanRating: meanRating(this.s), updateTimeMs: this.s.updateTimeMs };
  }
}
