import { TopK } from '../../models/index.js';
import type { Catalog, CatalogEntry, CompiledFilter } from './catalog.js';
import type { TitleMatrix } from './title-matrix.js';

/** `reel.v1.ReasonKind` without its prefix. */
export type ReasonKind = 'BECAUSE_YOU_WATCHED' | 'SIMILAR_TO_TITLE' | 'POPULAR_NOW' | 'TRENDING' | 'PERSONALIZED';

/** One title of a ranking. */
export interface Ranked {
  titleId: string;
  score: number;
  reason: ReasonKind;
}

/** What a ranking is asked for. */
export interface RankOptions {
  filter: CompiledFilter;
  /** Titles never to return (watched, disliked): tested after the filter. */
  excluded: (titleId: string) => boolean;
  /** The same titles as a collection, when at hand: a ranking then looks up these few instead of testing every title. */
  excludedIds?: Iterable<string>;
  /** Titles in the ranking, at most. */
  limit: number;
  /** 0–1: how much MMR re-ranking trades relevance for variety (0: none). */
  diversity: number;
  /** Fill up with popular titles passing the filter when too few personalised ones do. */
  backfill: boolean;
}

/**
 * How far a thumbs-down pushes a title's neighbours down: each title's score loses this times
 * its cosine with the disliked title (positive cosines only), the score being bias + p·q.
 */
export const DISLIKE_PENALTY = 1.5;

/** How many of a ranking's first places MMR re-ranks (from a pool three times as large): its cost is places × pool. */
export const MMR_PLACES = 100;

/**
 * A personalised ranking: every title of `m` scored against `user` (bias + dot product, as
 * `reel eval` ranks; the neighbours of `disliked` title rows pushed down), those the filter or
 * `excluded` remove left out, the best `limit` kept,
 * re-ranked for variety when asked, then backfilled from the popular titles. Returns the
 * ranking and how many titles the backfill added.
 */
export function rankForUser(m: TitleMatrix, user: Float32Array, catalog: Catalog, o: RankOptions, scratch?: Float32Array, disliked: readonly number[] = []): { ranked: Ranked[]; backfilled: number } {
  const scores = scratch !== undefined && scratch.length >= m.size ? scratch : new Float32Array(m.size);
  m.scoreAll(user, scores);
  for (const d of disliked) for (let r = 0; r < m.size; r++) scores[r] -= DISLIKE_PENALTY * Math.max(0, m.cosine(d, r));
  removeFiltered(m, scores, catalog, o);
  return best(m, scores, catalog, o, 'PERSONALIZED');
}

/**
 * Titles like title row `of`, by cosine similarity of their factors; the same filters,
 * exclusions, diversity and backfill as `rankForUser`.
 */
export function rankSimilar(m: TitleMatrix, of: number, catalog: Catalog, o: RankOptions): { ranked: Ranked[]; backfilled: number } {
  const scores = new Float32Array(m.size);
  for (let r = 0; r < m.size; r++) {
    const id = m.keys[r]!;
    scores[r] = r === of || !o.filter.passes(id) || o.excluded(id) ? -Infinity : m.cosine(of, r);
  }
  return best(m, scores, catalog, o, 'SIMILAR_TO_TITLE');
}

/**
 * The best `o.limit` of `scores` (−∞: left out), re-ranked for variety when asked, as titles
 * with `reason`, then backfilled; with how many titles the backfill added.
 */
function best(m: TitleMatrix, scores: Float32Array, catalog: Catalog, o: RankOptions, reason: ReasonKind): { ranked: Ranked[]; backfilled: number } {
  const rows = topRows(scores, m.size, o.diversity > 0 ? Math.max(o.limit, Math.min(m.size, 3 * MMR_PLACES)) : o.limit);
  const ordered = o.diversity > 0 ? mmr(rows, scores, m, catalog, o.diversity, o.limit) : rows.slice(0, o.limit);
  const ranked: Ranked[] = ordered.map((r) => ({ titleId: m.keys[r]!, score: scores[r]!, reason }));
  const before = ranked.length;
  if (o.backfill) backfill(ranked, catalog, o);
  return { ranked, backfilled: ranked.length - before };
}

/**
 * Titles like a title without an embedding (a new title, or no model yet): by the Jaccard
 * similarity of their genres, popularity breaking ties.
 */
export function rankByGenres(genres: readonly string[], self: string, catalog: Catalog, o: RankOptions): Ranked[] {
  const mine = new Set(genres);
  const out: Ranked[] = [];
  for (const e of catalog.byPopularity()) {
    if (e.titleId === self || !o.filter.passes(e.titleId) || o.excluded(e.titleId)) continue;
    const shared = e.genres.filter((g) => mine.has(g)).length;
    const union = mine.size + e.genres.length - shared;
    out.push({ titleId: e.titleId, score: union === 0 ? 0 : shared / union, reason: 'SIMILAR_TO_TITLE' });
  }
  // Stable: equal similarities keep the popularity order.
  out.sort((a, b) => b.score - a.score);
  return out.slice(0, o.limit);
}

/**
 * A ranking without a user vector (a new user, or no model): popular titles passing the filter,
 * those of the `preferred` genres (chosen at onboarding, or of the user's history) first.
 * Scores are the interaction counts.
 */
