/**
 * What serving knows of every title, on every node: the title actors' metadata and popularity,
 * gathered from the nodes that own them. Title actors write their entry into their node's
 * `TitleBook` as they change; each node pulls the other nodes' changes (`CatalogPull`) into its
 * `Catalog`, so that ranking reads filters and popularity from memory, with no message per title.
 */

/** A title as serving reads it: the fields filters, reasons and details need. */
export interface CatalogEntry {
  titleId: string;
  displayName: string;
  genres: string[];
  /** 0 when unknown. */
  releaseYear: number;
  hidden: boolean;
  /** ms since the Unix epoch; 0 when unknown. */
  publishTimeMs: number;
  labels: Record<string, string>;
  interactionCount: number;
  /** Interactions per day over the title's last days of events: `[day, count, …]` (`DailyCounts`). */
  daily: number[];
  updateTimeMs: number;
  /** The shard owning the title (a book answers for the shards its node serves). */
  shard: number;
  /** A deleted title (DeleteTitle): every node forgets it, and ranks it nowhere. */
  deleted?: boolean;
}

/** A book's changes since a sequence number (all of it when `since` is of another incarnation). */
export interface CatalogPull {
  /** The book's incarnation: a node that restarted starts a new one, and a puller asks for everything again. */
  incarnation: string;
  seq: number;
  entries: CatalogEntry[];
}

/** A title actor's entry, made when a puller asks for it (a change costs a counter, not an object). */
export type EntryView = () => CatalogEntry;

/**
 * One node's entries of the title actors it hosts, each with the sequence number of its last
 * change: what the node answers when asked for changes. Node-local, no locks.
 */
export class TitleBook {
  readonly incarnation = Math.random().toString(36).slice(2, 10) + Date.now().toString(36);
  private readonly entries = new Map<string, { view: EntryView; shard: number; seq: number }>();
  private seq = 0;

  /** Title `titleId` of `shard` changed (or was activated): `view` gives its entry now. */
  touch(titleId: string, shard: number, view: EntryView): void {
    const e = this.entries.get(titleId);
    if (e === undefined) this.entries.set(titleId, { view, shard, seq: ++this.seq });
    else {
      e.view = view;
      e.shard = shard;
      e.seq = ++this.seq;
    }
  }

  /** The entries changed after `since` (of this incarnation; else all) on the shards `serves` keeps. */
  changes(incarnation: string, since: number, serves: (shard: number) => boolean): CatalogPull {
    const all = incarnation !== this.incarnation;
    const entries: CatalogEntry[] = [];
    for (const e of this.entries.values()) if ((all || e.seq > since) && serves(e.shard)) entries.push(e.view());
    return { incarnation: this.incarnation, seq: this.seq, entries };
  }

  /** Forgets the entries of shards this node no longer serves (their new owner answers for them). */
  dropShards(keep: (shard: number) => boolean): void {
    for (const [k, e] of this.entries) if (!keep(e.shard)) this.entries.delete(k);
  }

  get size(): number {
    return this.entries.size;
  }
}

/** Genre names to bits: a title's genres as one mask (the first 31 genres seen; later ones match by name). */
class GenreBits {
  private readonly bits = new Map<string, number>();

  maskOf(genres: readonly string[]): number {
    let m = 0;
    for (const g of genres) m |= this.bit(g);
    return m;
  }

  /** The bit of `genre`, or 0 when it has none (beyond 31 genres: then filters compare names). */
  bit(genre: string): number {
    let b = this.bits.get(genre);
    if (b === undefined) {
      b = this.bits.size < 31 ? 1 << this.bits.size : 0;
      this.bits.set(genre, b);
    }
    return b;
  }

  get complete(): boolean {
    return this.bits.size <= 31;
  }
}

/**
 * Every title the cluster has, merged from the nodes' books, indexed for ranking: an entry per
 * title and, rebuilt lazily after changes, titles by popularity. Node-local.
 */
export class Catalog {
  private readonly byId = new Map<string, CatalogEntry>();
  private readonly masks = new Map<string, number>();
  /** Hidden titles: what a filter that restricts nothing else has to test. */
  readonly hidden = new Set<string>();
  private readonly genres = new GenreBits();
  private popular: CatalogEntry[] | undefined;
  private sorted: string[] | undefined;
  /** What was pulled from each node: its book's incarnation and sequence number. */
  readonly pulled = new Map<string, { incarnation: string; seq: number }>();
  /** When the catalog last changed (ms), for PopularTitles' compute time. */
  changedAtMs = 0;
  /** How many merges changed it: what is derived from it is current while this is. */
  changes = 0;

  merge(entries: readonly CatalogEntry[], nowMs = Date.now()): void {
    if (entries.length === 0) return;
    for (const e of entries) {
      if (e.deleted) {
        // Gone from every list; hidden, so that a version's rows of it rank it nowhere.
        this.byId.delete(e.titleId);
        this.masks.delete(e.titleId);
        this.hidden.add(e.titleId);
        continue;
      }
      this.byId.set(e.titleId, e);
      this.masks.set(e.titleId, this.genres.maskOf(e.genres));
      if (e.hidden) this.hidden.add(e.titleId);
      else this.hidden.delete(e.titleId);
    }
    this.popular = undefined;
    this.sorted = undefined;
    this.changedAtMs = nowMs;
    this.changes++;
  }

  get(titleId: string): CatalogEntry | undefined {
    return this.byId.get(titleId);
  }

