import { InvalidArgument, type ActorAddress } from '../../runtime/index.js';
import { Kind } from '../kinds.js';
import type { LoggedType } from '../messages.js';
import type { CatalogEntry, TitleFilterSpec } from './catalog.js';
import { SNAPSHOT_TTL_MS, type NodeServing } from './node-serving.js';
import { DISLIKE_PENALTY, rankByGenres, rankForUser, rankPopular, rankSimilar, type RankOptions, type Ranked, type ReasonKind } from './rank.js';
import type { TitleMatrix } from './title-matrix.js';

/** Titles in a ranking snapshot, at most (`page_size` is clamped to it). */
export const MAX_RANKED = 1000;
/** Titles ranked for a snapshot at least, so that later pages come from the same ranking. */
const SNAPSHOT_TITLES = 200;
/** Snapshots a user actor keeps at once (a user paging through a few rows). */
const SNAPSHOTS_KEPT = 4;
/** Recent titles a reason looks at for "because you watched". */
const EVIDENCE_TITLES = 20;
/** Cosine similarity from which a watched title is named as the reason. */
const EVIDENCE_SIMILARITY = 0.3;

/**
 * `recommend`'s body: `reel.v1.RecommendRequest` as the gateway's proto loader gives it
 * (camelCase), with its page token already decoded into `page`.
 */
export interface RecommendBody {
  /** 1–`MAX_RANKED`: the gateway has applied the default and the clamp. */
  pageSize: number;
  /** The snapshot and offset of a later page. */
  page?: { recommendationId: string; offset: number };
  filter?: TitleFilterSpec;
  /** 0–1. */
  diversity?: number;
  disableBackfill?: boolean;
  includeTitleDetails?: boolean;
  /** Rank with this version instead of the active one. */
  modelVersion?: string;
  /**
   * A first page may be answered from the user's last ranking of the same request (`cacheKey`:
   * the request's fingerprint) if it is at most this old, ms, and nothing of the user changed
   * since. Absent or 0: always ranked afresh.
   */
  cacheMs?: number;
  cacheKey?: string;
}

/** One title of an answer, shaped after `reel.v1.RecommendedTitle` (its details as the catalog has them). */
export interface RecommendedItem {
  titleId: string;
  score: number;
  reason: { kind: ReasonKind; text: string; evidenceTitleIds: string[] };
  details?: CatalogEntry;
}

/** `recommend`'s answer, shaped after `reel.v1.RecommendResponse`. */
export interface RecommendAnswer {
  /**
   * `expired`: the page's snapshot is gone (PAGE_TOKEN_EXPIRED); `unknown-version`: the pinned
   * version does not exist; `unknown-title`: SimilarTitles of a title nobody upserted or watched.
   */
  status: 'ok' | 'expired' | 'unknown-version' | 'unknown-title';
  titles: RecommendedItem[];
  recommendationId: string;
  modelVersion: string;
  fallback: boolean;
  fallbackReason: 'FALLBACK_REASON_UNSPECIFIED' | 'FALLBACK_REASON_NO_ACTIVE_MODEL';
  /** Titles in the snapshot: a next page exists while offset + page size < total. */
  total: number;
  /** Titles of this page added by backfill. */
  backfilled: number;
  /** Answered from the user's last ranking of the same request (`cacheMs`). */
  cached?: boolean;
}

/** What a user actor shows of itself to a ranking. */
export interface UserView {
  key: string;
  shard: number;
  /** Titles the user interacted with (excluded unless the filter includes watched ones). */
  watched(): ReadonlySet<string>;
  /** The newest recent titles first. */
  recent(): string[];
  /** Titles with a thumbs-down: their close neighbours rank lower. */
  disliked(): ReadonlySet<string>;
  /** Brings the user's row of `m`'s version up to date with interactions recorded since it was trained (fold-in). */
  refresh(m: TitleMatrix): void;
  /** What a ranking of the user depends on, as a string that changes when it does (history, dislikes, fold-ins). */
  state(): string;
  preferredGenres(): readonly string[];
}

/**
 * A ranking kept for its later pages: a few arrays, not an object per title. A node keeps up
 * to `SNAPSHOTS_KEPT` per user for 30 minutes, so a title object each (200 a ranking) made the
 * old generation every collection marks grow by hundreds of thousands of objects.
 */
