/**
 * The content-aware model (`models/content-gnn.ts`) in the cold-start protocol: its settings
 * chosen on a validation cold split built from the training part only (a second seeded 10 %
 * of the titles not held out, their interactions set aside), then one run on the whole
 * training part scored on the held-out titles.
 *
 * Searched on validation in one training run, evaluated every `EVAL_EVERY_EPOCHS` epochs: the
 * epoch count, the encoder's share α of a cold title's row, and the weight of the predicted
 * popularity column in a score. Fixed beforehand, from a first look at the same validation
 * split (recall@20 at α 0.5, no popularity column, 60–80 epochs): year features at three
 * granularities, 1, 2 and 5 years (0.405, against 0.40 for 1 and 5, 0.38 for yearly buckets
 * alone, 0.37 for 5-year ones); 64 hidden units (128 with more passes did no better);
 * LightGCN as the top-K protocol chose it (3 layers did no better here); the squared error on
 * standardised rows (a row's norm carries popularity, which a cosine loss would discard: not
 * measured).
 */
import { coldStartSplit, evaluateColdStart, type ColdInteraction, type ColdStartSplit, type ColdTitle } from '../models/cold-start.js';
import { contentColdScorer, titleEmbeddings, trainContentGnn, type ContentGnnModel } from '../models/content-gnn.js';
import type { ContentGnnHyperparameters } from '../models/content-gnn-options.js';
import { RatingsTableBuilder, type RatingsTable } from '../models/ratings.js';
import { genreYearFeatures, mergeTitleFeatures, type TitleFeatures } from '../models/title-features.js';

export const CONTENT_YEAR_BUCKETS = [1, 2, 5];
export const CONTENT_HYPERPARAMETERS: ContentGnnHyperparameters = {
  graph: { factors: 64, layers: 2, lr: 0.005, initStd: 0.01, reg: 0.001, batchSize: 2048 },
  hidden: 64,
  encoderLr: 0.003,
  encoderBatchSize: 128,
  encoderPasses: 2,
  encodeEveryEpochs: 1,
  popularityLossWeight: 1,
};
const MAX_EPOCHS = 80;
const EVAL_EVERY_EPOCHS = 10;
const ALPHAS = [0.25, 0.5, 0.75, 1];
const POPULARITY_WEIGHTS = [-2, -1, -0.5, -0.25, 0, 0.5];
const TRAIN_SEED = 1;

/** A point of the search and its validation figures. */
interface Choice {
  epochs: number;
  alpha: number;
  popularityWeight: number;
  recall: number;
  ndcg: number;
}

export interface ContentColdResult {
  recall: number;
  ndcg: number;
  validation: Choice;
  validationSeed: number;
  config: ContentGnnHyperparameters & { yearBuckets: number[]; epochs: number; alpha: number; popularityWeight: number; seed: number };
  seconds: number;
}

/** Tunes on a validation split of `split`'s training part, trains on all of it, scores `split`'s held-out titles at `k`. */
export async function contentColdQuality(split: ColdStartSplit, titles: readonly ColdTitle[], opts: { validationSeed: number; k: number; log?: (msg: string) => void }): Promise<ContentColdResult> {
  const t0 = performance.now();
  const features = mergeTitleFeatures(...CONTENT_YEAR_BUCKETS.map((b) => genreYearFeatures(titles, b)));
  const held = new Set(split.heldOut.map((t) => t.id));
  const valid = coldStartSplit(
    titles.filter((t) => !held.has(t.id)),
    split.train,
    { seed: opts.validationSeed, fraction: split.fraction },
  );
  let best: Choice | undefined;
  await trainContentGnn(tableOf(valid.train), features, CONTENT_HYPERPARAMETERS, {
    epochs: MAX_EPOCHS,
    seed: TRAIN_SEED,
    onRound: ({ epoch, model }) => {
      if (epoch % EVAL_EVERY_EPOCHS !== 0) return;
      for (const alpha of ALPHAS) {
        for (const popularityWeight of POPULARITY_WEIGHTS) {
          const m = score(model, valid, features, alpha, popularityWeight, opts.k);
          if (best === undefined || m.recall > best.recall || (m.recall === best.recall && m.ndcg > best.ndcg)) best = { epochs: epoch, alpha, popularityWeight, ...m };
        }
      }
      opts.log?.(`cold start, content model: validation epoch ${epoch}, best so far recall@${opts.k} ${best!.recall.toFixed(4)} (epoch ${best!.epochs}, α ${best!.alpha}, popularity weight ${best!.popularityWeight})`);
    },
  });
  const chosen = best!;
  const model = await trainContentGnn(tableOf(split.train), features, CONTENT_HYPERPARAMETERS, { epochs: chosen.epochs, seed: TRAIN_SEED });
  const test = score(model, split, features, chosen.alpha, chosen.popularityWeight, opts.k);
  return {
    ...test,
    validation: chosen,
    validationSeed: opts.validationSeed,
    config: { ...CONTENT_HYPERPARAMETERS, yearBuckets: CONTENT_YEAR_BUCKETS, epochs: chosen.epochs, alpha: chosen.alpha, popularityWeight: chosen.popularityWeight, seed: TRAIN_SEED },
    seconds: (performance.now() - t0) / 1000,
  };
}

function score(model: ContentGnnModel, split: ColdStartSplit, features: TitleFeatures, alpha: number, popularityWeight: number, k: number): { recall: number; ndcg: number } {
  const rows = titleEmbeddings(model, split.heldOut.map((t) => t.id), features, { alpha });
  const { recall, ndcg } = evaluateColdStart(split, contentColdScorer(model, split.users, rows, { popularityWeight }), k);
  return { recall, ndcg };
}

/** Interactions as an implicit table (every one a positive, rated 1). */
function tableOf(interactions: readonly ColdInteraction[]): RatingsTable {
  const b = new RatingsTableBuilder();
  for (const it of interactions) b.add(it.user, it.item, 1);
  return b.build();
}