  /**
   * One round of keeping up with the cluster: each of `nodes` is asked (`pull`) for its book's
   * changes since the last round, which are merged in. A node that does not answer (moving,
   * starting, gone) is asked again next round. Resolves with how many answered.
   */
  async pullFrom(nodes: Iterable<string>, pull: (node: string, since: { incarnation: string; since: number }) => Promise<CatalogPull> | CatalogPull, nowMs = Date.now()): Promise<number> {
    let answered = 0;
    await Promise.all(
      [...nodes].map(async (node) => {
        const last = this.pulled.get(node);
        try {
          const got = await pull(node, { incarnation: last?.incarnation ?? '', since: last?.seq ?? 0 });
          this.merge(got.entries, nowMs);
          this.pulled.set(node, { incarnation: got.incarnation, seq: got.seq });
          answered++;
        } catch {
          // Next round.
        }
      }),
    );
    return answered;
  }

  get size(): number {
    return this.byId.size;
  }

  /** Every title, most interacted-with first (ties by id): the popularity list. */
  byPopularity(): readonly CatalogEntry[] {
    this.popular ??= [...this.byId.values()].sort((a, b) => b.interactionCount - a.interactionCount || (a.titleId < b.titleId ? -1 : a.titleId > b.titleId ? 1 : 0));
    return this.popular;
  }

  /** Up to `limit` titles after `after` in id order that pass `filter` (hidden ones too): a page of ListTitles. */
  list(after: string, limit: number, filter: CompiledFilter): CatalogEntry[] {
    this.sorted ??= [...this.byId.keys()].sort();
    const out: CatalogEntry[] = [];
    let lo = 0;
    let hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.sorted[mid]! <= after) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < this.sorted.length && out.length < limit; i++) {
      const id = this.sorted[i]!;
      if (filter.passes(id, true)) out.push(this.byId.get(id)!);
    }
    return out;
  }

  /** A filter compiled against this catalog's genre bits. */
  compile(f: TitleFilterSpec | undefined): CompiledFilter {
    return new CompiledFilter(f ?? {}, this);
  }

  /** @internal the genre mask of a title (0 when unknown). */
  maskOf(titleId: string): number {
    return this.masks.get(titleId) ?? 0;
  }

  /** @internal */
  bitOf(genre: string): number {
    return this.genres.bit(genre);
  }

  /** @internal whether every genre has a bit (else filters compare names). */
  get bitsComplete(): boolean {
    return this.genres.complete;
  }
}

/** `reel.v1.TitleFilter`, as the gateway's proto loader gives it (camelCase; absent optionals undefined). */
export interface TitleFilterSpec {
  includeGenres?: string[];
  excludeGenres?: string[];
  requireAllGenres?: boolean;
  includeReleaseYears?: number[];
  excludeReleaseYears?: number[];
  minReleaseYear?: number | null;
  maxReleaseYear?: number | null;
  excludeTitleIds?: string[];
  includeWatched?: boolean;
}

/** A title filter ready to test titles fast: genre sets as masks, years and ids as sets. Hidden titles never pass. */
export class CompiledFilter {
  private readonly include: number;
  private readonly exclude: number;
  private readonly byName: boolean;
  private readonly years: Set<number> | undefined;
  private readonly notYears: Set<number>;
  private readonly ids: Set<string>;
  /** Whether the filter removes anything besides hidden titles (else `passes` only tests that). */
  readonly restricts: boolean;

  constructor(
    private readonly f: TitleFilterSpec,
    private readonly catalog: Catalog,
  ) {
    this.byName = !catalog.bitsComplete;
    this.include = (f.includeGenres ?? []).reduce((m, g) => m | catalog.bitOf(g), 0);
    this.exclude = (f.excludeGenres ?? []).reduce((m, g) => m | catalog.bitOf(g), 0);
    this.years = f.includeReleaseYears && f.includeReleaseYears.length > 0 ? new Set(f.includeReleaseYears) : undefined;
    this.notYears = new Set(f.excludeReleaseYears ?? []);
    this.ids = new Set(f.excludeTitleIds ?? []);
    this.restricts = (f.includeGenres?.length ?? 0) + (f.excludeGenres?.length ?? 0) + (f.includeReleaseYears?.length ?? 0) + (f.excludeReleaseYears?.length ?? 0) + this.ids.size > 0 || f.minReleaseYear != null || f.maxReleaseYear != null;
  }

  /** Whether watched titles may be recommended. */
  get includeWatched(): boolean {
    return this.f.includeWatched === true;
  }

  /** Whether `titleId` passes (an unknown title passes only a filter on ids alone); a hidden one never, unless `includeHidden` (a listing). */
  passes(titleId: string, includeHidden = false): boolean {
    if (!this.restricts) return includeHidden || !this.catalog.hidden.has(titleId);
    if (this.ids.has(titleId)) return false;
    const e = this.catalog.get(titleId);
    if (e?.hidden && !includeHidden) return false;
    const f = this.f;
    const year = e?.releaseYear ?? 0;
    if (this.years !== undefined && !this.years.has(year)) return false;
    if (this.notYears.has(year)) return false;
    if (f.minReleaseYear != null && year < f.minReleaseYear) return false;
    if (f.maxReleaseYear != null && year > f.maxReleaseYear) return false;
    const inc = f.includeGenres ?? [];
    const exc = f.excludeGenres ?? [];
    if (inc.length === 0 && exc.length === 0) return true;
    if (this.byName) {
      const g = new Set(e?.genres ?? []);
      if (exc.some((x) => g.has(x))) return false;
      if (inc.length === 0) return true;
      return f.requireAllGenres ? inc.every((x) => g.has(x)) : inc.some((x) => g.has(x));
    }
    const m = this.catalog.maskOf(titleId);
    if ((m & this.exclude) !== 0) return false;
    if (inc.length === 0) return true;
    return f.requireAllGenres ? (m & this.include) === this.include : (m & this.include) !== 0;
  }
}