export function rankPopular(catalog: Catalog, o: RankOptions, preferred: readonly string[] = [], entries: readonly CatalogEntry[] = catalog.byPopularity()): Ranked[] {
  const want = new Set(preferred);
  const first: Ranked[] = [];
  const rest: Ranked[] = [];
  for (const e of entries) {
    if (first.length >= o.limit) break;
    if (!o.filter.passes(e.titleId) || o.excluded(e.titleId)) continue;
    const r: Ranked = { titleId: e.titleId, score: e.interactionCount, reason: 'POPULAR_NOW' };
    if (want.size > 0 && e.genres.some((g) => want.has(g))) first.push(r);
    else if (rest.length < o.limit) rest.push(r);
  }
  return [...first, ...rest].slice(0, o.limit);
}

/**
 * Sets the scores of the titles the filter or the exclusions remove to −∞. A filter that
 * removes only hidden titles, with the exclusions at hand as ids, costs a look-up per hidden
 * or excluded title; otherwise every title is tested.
 */
function removeFiltered(m: TitleMatrix, scores: Float32Array, catalog: Catalog, o: RankOptions): void {
  if (!o.filter.restricts && o.excludedIds !== undefined) {
    for (const ids of [catalog.hidden, o.excludedIds]) {
      for (const id of ids) {
        const r = m.rowOf(id);
        if (r !== undefined) scores[r] = -Infinity;
      }
    }
    return;
  }
  for (let r = 0; r < m.size; r++) {
    const id = m.keys[r]!;
    if (!o.filter.passes(id) || o.excluded(id)) scores[r] = -Infinity;
  }
}

/** Selectors by k, made once: a ranking is synchronous, so one of each size serves every request. */
const selectors = new Map<number, TopK>();

/** The rows of the `k` best finite scores, best first. */
function topRows(scores: Float32Array, n: number, k: number): number[] {
  k = Math.max(1, k);
  let top = selectors.get(k);
  if (top === undefined) {
    if (selectors.size >= 16) selectors.clear();
    selectors.set(k, (top = new TopK(k)));
  }
  const got = top.select(scores, n);
  const out: number[] = [];
  for (let j = 0; j < got; j++) if (top.scores[j]! > -Infinity) out.push(top.items[j]!);
  return out;
}

/**
 * Maximal marginal relevance (Carbonell and Goldstein, 1998) over the first `MMR_PLACES`
 * places: each place takes the candidate maximising (1 − λ)·relevance − λ·(its largest
 * similarity to those placed), λ = `diversity`; relevance is the score scaled to 0–1 over the
 * pool, similarity the mean of the factors' cosine (clamped at 0) and the genres' Jaccard
 * index. The places after those keep relevance order.
 */
function mmr(pool: number[], scores: Float32Array, m: TitleMatrix, catalog: Catalog, lambda: number, limit: number): number[] {
  if (pool.length === 0) return pool;
  const hi = scores[pool[0]!]!;
  const lo = scores[pool[pool.length - 1]!]!;
  const span = hi - lo || 1;
  const genres = pool.map((r) => new Set(catalog.get(m.keys[r]!)?.genres ?? []));
  const maxSim = new Float32Array(pool.length);
  const taken = new Uint8Array(pool.length);
  const out: number[] = [];
  const places = Math.min(MMR_PLACES, limit, pool.length);
  for (let place = 0; place < places; place++) {
    let best = -1;
    let bestValue = -Infinity;
    for (let j = 0; j < pool.length; j++) {
      if (taken[j] === 1) continue;
      const v = (1 - lambda) * ((scores[pool[j]!]! - lo) / span) - lambda * maxSim[j]!;
      if (v > bestValue) (bestValue = v), (best = j);
    }
    taken[best] = 1;
    out.push(pool[best]!);
    for (let j = 0; j < pool.length; j++) {
      if (taken[j] === 1) continue;
      const s = 0.5 * Math.max(0, m.cosine(pool[best]!, pool[j]!)) + 0.5 * jaccard(genres[best]!, genres[j]!);
      if (s > maxSim[j]!) maxSim[j] = s;
    }
  }
  for (let j = 0; j < pool.length && out.length < limit; j++) if (taken[j] === 0) out.push(pool[j]!);
  return out;
}

function jaccard(a: ReadonlySet<string>, b: ReadonlySet<string>): number {
  if (a.size === 0 && b.size === 0) return 0;
  let shared = 0;
  for (const g of a) if (b.has(g)) shared++;
  return shared / (a.size + b.size - shared);
}

/** Appends popular titles passing the filter (not excluded, not already there) up to the limit, reason POPULAR_NOW. */
function backfill(ranked: Ranked[], catalog: Catalog, o: RankOptions): void {
  if (ranked.length >= o.limit) return;
  const have = new Set(ranked.map((r) => r.titleId));
  for (const e of catalog.byPopularity()) {
    if (ranked.length >= o.limit) return;
    if (have.has(e.titleId) || !o.filter.passes(e.titleId) || o.excluded(e.titleId)) continue;
    ranked.push({ titleId: e.titleId, score: 0, reason: 'POPULAR_NOW' });
  }
}