class Snapshot {
  readonly ids: string[];
  readonly scores: Float32Array;
  /** Each title's `REASONS` index; a backfilled title's has `BACKFILLED` set. */
  private readonly codes: Uint8Array;

  constructor(
    ranked: readonly Ranked[],
    /** How many of the last titles of `ranked` the backfill added. */
    filled: number,
    readonly modelVersion: string,
    readonly fallbackReason: RecommendAnswer['fallbackReason'],
    readonly atMs: number,
  ) {
    const n = ranked.length;
    this.ids = new Array<string>(n);
    this.scores = new Float32Array(n);
    this.codes = new Uint8Array(n);
    for (let j = 0; j < n; j++) {
      const r = ranked[j]!;
      this.ids[j] = r.titleId;
      this.scores[j] = r.score;
      this.codes[j] = REASONS.indexOf(r.reason) | (j >= n - filled ? BACKFILLED : 0);
    }
  }

  get size(): number {
    return this.ids.length;
  }

  reason(j: number): ReasonKind {
    return REASONS[this.codes[j]! & ~BACKFILLED]!;
  }

  backfilled(j: number): boolean {
    return (this.codes[j]! & BACKFILLED) !== 0;
  }
}

const REASONS: readonly ReasonKind[] = ['BECAUSE_YOU_WATCHED', 'SIMILAR_TO_TITLE', 'POPULAR_NOW', 'TRENDING', 'PERSONALIZED'];
const BACKFILLED = 0x80;

/** A user's ranking snapshots by recommendation id (in memory only: a moved or passivated user answers PAGE_TOKEN_EXPIRED). */
export class RankingSnapshots {
  private readonly byId = new Map<string, Snapshot>();
  /** The last first-page ranking: its request's key, the user's state it was made from, its snapshot. */
  last: { key: string; state: string; id: string } | undefined;

  get(id: string, now: number): Snapshot | undefined {
    const s = this.byId.get(id);
    if (s !== undefined && now - s.atMs > SNAPSHOT_TTL_MS) {
      this.byId.delete(id);
      return undefined;
    }
    return s;
  }

  put(id: string, s: Snapshot): void {
    this.byId.set(id, s);
    while (this.byId.size > SNAPSHOTS_KEPT) this.byId.delete(this.byId.keys().next().value!);
  }
}

/** Checks `similar`'s body: `recommend`'s checks and a title id. */
export function decodeSimilarBody(body: unknown, address: ActorAddress): SimilarBody {
  const b = decodeRecommendBody(body, address) as unknown as SimilarBody;
  if (typeof b.titleId !== 'string' || b.titleId === '') throw new InvalidArgument(`similar for ${address.kind}/${address.key}: titleId must be a non-empty string`, { fields: ['titleId'] });
  return b;
}

/** Checks `recommend`'s body (the gateway checked the request; a node checks what reaches it). */
export function decodeRecommendBody(body: unknown, address: ActorAddress): RecommendBody {
  const b = body as Partial<RecommendBody> | null | undefined;
  const bad = (field: string, what: string) => new InvalidArgument(`recommend for ${address.kind}/${address.key}: ${field} ${what}`, { fields: [field] });
  if (b === null || typeof b !== 'object') throw bad('body', 'must be an object');
  if (!Number.isInteger(b.pageSize) || b.pageSize! < 1 || b.pageSize! > MAX_RANKED) throw bad('pageSize', `must be a whole number from 1 to ${MAX_RANKED}`);
  if (b.diversity !== undefined && b.diversity !== null && !(b.diversity >= 0 && b.diversity <= 1)) throw bad('diversity', 'must be from 0 to 1');
  if (b.page !== undefined && (typeof b.page?.recommendationId !== 'string' || !Number.isSafeInteger(b.page.offset) || b.page.offset < 0)) throw bad('page', 'must name a recommendation id and an offset');
  if (b.modelVersion !== undefined && typeof b.modelVersion !== 'string') throw bad('modelVersion', 'must be a string');
  return b as RecommendBody;
}

