import { tuneSgd, type Grid, type SgdModelFamily, type TuneOptions, type TuneResult } from './mf-tune.js';
import type { RatingsTable } from './ratings.js';
import { predictSvdppTable, trainSvdpp, type SvdppModel, type SvdppStep } from './svdpp.js';
import { parseSvdppHyperparameters, type SvdppHyperparameters } from './svdpp-options.js';

/** SVD++ as a family for `tuneSgd`. */
export const SVDPP_FAMILY: SgdModelFamily<SvdppHyperparameters, SvdppModel, SvdppStep> = {
  parse: parseSvdppHyperparameters,
  train: trainSvdpp,
  predict: predictSvdppTable,
};

/** The grid `reel eval --model svdpp --tune` searches around the defaults: under a minute on ml-100k. */
export const DEFAULT_SVDPP_TUNE_GRID: Grid<SvdppHyperparameters> = { factors: [64, 128], regFactor: [0.07, 0.1, 0.13], regY: [0.005, 0.02] };

/** `tuneMf` for SVD++: grid search with early stopping on a seeded validation part of `table`. */
export function tuneSvdpp(table: RatingsTable, opts: TuneOptions<SvdppHyperparameters, SvdppModel, SvdppStep>): TuneResult<SvdppHyperparameters> {
  return tuneSgd(SVDPP_FAMILY, table, opts);
}
