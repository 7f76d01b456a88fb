import {
  DEFAULT_MF_INIT_STD, MF_CHECKS, parseHyperparameters, type HyperparameterCheck, type MfHyperparameters,
} from './mf-options.js';

/**
 * Hyperparameters of SVD++ (`svdpp.ts`): those of biased MF, plus the regularisation of the
 * implicit factors y_j. The defaults were chosen on a seeded 10% validation part of ml-100k
 * `u1.base` (seed 1), never on a test file: about 0.906–0.910 RMSE there after 20–25 epochs
 * depending on the seed (biased MF: 0.914), flat in factors (64, 128, 256 within noise).
 */
export interface SvdppHyperparameters extends MfHyperparameters {
  /** L2 regularisation of the implicit factors y_j. @default 0.02 */
  regY?: number;
}

export const DEFAULT_SVDPP_FACTORS = 64;
export const DEFAULT_SVDPP_LR = 0.04;
export const DEFAULT_SVDPP_LR_DECAY = 0.93;
export const DEFAULT_SVDPP_REG_FACTOR = 0.1;
export const DEFAULT_SVDPP_REG_BIAS = 0.01;
/** y wants less regularisation than P and Q: 0.005–0.02 beat 0.1 on validation. */
export const DEFAULT_SVDPP_REG_Y = 0.02;
/** Epochs `reel eval --model svdpp` trains for by default (the best on validation: 20–25). */
export const DEFAULT_SVDPP_EPOCHS = 25;

export function defaultSvdppHyperparameters(): Required<SvdppHyperparameters> {
  return {
    factors: DEFAULT_SVDPP_FACTORS,
    lr: DEFAULT_SVDPP_LR,
    lrDecay: DEFAULT_SVDPP_LR_DECAY,
    regFactor: DEFAULT_SVDPP_REG_FACTOR,
    regBias: DEFAULT_SVDPP_REG_BIAS,
    regUser: DEFAULT_SVDPP_REG_FACTOR,
    regItem: DEFAULT_SVDPP_REG_FACTOR,
    regUserBias: DEFAULT_SVDPP_REG_BIAS,
    regItemBias: DEFAULT_SVDPP_REG_BIAS,
    regY: DEFAULT_SVDPP_REG_Y,
    initStd: DEFAULT_MF_INIT_STD,
  };
}

const CHECKS: { [K in keyof Required<SvdppHyperparameters>]: HyperparameterCheck } = {
  ...MF_CHECKS,
  regY: MF_CHECKS.regFactor,
};

/** The caller's hyperparameters over the defaults (per-parameter regularisations as in MF). */
export function parseSvdppHyperparameters(hp: SvdppHyperparameters = {}): Required<SvdppHyperparameters> {
  return parseHyperparameters('SVD++', hp, defaultSvdppHyperparameters(), CHECKS);
}
