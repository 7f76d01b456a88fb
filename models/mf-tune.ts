import { ModelArgumentError } from './errors.js';
import { parseMfHyperparameters, type MfHyperparameters } from './mf-options.js';
import { predictTable, trainMf, type EpochReport, type Kernel, type MfModel, type SgdStep, type TrainOptions } from './mf.js';
import { rmse } from './metrics.js';
import { splitRatings, type RatingsTable } from './ratings.js';

/** Values to try per hyperparameter. */
export type Grid<H extends MfHyperparameters> = { [K in keyof H]?: number[] };
export type MfGrid = Grid<MfHyperparameters>;

/** What tuning needs of an SGD model: its parser, its training and its predictions. */
export interface SgdModelFamily<H extends MfHyperparameters, M extends MfModel, S extends SgdStep> {
  parse(hp: H): Required<H>;
  train(table: RatingsTable, hp: H, opts: TrainOptions<M, S>): M;
  predict(model: M, table: RatingsTable, out: Float32Array<ArrayBuffer>): Float32Array;
}

/** Biased MF as a family. */
export const MF_FAMILY: SgdModelFamily<MfHyperparameters, MfModel, SgdStep> = { parse: parseMfHyperparameters, train: trainMf, predict: predictTable };

/**
 * The grid `reel eval --tune` searches: around the defaults, cheap enough to run in under a
 * minute on ml-100k. Flags the user gives fix their dimension.
 */
export const DEFAULT_MF_TUNE_GRID: MfGrid = { factors: [32, 128], lr: [0.015, 0.03], regFactor: [0.04, 0.08, 0.12] };
/** Share of the training ratings held out for validation. */
export const DEFAULT_VALIDATION_FRACTION = 0.1;
/** Epochs without a better validation RMSE before a configuration stops. */
export const DEFAULT_TUNE_PATIENCE_EPOCHS = 5;

/** Every combination of `grid`'s values over `base`, the first field varying slowest. */
export function expandGrid<H extends MfHyperparameters = MfHyperparameters>(base: NoInfer<H>, grid: NoInfer<Grid<H>>): H[] {
  let out: H[] = [{ ...base }];
  for (const key of Object.keys(grid) as (keyof H & string)[]) {
    const values = grid[key]!;
    if (values.length === 0) throw new ModelArgumentError(`the grid gives no value for ${key}`, [key]);
    out = out.flatMap((hp) => values.map((v) => ({ ...hp, [key]: v })));
  }
  return out;
}

export interface TuneOptions<H extends MfHyperparameters = MfHyperparameters, M extends MfModel = MfModel, S extends SgdStep = SgdStep> {
  /** Hyperparameters every trial shares; the grid's fields override them. */
  base: H;
  grid: Grid<H>;
  /** Most epochs per trial; the best epoch is chosen on validation. */
  maxEpochs: number;
  /** Seeds the validation split and every trial's training. */
  seed: number;
  /** @default DEFAULT_VALIDATION_FRACTION */
  validationFraction?: number;
  /** @default DEFAULT_TUNE_PATIENCE_EPOCHS */
  patience?: number;
  /** What runs the epochs of every trial (the training's kernel). */
  kernel?: Kernel<M, S>;
  /** After each epoch of each trial: its index (0-based), the epoch, and the validation RMSE. */
  onEpoch?: (trial: number, report: EpochReport<M>, validationRmse: number) => void;
}
export type MfTuneOptions = TuneOptions;

/** One configuration's outcome: its best epoch on validation. */
export interface Trial<H extends MfHyperparameters = MfHyperparameters> {
  hyperparameters: Required<H>;
  epochs: number;
  validationRmse: number;
}
export type MfTrial = Trial;

export interface TuneResult<H extends MfHyperparameters = MfHyperparameters> extends Trial<H> {
  trials: Trial<H>[];
}
export type MfTuneResult = TuneResult;

/**
 * Grid search with early stopping, on `table` alone: a seeded validation part is held out,
 * each configuration trains on the rest, and the configuration and epoch count with the
 * lowest validation RMSE win (the first on a tie). A test set never enters: the caller
 * retrains on all of `table` with the result.
 */
export function tuneMf(table: RatingsTable, opts: MfTuneOptions): MfTuneResult {
  return tuneSgd(MF_FAMILY, table, opts);
}

/** `tuneMf` for any SGD model family (SVD++). */
export function tuneSgd<H extends MfHyperparameters, M extends MfModel, S extends SgdStep>(family: SgdModelFamily<H, M, S>, table: RatingsTable, opts: TuneOptions<H, M, S>): TuneResult<H> {
  const { kept, held } = splitRatings(table, opts.validationFraction ?? DEFAULT_VALIDATION_FRACTION, opts.seed);
  if (held.n === 0 || kept.n === 0) throw new ModelArgumentError(`${table.n} ratings are too few to hold out a validation part`, ['table']);
  const patience = opts.patience ?? DEFAULT_TUNE_PATIENCE_EPOCHS;
  const predicted = new Float32Array(held.n);
  const trials = expandGrid<H>(opts.base, opts.grid).map((hp, t): Trial<H> => {
    const best = { epochs: 0, validationRmse: Infinity };
    family.train(kept, hp, {
      epochs: opts.maxEpochs,
      seed: opts.seed,
      kernel: opts.kernel,
      onEpoch: (report) => {
        const v = rmse(family.predict(report.model, held, predicted), held.ratings);
        opts.onEpoch?.(t, report, v);
        if (v < best.validationRmse) Object.assign(best, { epochs: report.epoch, validationRmse: v });
        return report.epoch - best.epochs < patience;
      },
    });
    return { hyperparameters: family.parse(hp), ...best };
  });
  const winner = trials.reduce((a, b) => (b.validationRmse < a.validationRmse ? b : a));
  return { ...winner, trials };
}
