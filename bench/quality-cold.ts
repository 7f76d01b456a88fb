/**
 * The cold-start protocol of `bench:quality` on ml-100k: a seeded 10 % of the titles (the same
 * seed every run, recorded) held out entirely, every interaction with them going to test;
 * models learn from the rest; for every user with a held-out title in test, all held-out titles
 * are ranked against each other, and Recall@20 and NDCG@20 measured (`models/cold-start.ts`).
 *
 * The baselines a content-aware model must beat:
 *   - random order;
 *   - genre affinity: the mean over a title's genres of the user's share of training
 *     interactions with that genre;
 *   - genre affinity × year prior: the same times the share of all training interactions in
 *     the title's 5-year release bucket (ratings on MovieLens cluster on the 1990s).
 * And the content-aware model (`quality-cold-content.ts`), tuned on a validation cold split
 * of the training part (seed `COLD_VALIDATION_SEED`): `cold_recall_at_20`, `cold_ndcg_at_20`.
 */
import { join } from 'node:path';
import { readUItem } from '../data/movielens-100k.js';
import { readRatings } from '../data/movielens.js';
import { coldStartSplit, evaluateColdStart, genreColdScorer, genreYearColdScorer, randomColdScorer, type ColdInteraction, type ColdTitle } from '../models/cold-start.js';
import { contentColdQuality, type ContentColdResult } from './quality-cold-content.js';

/** The held-out set's seed: fixed, so every run holds out the same titles. */
export const COLD_SEED = 2026;
/** The validation split's seed (titles held out of the training part, to tune on). */
export const COLD_VALIDATION_SEED = 2027;
const K = 20;

export interface ColdQualityResult {
  cold_seed: number;
  cold_fraction: number;
  cold_held_out_titles: number;
  cold_users: number;
  cold_recall_at_20_random: number;
  cold_ndcg_at_20_random: number;
  cold_recall_at_20_genre_baseline: number;
  cold_ndcg_at_20_genre_baseline: number;
  cold_recall_at_20_genre_year_baseline: number;
  cold_ndcg_at_20_genre_year_baseline: number;
  /** The content-aware model. */
  cold_recall_at_20: number;
  cold_ndcg_at_20: number;
  cold_validation_seed: number;
  cold_content_validation: { epochs: number; alpha: number; popularityWeight: number; recall_at_20: number; ndcg_at_20: number };
  cold_content_config: ContentColdResult['config'];
  cold_content_seconds: number;
}

export async function coldQuality(opts: { dataDir: string; log?: (msg: string) => void }): Promise<ColdQualityResult> {
  const titles: ColdTitle[] = [];
  for await (const t of readUItem(join(opts.dataDir, 'u.item'))) titles.push({ id: t.id, genres: t.genres, ...(t.year !== undefined ? { year: t.year } : {}) });
  const interactions: ColdInteraction[] = [];
  for await (const r of readRatings(join(opts.dataDir, 'u.data'))) interactions.push({ user: r.user, item: r.item });
  const split = coldStartSplit(titles, interactions, { seed: COLD_SEED, fraction: 0.1 });
  opts.log?.(`cold start: ${split.heldOut.length} of ${titles.length} titles held out (seed ${COLD_SEED}), ${split.users.length} users with one in test`);
  const random = evaluateColdStart(split, randomColdScorer(COLD_SEED), K);
  const genre = evaluateColdStart(split, genreColdScorer(split, titles), K);
  const genreYear = evaluateColdStart(split, genreYearColdScorer(split, titles), K);
  const content = await contentColdQuality(split, titles, { validationSeed: COLD_VALIDATION_SEED, k: K, ...(opts.log ? { log: opts.log } : {}) });
  const v = content.validation;
  return {
    cold_seed: COLD_SEED,
    cold_fraction: split.fraction,
    cold_held_out_titles: split.heldOut.length,
    cold_users: split.users.length,
    cold_recall_at_20_random: random.recall,
    cold_ndcg_at_20_random: random.ndcg,
    cold_recall_at_20_genre_baseline: genre.recall,
    cold_ndcg_at_20_genre_baseline: genre.ndcg,
    cold_recall_at_20_genre_year_baseline: genreYear.recall,
    cold_ndcg_at_20_genre_year_baseline: genreYear.ndcg,
    cold_recall_at_20: content.recall,
    cold_ndcg_at_20: content.ndcg,
    cold_validation_seed: COLD_VALIDATION_SEED,
    cold_content_validation: { epochs: v.epochs, alpha: v.alpha, popularityWeight: v.popularityWeight, recall_at_20: v.recall, ndcg_at_20: v.ndcg },
    cold_content_config: content.config,
    cold_content_seconds: content.seconds,
  };
}
