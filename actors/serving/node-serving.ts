import { shardOf, type ActorSystem, type ShardDirectory } from '../../runtime/index.js';
import { Kind } from '../kinds.js';
import { TitleMsg } from '../messages.js';
import { countWithin } from '../daily-counts.js';
import { readCheckpoint } from '../training/checkpoints.js';
import type { NodeParams } from '../training/node-params.js';
import type { BlobStore, ModelRegistry } from '../training/stores.js';
import { Catalog, TitleBook, type CatalogEntry, type CatalogPull, type TitleFilterSpec } from './catalog.js';
import { DEFAULT_INTERACTION_WEIGHTS, type InteractionWeights } from './interaction-weights.js';
import { TitleMatrix } from './title-matrix.js';
import { coldRow, knownFeatureIds, metadataFeatureNames, TopK, WasmRowScorer } from '../../models/index.js';
import { coldBias, readContentModel, type ServedContentModel } from '../training/content-phase.js';

/**
 * Node handlers of serving: a node's catalog changes, a page of its catalog in id order, and
 * (`serving.score`, `ScoreBody` → `ScoredTitles`) the best titles of the shards the node
 * serves for a user's row: the scatter half of a scatter-gather ranking, which `bench:serve`
 * measures against ranking on the user's node from its own index of every title.
 */
export const ServingMsg = { Catalog: 'serving.catalog', Titles: 'serving.titles', Score: 'serving.score' } as const;

/** `serving.score`'s body: a user's row of `version`, how many titles, and the ids to leave out (watched). */
export interface ScoreBody {
  version: string;
  row: Float32Array;
  k: number;
  exclude: string[];
}

/** `serving.score`'s answer: the node's best titles for the row, best first, with their scores. */
export interface ScoredTitles {
  titleIds: string[];
  scores: number[];
}

/** `reel.v1.PopularityWindow` without its prefix; UNSPECIFIED means ALL_TIME. */
export type PopularityWindow = 'DAY' | 'WEEK' | 'MONTH' | 'ALL_TIME';
const WINDOW_DAYS: Record<Exclude<PopularityWindow, 'ALL_TIME'>, number> = { DAY: 1, WEEK: 7, MONTH: 30 };

/** Popular titles of a window (`popularList`). */
export interface PopularList {
  window: PopularityWindow;
  /** Titles with an interaction in the window, most first; each entry's `interactionCount` is its count in the window. */
  entries: CatalogEntry[];
  /** When the catalog behind the list last changed, ms since the Unix epoch. */
  computedAtMs: number;
}

/**
 * The titles of a window by their interactions in it, most first, at most `limit`. A window
 * ends with the newest day any title has an interaction on (the cluster's "now" for data
 * replayed from the past, and today's date for live traffic). ALL_TIME is the catalog's own
 * popularity order, its entries as they are; a shorter window's are copies whose
 * `interactionCount` is the count in the window.
 */
export function popularList(catalog: Catalog, window: PopularityWindow, limit: number): PopularList {
  const all = catalog.byPopularity();
  const computedAtMs = catalog.changedAtMs;
  if (window === 'ALL_TIME' || !(window in WINDOW_DAYS)) return { window: 'ALL_TIME', entries: all.slice(0, limit), computedAtMs };
  let last = -1;
  for (const e of all) if (e.daily.length >= 2) last = Math.max(last, e.daily[e.daily.length - 2]!);
  const days = WINDOW_DAYS[window as keyof typeof WINDOW_DAYS];
  const counted = all.map((e) => [e, countWithin(e.daily, last, days)] as const).filter(([, n]) => n > 0);
  counted.sort((a, b) => b[1] - a[1] || (a[0].titleId < b[0].titleId ? -1 : 1));
  return { window, entries: counted.slice(0, limit).map(([e, n]) => ({ ...e, interactionCount: n, daily: [] })), computedAtMs };
}

