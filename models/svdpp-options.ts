import {
  DEFAULT_MF_INIT_STD, MF_CHECKS, parseHyperparameters, type HyperparameterCheck, type MfHyperparameters,
} from './mf-options.js';

/**
 * Hyperparameters of SVD++ (`svdpp.ts`): those of biased MF, plus the regularisation of the
 * implicit factors y_j. The defaults were chosen on a seeded 10% validation part of ml-100k
 * `u1.base`, never on a test file (see bench/quality-explicit.ts).
 */
export interface SvdppHyperparameters extends MfHyperparameters {
  /** L2 regularisation of the implicit factors y_j. @default regFactor */
  regY?: number;
}

export const DEFAULT_SVDPP_FACTORS = 128;
export const DEFAULT_SVDPP_LR = 0.01;
export const DEFAULT_SVDPP_LR_DECAY = 0.95;
export const DEFAULT_SVDPP_REG_FACTOR = 0.06;
export const DEFAULT_SVDPP_REG_BIAS = 0.01;
/** Epochs `reel eval --model svdpp` trains for by default. */
export const DEFAULT_SVDPP_EPOCHS = 40;

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
    regY: DEFAULT_SVDPP_REG_FACTOR,
    initStd: DEFAULT_MF_INIT_STD,
  };
}

const CHECKS: { [K in keyof Required<SvdppHyperparameters>]: HyperparameterCheck } = {
  ...MF_CHECKS,
  regY: MF_CHECKS.regFactor,
};

/** The caller's hyperparameters over the defaults; `regY` not given takes `regFactor`'s value. */
export function parseSvdppHyperparameters(hp: SvdppHyperparameters = {}): Required<SvdppHyperparameters> {
  const out = parseHyperparameters('SVD++', hp, defaultSvdppHyperparameters(), CHECKS);
  if (hp.regY === undefined) out.regY = out.regFactor;
  return out;
}