let idCounter = 0;
/** A recommendation id: unique per node and time, short. */
function newRecommendationId(node: string, now: number): string {
  return `${now.toString(36)}-${(idCounter++ & 0xffffff).toString(36)}-${node}`;
}

/**
 * A user's recommendations: a later page from its snapshot, or a new ranking from the node's
 * title rows of the version (the active one unless pinned) and the user's own row, watched
 * titles removed, filters applied with backfill, re-ranked for variety when asked. A user
 * without a row of that version (new since training) gets the popular titles of the genres
 * it chose or watched, then the others; with no version active, the same, marked as a fallback.
 */
export async function recommend(serving: NodeServing, user: UserView, b: RecommendBody, snaps: RankingSnapshots): Promise<RecommendAnswer> {
  const now = serving.now();
  if (b.page !== undefined) {
    const s = snaps.get(b.page.recommendationId, now);
    if (s === undefined) return { status: 'expired', titles: [], recommendationId: b.page.recommendationId, modelVersion: '', fallback: false, fallbackReason: 'FALLBACK_REASON_UNSPECIFIED', total: 0, backfilled: 0 };
    return answer(serving, user, s, b.page.recommendationId, b.page.offset, b);
  }
  const version = b.modelVersion || serving.active;
  // The user's last ranking of the same request, if nothing that ranks it changed since.
  // Only a request that allows the cache pays for describing the user's state.
  const state = b.cacheKey === undefined ? '' : `${version ?? ''}|${user.state()}`;
  if (b.cacheMs && b.cacheKey !== undefined && snaps.last?.key === b.cacheKey && snaps.last.state === state) {
    const s = snaps.get(snaps.last.id, now);
    if (s !== undefined && now - s.atMs <= b.cacheMs) return { ...answer(serving, user, s, snaps.last.id, 0, b), cached: true };
  }
  const matrix = version === undefined ? undefined : (serving.matrix(version) ?? (await serving.loadMatrix(version)));
  if (b.modelVersion && matrix === undefined) return { status: 'unknown-version', titles: [], recommendationId: '', modelVersion: b.modelVersion, fallback: false, fallbackReason: 'FALLBACK_REASON_UNSPECIFIED', total: 0, backfilled: 0 };
  const filter = serving.catalog.compile(b.filter);
  const watched = filter.includeWatched ? new Set<string>() : user.watched();
  const o: RankOptions = { filter, excluded: (t) => watched.has(t), excludedIds: watched, limit: Math.min(MAX_RANKED, Math.max(b.pageSize, SNAPSHOT_TITLES)), diversity: b.diversity ?? 0, backfill: b.disableBackfill !== true };
  if (matrix !== undefined) user.refresh(matrix);
  // A user without history (new, or deleted) has no row worth ranking from.
  const row = matrix === undefined || user.watched().size === 0 ? undefined : serving.params.existingVersion(matrix.version)?.existing(Kind.User, user.shard)?.copyOf(user.key);
  let ranked: Ranked[];
  let filled = 0;
  if (matrix !== undefined && row !== undefined) {
    if (serving.scratch.length < matrix.size) serving.scratch = new Float32Array(matrix.size);
    const r = rankForUser(matrix, row, serving.catalog, o, serving.scratch, dislikedRowsOf(matrix, user.disliked()));
    ranked = r.ranked;
    filled = r.backfilled;
  } else {
    // Content-based cold start: the genres the user chose, and those of what it watched.
    const genres = new Set(user.preferredGenres());
    for (const t of user.recent().slice(0, EVIDENCE_TITLES)) for (const g of serving.catalog.get(t)?.genres ?? []) genres.add(g);
    ranked = rankPopular(serving.catalog, o, [...genres]);
  }
  const s = new Snapshot(ranked, filled, matrix?.version ?? '', version === undefined ? 'FALLBACK_REASON_NO_ACTIVE_MODEL' : 'FALLBACK_REASON_UNSPECIFIED', now);
  const id = newRecommendationId(serving.nodeId, now);
  snaps.put(id, s);
  if (b.cacheKey !== undefined) snaps.last = { key: b.cacheKey, state, id };
  return answer(serving, user, s, id, 0, b);
}

/** What `vector` answers: the user's row of the active version (null without one) and its watched titles. */
export interface UserVector {
  modelVersion: string;
  /** Factors, then the user's bias. */
  row: Float32Array | null;
  watched: string[];
}

