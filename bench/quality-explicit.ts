/**
 * The explicit half of the quality benchmark: RMSE and MAE of rating prediction on the five
 * ml-100k folds u1..u5, per model, with one configuration chosen on validation and used for
 * every fold.
 *
 * Protocol. A seeded 10% validation part of `u1.base` (seed `SEED`) is held out; on the rest:
 *   - mf: `tuneMf` over `MF_GRID` (early stopping picks the epochs);
 *   - svdpp: `tuneSvdpp` over `SVDPP_GRID`;
 *   - blend: a linear blend (ridge least squares, `models/blend.ts`) of mf, svdpp averaged
 *     over `ENSEMBLE_SEEDS` seeds, item- and user-based kNN-baseline, a day-specific user
 *     bias (`models/day-bias.ts`, from the files' timestamps) and each user's and title's
 *     support (1/√(1 + ratings)) crossed with svdpp and kNN; its weights are fit on the
 *     validation part with every model trained on the rest, and its validation RMSE is
 *     two-fold cross-fitted there.
 * `best` is the model with the lowest validation RMSE. Then, per fold, every model trains on
 * all of `uN.base` with that configuration and predicts `uN.test`; the test files are read
 * for scoring only.
 */
import { join } from 'node:path';
import { readRatings } from '../data/movielens.js';
import {
  DEFAULT_VALIDATION_FRACTION, MF_KERNELS, RatingsTableBuilder, SVDPP_KERNELS, fingerprint, mae, predictKnnTable, predictSvdppTable, predictTable,
  rmse, selectRows, trainKnnBaseline, trainMf, trainSvdpp, transposeTable, tuneMf, tuneSvdpp,
  type Grid, type MfHyperparameters, type RatingsTable, type SvdppHyperparameters, type TableIndices, type TuneResult,
} from '../models/index.js';
import { applyLinearBlend, crossFitRmse, fitLinearBlend, type LinearBlend } from '../models/blend.js';
import { dayBiasFeature } from '../models/day-bias.js';
import { splitRows } from '../models/ratings.js';

/** Seeds the validation split, every training run and the first ensemble member. */
export const SEED = 1;
export const MF_GRID: Grid<MfHyperparameters> = { regFactor: [0.06, 0.08, 0.1] };
export const SVDPP_GRID: Grid<SvdppHyperparameters> = { regFactor: [0.07, 0.1, 0.13], regY: [0.005, 0.02] };
export const MAX_EPOCHS = 50;
/** SVD++ runs averaged inside the blend (seeds SEED, SEED+1, …): SGD's seed-to-seed spread is ~0.003 RMSE. */
export const ENSEMBLE_SEEDS = 4;
/** User-based kNN-baseline: its baselines' regularisation swapped with the item-based one's. */
const USER_KNN = { regItem: 15, regUser: 10 };
const FOLDS = [1, 2, 3, 4, 5];

export interface ModelQuality {
  rmse_u1: number;
  rmse_u1_u5_mean: number;
  rmse_u1_u5_std: number;
  mae_u1: number;
  mae_u1_u5_mean: number;
  /** u1..u5. */
  rmse_folds: number[];
  mae_folds: number[];
  /** On the validation part of u1.base (the blend's: cross-fitted). */
  validation_rmse: number;
  config: Record<string, unknown>;
  seed: number;
  /** `fingerprint` of u1.base..u5.base, the files each fold trained on. */
  train_fingerprints: string[];
}

export interface ExplicitQualityResult {
  models: Record<'mf' | 'svdpp' | 'blend', ModelQuality>;
  /** Chosen by validation RMSE, never by a test figure. */
  best: 'mf' | 'svdpp' | 'blend';
  rmse_u1: number;
  rmse_u1_u5_mean: number;
  rmse_u1_u5_std: number;
  validation: { file: string; fraction: number; seed: number; fingerprint: string };
  seconds: number;
}

/** A ratings file as a table and each rating's day (whole days since the epoch). */
interface Dated {
  table: RatingsTable;
  days: Uint32Array;
}