/** How often a node pulls the other nodes' catalog changes, by default. */
export const CATALOG_REFRESH_MS = 500;
/** Versions whose title rows a node keeps in memory at once (the active one, and pinned ones for A/B tests). */
const MATRICES_KEPT = 3;
/** Ranking snapshots (pages) live this long in the user actor (API.md: about 30 minutes). */
export const SNAPSHOT_TTL_MS = 30 * 60_000;

export interface ServingDeps {
  params: NodeParams;
  registry: ModelRegistry;
  blobs: BlobStore;
  /** Who owns each shard: the nodes whose books make the catalog. */
  directory: ShardDirectory;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
  /** Wall-clock ms (tests give their own): snapshot ages. */
  now?: () => number;
  /** Each interaction type's weight when a user's row is folded in (`reel node --interaction-weights`). @default DEFAULT_INTERACTION_WEIGHTS */
  interactionWeights?: InteractionWeights;
}

/**
 * A node's part in serving: its book of the titles it hosts, the catalog of every title
 * (pulled from the other nodes' books), and the title rows of the versions it serves. The
 * user actors rank from these in memory: a recommendation is one message to the user's node.
 */
export class NodeServing {
  readonly book = new TitleBook();
  readonly catalog = new Catalog();
  readonly params: NodeParams;
  /** Each interaction type's weight in a fold-in. */
  readonly weights: InteractionWeights;
  private readonly matrices = new Map<string, TitleMatrix>();
  /** Content-aware versions' models, which give a title upserted after training its row. */
  private readonly content = new Map<string, { model: ServedContentModel; catalogAt: number }>();
  private readonly loading = new Map<string, Promise<TitleMatrix | undefined>>();
  private readonly warmed = new Set<number>();
  private warming: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private refreshing = false;
  /** This node's part of a version's title rows, for `serving.score`. */
  private local: { key: string; rows: Int32Array; scorer: WasmRowScorer; scores: Float32Array } | undefined;
  /** Scores of every title for one ranking, reused (one event loop: one ranking at a time). */
  scratch = new Float32Array(0);

  constructor(
    private readonly system: ActorSystem,
    private readonly deps: ServingDeps,
  ) {
    this.params = deps.params;
    this.weights = deps.interactionWeights ?? DEFAULT_INTERACTION_WEIGHTS;
    system
      .registerNodeHandler(ServingMsg.Catalog, (_shards, body) => {
        const b = body as { incarnation?: unknown; since?: unknown } | undefined;
        return this.changes(String(b?.incarnation ?? ''), Number(b?.since ?? 0));
      })
      .registerNodeHandler(ServingMsg.Score, (_shards, body) => this.scoreLocal(body as ScoreBody))
      .registerNodeHandler(ServingMsg.Titles, (_shards, body) => {
        const b = body as { after?: unknown; limit?: unknown; filter?: TitleFilterSpec } | undefined;
        return this.catalog.list(String(b?.after ?? ''), Math.min(1000, Math.max(1, Number(b?.limit ?? 20))), this.catalog.compile(b?.filter));
      });
  }

  get nodeId(): string {
    return this.system.nodeId;
  }

  now(): number {
    return this.deps.now?.() ?? Date.now();
  }

  /** The version serving reads; undefined before any is active. */
  get active(): string | undefined {
    return this.params.active;
  }

  /** The title rows of `version`, when this node holds them. */
  matrix(version: string): TitleMatrix | undefined {
    return this.matrices.get(version);
  }