/** The user's row of the active version, folded in if interactions came since it was trained, and what it watched. */
export function userVector(serving: NodeServing, user: UserView): UserVector {
  const version = serving.active;
  const matrix = version === undefined ? undefined : serving.matrix(version);
  if (matrix !== undefined) user.refresh(matrix);
  const row = matrix === undefined ? undefined : serving.params.existingVersion(matrix.version)?.existing(Kind.User, user.shard)?.copyOf(user.key);
  return { modelVersion: matrix?.version ?? '', row: row ?? null, watched: [...user.watched()] };
}

/** `similar`'s body: `reel.v1.SimilarTitlesRequest` as the gateway gives it, the page token decoded. */
export interface SimilarBody extends Omit<RecommendBody, 'modelVersion' | 'cacheMs' | 'cacheKey'> {
  titleId: string;
}

/**
 * Titles like `b.titleId` by the cosine similarity of their rows in the active version, with
 * the same filters, diversity, backfill and paging as `recommend`; the user's watched titles
 * removed when a user asks (`user`). A known title without a row (new since training, or no
 * model yet) gets the titles of the most similar genres, not an error; `known` says whether
 * the title exists at all (its actor's own word, for one the catalog has not pulled yet).
 */
export function similarTitles(serving: NodeServing, b: SimilarBody, known: boolean, user: UserView | undefined, snaps: RankingSnapshots): RecommendAnswer {
  const now = serving.now();
  const empty = (status: RecommendAnswer['status'], recommendationId = ''): RecommendAnswer => ({ status, titles: [], recommendationId, modelVersion: '', fallback: false, fallbackReason: 'FALLBACK_REASON_UNSPECIFIED', total: 0, backfilled: 0 });
  if (b.page !== undefined) {
    const s = snaps.get(b.page.recommendationId, now);
    return s === undefined ? empty('expired', b.page.recommendationId) : answer(serving, user, s, b.page.recommendationId, b.page.offset, b);
  }
  const version = serving.active;
  const matrix = version === undefined ? undefined : serving.matrix(version);
  const row = matrix?.rowOf(b.titleId);
  const entry = serving.catalog.get(b.titleId);
  if (row === undefined && entry === undefined && !known) return empty('unknown-title');
  const filter = serving.catalog.compile(b.filter);
  const watched = user === undefined || filter.includeWatched ? new Set<string>() : user.watched();
  const o: RankOptions = { filter, excluded: (t) => watched.has(t), limit: Math.min(MAX_RANKED, Math.max(b.pageSize, SNAPSHOT_TITLES)), diversity: b.diversity ?? 0, backfill: b.disableBackfill !== true };
  let ranked: Ranked[];
  let filled = 0;
  if (matrix !== undefined && row !== undefined) {
    const r = rankSimilar(matrix, row, serving.catalog, o);
    ranked = r.ranked;
    filled = r.backfilled;
  } else ranked = rankByGenres(entry?.genres ?? [], b.titleId, serving.catalog, o);
  const s = new Snapshot(ranked, filled, row === undefined ? '' : matrix!.version, 'FALLBACK_REASON_UNSPECIFIED', now);
  const id = newRecommendationId(serving.nodeId, now);
  snaps.put(id, s);
  return answer(serving, user, s, id, 0, b);
}

/** The rows of the titles a user disliked (those with a row in `m`). */
function dislikedRowsOf(m: TitleMatrix, disliked: ReadonlySet<string>): number[] {
  const out: number[] = [];
  for (const t of disliked) {
    const r = m.rowOf(t);
    if (r !== undefined) out.push(r);
  }
  return out;
}