async function readDated(file: string, indices?: TableIndices): Promise<Dated> {
  const b = new RatingsTableBuilder(indices);
  const days: number[] = [];
  for await (const r of readRatings(file)) {
    b.add(r.user, r.item, r.rating);
    days.push(Math.floor(r.time / 86400));
  }
  return { table: b.build(), days: Uint32Array.from(days) };
}

function pick(d: Dated, rows: Uint32Array): Dated {
  return { table: selectRows(d.table, rows), days: Uint32Array.from(rows, (r) => d.days[r]!) };
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
/** Sample standard deviation (n − 1). */
const std = (xs: number[]) => Math.sqrt(xs.reduce((a, x) => a + (x - mean(xs)) ** 2, 0) / (xs.length - 1));

/** The configuration of every model, chosen on validation. */
interface Configs {
  mf: TuneResult<MfHyperparameters>;
  svdpp: TuneResult<SvdppHyperparameters>;
}

/** Each model's predictions of `test` after training on `train`: the blend's features too. */
function predictAll(c: Configs, train: Dated, test: Dated): { mf: Float32Array; svdpp: Float32Array; features: Float32Array[] } {
  const mf = predictTable(trainMf(train.table, c.mf.hyperparameters, { epochs: c.mf.epochs, seed: SEED, kernel: MF_KERNELS.wasm }), test.table);
  const svdppRuns = Array.from({ length: ENSEMBLE_SEEDS }, (_, s) =>
    predictSvdppTable(trainSvdpp(train.table, c.svdpp.hyperparameters, { epochs: c.svdpp.epochs, seed: SEED + s, kernel: SVDPP_KERNELS.wasm }), test.table),
  );
  const svdppMean = Float32Array.from(svdppRuns[0]!, (_, t) => mean(svdppRuns.map((p) => p[t]!)));
  const itemKnn = trainKnnBaseline(train.table);
  const ik = predictKnnTable(itemKnn, test.table);
  const uk = predictKnnTable(trainKnnBaseline(transposeTable(train.table), USER_KNN), transposeTable(test.table));
  const day = dayBiasFeature(train.table, train.days, itemKnn, test.table, test.days);
  const support = (indices: Uint32Array, n: number, of: Uint32Array) => {
    const c = new Uint32Array(n);
    for (const x of indices) c[x]++;
    return Float32Array.from(of, (x) => 1 / Math.sqrt(1 + (x < n ? c[x]! : 0)));
  };
  const su = support(train.table.users, train.table.userCount, test.table.users);
  const si = support(train.table.items, train.table.itemCount, test.table.items);
  const times = (a: Float32Array, b: Float32Array) => a.map((v, t) => v * b[t]!);
  const features = [mf, svdppMean, ik, uk, day, su, si, times(svdppMean, su), times(ik, su), times(svdppMean, si), times(ik, si)];
  return { mf, svdpp: svdppRuns[0]!, features };
}

export async function explicitQuality(opts: { dataDir: string; log?: (line: string) => void }): Promise<ExplicitQualityResult> {
  const log = opts.log ?? (() => undefined);
  const t0 = performance.now();
  const u1 = await readDated(join(opts.dataDir, 'u1.base'));
  const rows = splitRows(u1.table.n, DEFAULT_VALIDATION_FRACTION, SEED);
  const kept = pick(u1, rows.kept);
  const held = pick(u1, rows.held);
  const range = { min: 1, max: 5 };

  log(`validation: ${held.table.n} of ${u1.table.n} ratings of u1.base (seed ${SEED}); tuning mf over ${JSON.stringify(MF_GRID)}`);
  const configs: Configs = {
    mf: tuneMf(kept.table, { base: {}, grid: MF_GRID, maxEpochs: MAX_EPOCHS, seed: SEED, kernel: MF_KERNELS.wasm }),
    svdpp: tuneSvdpp(kept.table, { base: {}, grid: SVDPP_GRID, maxEpochs: MAX_EPOCHS, seed: SEED, kernel: SVDPP_KERNELS.wasm }),
  };
  // tune* split their input again; the models are compared on `held`, which none of them saw.
  const v = predictAll(configs, kept, held);
  const validation = {
    mf: rmse(v.mf, held.table.ratings),
    svdpp: rmse(v.svdpp, held.table.ratings),
    blend: crossFitRmse(v.features, held.table.ratings, range),
  };
  const blend: LinearBlend = fitLinearBlend(v.features, held.table.ratings, range);
  log(`chose mf ${JSON.stringify(configs.mf.hyperparameters)} × ${configs.mf.epochs} epochs; svdpp ${JSON.stringify(configs.svdpp.hyperparameters)} × ${configs.svdpp.epochs} epochs`);
  log(`validation RMSE: mf ${validation.mf.toFixed(4)}, svdpp ${validation.svdpp.toFixed(4)}, blend ${validation.blend.toFixed(4)} (cross-fitted)`);

  const perFold = { mf: { rmse: [] as number[], mae: [] as number[] }, svdpp: { rmse: [] as number[], mae: [] as number[] }, blend: { rmse: [] as number[], mae: [] as number[] } };
  const fingerprints: string[] = [];
  for (const f of FOLDS) {
    const train = f === 1 ? u1 : await readDated(join(opts.dataDir, `u${f}.base`));
    const test = await readDated(join(opts.dataDir, `u${f}.test`), train.table);
    fingerprints.push(fingerprint(train.table));
    const p = predictAll(configs, train, test);
    const preds = { mf: p.mf, svdpp: p.svdpp, blend: applyLinearBlend(blend, p.features) };
    for (const name of ['mf', 'svdpp', 'blend'] as const) {
      perFold[name].rmse.push(rmse(preds[name], test.table.ratings));
      perFold[name].mae.push(mae(preds[name], test.table.ratings));
    }
    log(`u${f}: RMSE mf ${perFold.mf.rmse.at(-1)!.toFixed(4)}, svdpp ${perFold.svdpp.rmse.at(-1)!.toFixed(4)}, blend ${perFold.blend.rmse.at(-1)!.toFixed(4)}`);
  }

  const quality = (name: 'mf' | 'svdpp' | 'blend', config: Record<string, unknown>): ModelQuality => ({
    rmse_u1: perFold[name].rmse[0]!,
    rmse_u1_u5_mean: mean(perFold[name].rmse),
    rmse_u1_u5_std: std(perFold[name].rmse),
    mae_u1: perFold[name].mae[0]!,
    mae_u1_u5_mean: mean(perFold[name].mae),
    rmse_folds: perFold[name].rmse,
    mae_folds: perFold[name].mae,
    validation_rmse: validation[name],
    config,
    seed: SEED,
    train_fingerprints: fingerprints,
  });
  const models = {
    mf: quality('mf', { ...configs.mf.hyperparameters, epochs: configs.mf.epochs }),
    svdpp: quality('svdpp', { ...configs.svdpp.hyperparameters, epochs: configs.svdpp.epochs }),
    blend: quality('blend', {
      features: ['mf', `svdpp (mean of ${ENSEMBLE_SEEDS} seeds)`, 'item kNN-baseline', 'user kNN-baseline', 'day user bias', 'user support', 'title support', 'svdpp × user support', 'item kNN × user support', 'svdpp × title support', 'item kNN × title support'],
      weights: Array.from(blend.weights),
      ensemble_seeds: ENSEMBLE_SEEDS,
    }),
  };
  const best = (['mf', 'svdpp', 'blend'] as const).reduce((a, b) => (validation[b] < validation[a] ? b : a));
  return {
    models,
    best,
    rmse_u1: models[best].rmse_u1,
    rmse_u1_u5_mean: models[best].rmse_u1_u5_mean,
    rmse_u1_u5_std: models[best].rmse_u1_u5_std,
    validation: { file: 'u1.base', fraction: DEFAULT_VALIDATION_FRACTION, seed: SEED, fingerprint: fingerprints[0]! },
    seconds: (performance.now() - t0) / 1000,
  };
}