  /**
   * Reads the title rows of `version` from its checkpoint (once, however many ask at once);
   * undefined when there is no such version or it has no checkpoint. Keeps `MATRICES_KEPT`
   * versions, the active one among them.
   */
  async loadMatrix(version: string): Promise<TitleMatrix | undefined> {
    const have = this.matrices.get(version);
    if (have !== undefined) return have;
    let p = this.loading.get(version);
    if (p === undefined) {
      p = (async () => {
        const m = await this.deps.registry.get(version);
        if (m?.checkpoint === undefined) return undefined;
        const cp = await readCheckpoint(this.deps.blobs, m.checkpoint.prefix);
        if (cp === undefined) return undefined;
        let matrix = TitleMatrix.fromCheckpoint(version, cp);
        if (m.model === 'content-gnn') {
          const model = await readContentModel(this.deps.blobs, version);
          if (model === undefined) this.deps.log?.('content-aware version without its model: titles upserted after training get no row', { version });
          else {
            this.content.set(version, { model, catalogAt: -1 });
            matrix = this.withColdRows(version, matrix) ?? matrix;
          }
        }
        this.matrices.set(version, matrix);
        for (const k of this.matrices.keys()) {
          if (this.matrices.size <= MATRICES_KEPT) break;
          if (k !== this.params.active && k !== version) {
            this.matrices.delete(k);
            this.content.delete(k);
          }
        }
        this.deps.log?.('title rows loaded for serving', { version, titles: matrix.size });
        return matrix;
      })().finally(() => this.loading.delete(version));
      this.loading.set(version, p);
    }
    return p;
  }

  /** Pulls the catalog now and then every `ms` until `stop`. */
  start(ms = CATALOG_REFRESH_MS): void {
    void this.refresh();
    this.timer = setInterval(() => void this.refresh(), ms);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * One round: this node's own titles of shards it just claimed are activated (so that its book
   * holds every title it owns), and every owner's changes since the last round are merged into
   * the catalog. A node that does not answer is asked again next round.
   */
  async refresh(): Promise<void> {
    if (this.refreshing) return;
    this.refreshing = true;
    try {
      const served = new Set(this.system.servedShards());
      for (const s of this.warmed) if (!served.has(s)) this.warmed.delete(s);
      this.book.dropShards((s) => served.has(s));
      const cold = [...served].filter((s) => !this.warmed.has(s));
      if (cold.length > 0 && this.warming === undefined) {
        this.warming = this.warm(cold).finally(() => (this.warming = undefined));
      }
      const owners = new Set<string>();
      for (let s = 0; s < this.system.options.shardCount; s++) {
        const o = this.deps.directory.ownerOf(s);
        if (o !== undefined) owners.add(o);
      }
      owners.add(this.system.nodeId);
      await this.catalog.pullFrom(owners, async (node, since) => (node === this.system.nodeId ? this.changes(since.incarnation, since.since) : (await this.system.askNode<CatalogPull>(node, ServingMsg.Catalog, since, { deadlineMs: 2_000 })).value), this.now());
      for (const [version, matrix] of this.matrices) {
        const extended = this.withColdRows(version, matrix);
        if (extended !== undefined) this.matrices.set(version, extended);
      }
    } finally {
      this.refreshing = false;
    }
  }

  /**
   * A content-aware version's matrix with a row for every title of the catalog it lacks (one
   * upserted after training), from the title's genres and year by the version's encoder and
   * feature nodes (`coldRow`): the title ranks like any other from the next refresh on, not
   * only as backfill. Undefined when nothing changed. A title whose row would not be finite
   * gets none (logged), never a NaN row.
   */
  private withColdRows(version: string, matrix: TitleMatrix): TitleMatrix | undefined {
    const c = this.content.get(version);
    if (c === undefined || c.catalogAt === this.catalog.changedAtMs) return undefined;
    c.catalogAt = this.catalog.changedAtMs;
    const k = matrix.factors;
    const keys: string[] = [];
    const rows: number[] = [];
    const row = new Float32Array(k + 1);
    for (const e of this.catalog.byPopularity()) {
      if (matrix.rowOf(e.titleId) !== undefined) continue;
      const names = metadataFeatureNames({ genres: e.genres, ...(e.releaseYear > 0 ? { releaseYear: e.releaseYear } : {}) });
      try {
        coldRow(c.model, knownFeatureIds(c.model, names), c.model.alpha, e.titleId, row);
      } catch (err) {
        this.deps.log?.('no row for a title upserted after training', { version, title: e.titleId, error: (err as Error).message });
        continue;
      }
      row[k] = coldBias(c.model, row[k]!);
      keys.push(e.titleId);
      for (const x of row) rows.push(x);
    }
    if (keys.length === 0) return undefined;
    this.deps.log?.('titles upserted after training given rows from their features', { version, titles: keys.length });
    return matrix.withRows(keys, Float32Array.from(rows));
  }