/** A page of a snapshot, with its reasons (and details when asked). */
function answer(serving: NodeServing, user: UserView | undefined, s: Snapshot, recommendationId: string, offset: number, b: Pick<RecommendBody, 'pageSize' | 'includeTitleDetails'> & { titleId?: string }): RecommendAnswer {
  const matrix = s.modelVersion === '' ? undefined : serving.matrix(s.modelVersion);
  const recent = matrix === undefined || user === undefined ? [] : user.recent().slice(0, EVIDENCE_TITLES).map((t) => [t, matrix.rowOf(t)] as const).filter(([, r]) => r !== undefined) as Array<readonly [string, number]>;
  let backfilled = 0;
  const titles: RecommendedItem[] = [];
  for (let j = offset; j < Math.min(s.size, offset + b.pageSize); j++) {
    if (s.backfilled(j)) backfilled++;
    const titleId = s.ids[j]!;
    const item: RecommendedItem = { titleId, score: s.scores[j]!, reason: reasonOf(serving, matrix, titleId, s.reason(j), recent, b.titleId) };
    if (b.includeTitleDetails) {
      const d = serving.catalog.get(titleId);
      if (d !== undefined) item.details = d;
    }
    titles.push(item);
  }
  return {
    status: 'ok',
    titles,
    recommendationId,
    modelVersion: s.modelVersion,
    fallback: s.fallbackReason !== 'FALLBACK_REASON_UNSPECIFIED',
    fallbackReason: s.fallbackReason,
    total: s.size,
    backfilled,
  };
}

/** "Because you watched X" when a recent title is close enough to this one; else what ranked it. */
function reasonOf(serving: NodeServing, matrix: TitleMatrix | undefined, titleId: string, kind: ReasonKind, recent: ReadonlyArray<readonly [string, number]>, like: string | undefined): RecommendedItem['reason'] {
  if (kind === 'PERSONALIZED' && matrix !== undefined) {
    const at = matrix.rowOf(titleId);
    let best: string | undefined;
    let bestSim = EVIDENCE_SIMILARITY;
    if (at !== undefined) {
      for (const [t, row] of recent) {
        const sim = matrix.cosine(at, row);
        if (sim > bestSim) (bestSim = sim), (best = t);
      }
    }
    if (best !== undefined) {
      const name = serving.catalog.get(best)?.displayName || best;
      return { kind: 'BECAUSE_YOU_WATCHED', text: `Because you watched ${name}`, evidenceTitleIds: [best] };
    }
    return { kind: 'PERSONALIZED', text: 'Picked for you', evidenceTitleIds: [] };
  }
  if (kind === 'POPULAR_NOW') return { kind: 'POPULAR_NOW', text: 'Popular now', evidenceTitleIds: [] };
  if (kind === 'SIMILAR_TO_TITLE' && like !== undefined) return { kind: 'SIMILAR_TO_TITLE', text: `Like ${serving.catalog.get(like)?.displayName || like}`, evidenceTitleIds: [like] };
  return { kind, text: '', evidenceTitleIds: [] };
}

/** `explain`'s body: `reel.v1.ExplainRecommendationRequest` as the gateway gives it. */
export interface ExplainBody {
  titleId: string;
  filter?: TitleFilterSpec;
}

/** `explain`'s answer, shaped after `reel.v1.ExplainRecommendationResponse` (enum names without prefixes). */
export interface ExplainAnswer {
  status: 'ok' | 'unknown-title';
  /** The ranking score: the sum of `components`. */
  score: number;
  /** The title's place in the user's ranking (1 = first), −1 when excluded. */
  rank: number;
  excludedBy: 'UNSPECIFIED' | 'WATCHED' | 'FILTERED' | 'HIDDEN' | 'NEGATIVE_FEEDBACK';
  components: Array<{ name: string; value: number }>;
  /** The user's recent titles closest to it. */
  /** Each with the type of the user's newest interaction with it. */
  evidence: Array<{ titleId: string; similarity: number; interactionType: LoggedType }>;
  reason: RecommendedItem['reason'];
  modelVersion: string;
}

/** Recent titles named as evidence, at most. */
const EVIDENCE_SHOWN = 3;

/**
 * Why `b.titleId` has (or has not) its place among the user's recommendations: the terms of its
 * score in the served version (the title's bias, the dot product, the thumbs-down penalty), its
 * place in the user's ranking without diversity, or what excludes it (checked in that order:
 * hidden, disliked, watched, the filter), and the user's recent titles closest to it. Without a
 * row for the user or the title, the score is the title's popularity.
 */
export function explain(serving: NodeServing, user: UserView, b: ExplainBody, lastTypeOf: (titleId: string) => LoggedType | undefined): ExplainAnswer {
  const version = serving.active;
  const matrix = version === undefined ? undefined : serving.matrix(version);
  const entry = serving.catalog.get(b.titleId);
  const at = matrix?.rowOf(b.titleId);
  const out: ExplainAnswer = { status: 'ok', score: 0, rank: -1, excludedBy: 'UNSPECIFIED', components: [], evidence: [], reason: { kind: 'POPULAR_NOW', text: 'Popular now', evidenceTitleIds: [] }, modelVersion: matrix?.version ?? '' };
  if (entry === undefined && at === undefined) return { ...out, status: 'unknown-title' };
  const filter = serving.catalog.compile(b.filter);
  const watched = user.watched();
  if (entry?.hidden) out.excludedBy = 'HIDDEN';
  else if (user.disliked().has(b.titleId)) out.excludedBy = 'NEGATIVE_FEEDBACK';
  else if (!filter.includeWatched && watched.has(b.titleId)) out.excludedBy = 'WATCHED';
  else if (!filter.passes(b.titleId)) out.excludedBy = 'FILTERED';
  if (matrix !== undefined) user.refresh(matrix);
  const row = matrix === undefined ? undefined : serving.params.existingVersion(matrix.version)?.existing(Kind.User, user.shard)?.copyOf(user.key);
  const excludedIds = filter.includeWatched ? new Set<string>() : watched;
  const o: RankOptions = { filter, excluded: (t) => excludedIds.has(t), excludedIds, limit: MAX_RANKED, diversity: 0, backfill: false };
  if (matrix !== undefined && row !== undefined && at !== undefined) {
    const f = matrix.factors;
    const q = matrix.rows.subarray(at * (f + 1), (at + 1) * (f + 1));
    let dot = 0;
    for (let x = 0; x < f; x++) dot += row[x]! * q[x]!;
    let penalty = 0;
    for (const d of dislikedRowsOf(matrix, user.disliked())) penalty -= DISLIKE_PENALTY * Math.max(0, matrix.cosine(d, at));
    out.components = [{ name: 'title_bias', value: q[f]! }, { name: 'dot_product', value: dot }, ...(penalty !== 0 ? [{ name: 'negative_feedback', value: penalty }] : [])];
    out.score = q[f]! + dot + penalty;
    if (out.excludedBy === 'UNSPECIFIED') {
      const ranked = rankForUser(matrix, row, serving.catalog, { ...o, limit: matrix.size }, undefined, dislikedRowsOf(matrix, user.disliked())).ranked;
      out.rank = ranked.findIndex((r) => r.titleId === b.titleId) + 1 || -1;
    }
    const recent = user.recent().slice(0, EVIDENCE_TITLES).map((t) => [t, matrix.rowOf(t)] as const).filter(([, r]) => r !== undefined) as Array<readonly [string, number]>;
    out.evidence = recent
      .map(([t, r]) => ({ titleId: t, similarity: matrix.cosine(at, r), interactionType: lastTypeOf(t) ?? 'UNSPECIFIED' }))
      .sort((x, y) => y.similarity - x.similarity)
      .slice(0, EVIDENCE_SHOWN);
    out.reason = reasonOf(serving, matrix, b.titleId, 'PERSONALIZED', recent, undefined);
  } else {
    out.score = entry?.interactionCount ?? 0;
    out.components = [{ name: 'popularity_prior', value: out.score }];
    if (out.excludedBy === 'UNSPECIFIED') {
      const ranked = rankPopular(serving.catalog, { ...o, limit: serving.catalog.size }, user.preferredGenres());
      out.rank = ranked.findIndex((r) => r.titleId === b.titleId) + 1 || -1;
    }
  }
  if (out.excludedBy !== 'UNSPECIFIED') out.rank = -1;
  return out;
}

/** Checks `explain`'s body. */
export function decodeExplainBody(body: unknown, address: ActorAddress): ExplainBody {
  const b = body as Partial<ExplainBody> | null | undefined;
  if (b === null || typeof b !== 'object' || typeof b.titleId !== 'string' || b.titleId === '') throw new InvalidArgument(`explain for ${address.kind}/${address.key}: titleId must be a non-empty string`, { fields: ['titleId'] });
  return b as ExplainBody;
}