  /** This node's book changes for a puller. */
  changes(incarnation: string, since: number): CatalogPull {
    const served = new Set(this.system.servedShards());
    return this.book.changes(incarnation, since, (s) => served.has(s));
  }

  /**
   * The best `k` titles of the shards this node serves for `b.row` (bias + dot product, the
   * WebAssembly kernel over this node's part of the version's rows, gathered once per version
   * and set of shards), leaving out `b.exclude` and hidden titles.
   */
  async scoreLocal(b: ScoreBody): Promise<ScoredTitles> {
    const m = this.matrix(b.version) ?? (await this.loadMatrix(b.version));
    if (m === undefined) return { titleIds: [], scores: [] };
    const served = this.system.servedShards();
    const key = `${b.version}|${m.size}|${served.join(',')}`;
    if (this.local?.key !== key) {
      const S = this.system.options.shardCount;
      const mine = new Set(served);
      const rows: number[] = [];
      for (let r = 0; r < m.size; r++) if (mine.has(shardOf(Kind.Title, m.keys[r]!, S))) rows.push(r);
      const w = m.factors + 1;
      const sub = new Float32Array(rows.length * w);
      rows.forEach((r, j) => sub.set(m.rows.subarray(r * w, (r + 1) * w), j * w));
      this.local = { key, rows: Int32Array.from(rows), scorer: new WasmRowScorer(sub, rows.length, m.factors), scores: new Float32Array(rows.length) };
    }
    const l = this.local;
    l.scorer.score(b.row, l.scores);
    for (const ids of [this.catalog.hidden, b.exclude]) {
      for (const id of ids) {
        const r = m.rowOf(id);
        if (r === undefined) continue;
        const j = binarySearch(l.rows, r);
        if (j >= 0) l.scores[j] = -Infinity;
      }
    }
    const top = new TopK(Math.max(1, b.k));
    const n = top.select(l.scores, l.rows.length);
    const out: ScoredTitles = { titleIds: [], scores: [] };
    for (let j = 0; j < n; j++) {
      if (top.scores[j]! === -Infinity) break;
      out.titleIds.push(m.keys[l.rows[top.items[j]!]!]!);
      out.scores.push(top.scores[j]!);
    }
    return out;
  }

  /** Activates the stored titles of `shards` not active here, so that the book has them. */
  private async warm(shards: number[]): Promise<void> {
    const sys = this.system;
    const want = new Set(shards);
    const S = sys.options.shardCount;
    try {
      const keys = (await sys.store.keys(Kind.Title)).filter((k) => want.has(shardOf(Kind.Title, k, S)) && !sys.isActive(Kind.Title, k));
      for (let i = 0; i < keys.length; i += 256) {
        await Promise.all(keys.slice(i, i + 256).map((k) => sys.ask(Kind.Title, k, TitleMsg.Summary, undefined, { deadlineMs: 10_000 })));
      }
      for (const s of shards) this.warmed.add(s);
    } catch (err) {
      this.deps.log?.('could not activate the titles of new shards for serving; trying again', { error: (err as Error).message });
    }
  }
}

/** The index of `x` in the ascending `a`, or −1. */
function binarySearch(a: Int32Array, x: number): number {
  let lo = 0;
  let hi = a.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid]! === x) return mid;
    if (a[mid]! < x) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}
