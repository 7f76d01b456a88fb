import { isNonNegative, isPositive, isWholeIn, parseHyperparameters, type HyperparameterChecks } from './hyperparameters.js';
import { MAX_MF_FACTORS } from './mf-options.js';

/** How BPR draws the negative item j of a triple (u, i, j). */
export type BprNegatives = 'uniform' | 'popularity';

/**
 * Hyperparameters of BPR-MF (`bpr.ts`; Rendle, Freudenthaler, Gantner and Schmidt-Thieme
 * 2009): x_uij = (b_i − b_j) + p_u·(q_i − q_j), maximising Σ ln σ(x_uij) by SGD over sampled
 * triples, one per training interaction per epoch. The defaults were chosen on the validation
 * part of ml-100k under RecBole's protocol (`bench/quality-topk.ts`), never on its test part.
 */
export interface BprHyperparameters {
  /** Latent factors per user and per item. @default 64 */
  factors?: number;
  /** Learning rate of the first epoch. @default 0.05 */
  lr?: number;
  /** Each epoch's learning rate is the previous one's times this. @default 0.97 */
  lrDecay?: number;
  /** L2 regularisation of the factors. @default 0.02 */
  reg?: number;
  /** L2 regularisation of the item biases. @default 0.01 */
  regBias?: number;
  /** Negatives drawn uniformly, or ∝ popularity^popularityExponent. @default 'uniform' */
  negatives?: BprNegatives;
  /** β of popularity-aware sampling (0 is uniform over the items anyone interacted with). @default 0.75 */
  popularityExponent?: number;
  /** Standard deviation of the seeded normal initial factors. @default 0.1 */
  initStd?: number;
}

export const DEFAULT_BPR_FACTORS = 64;
export const DEFAULT_BPR_LR = 0.05;
export const DEFAULT_BPR_LR_DECAY = 0.97;
export const DEFAULT_BPR_REG = 0.02;
export const DEFAULT_BPR_REG_BIAS = 0.01;
export const DEFAULT_BPR_POPULARITY_EXPONENT = 0.75;
export const DEFAULT_BPR_INIT_STD = 0.1;
/** Epochs training runs by default. */
export const DEFAULT_BPR_EPOCHS = 90;

export function defaultBprHyperparameters(): Required<BprHyperparameters> {
  return {
    factors: DEFAULT_BPR_FACTORS,
    lr: DEFAULT_BPR_LR,
    lrDecay: DEFAULT_BPR_LR_DECAY,
    reg: DEFAULT_BPR_REG,
    regBias: DEFAULT_BPR_REG_BIAS,
    negatives: 'uniform',
    popularityExponent: DEFAULT_BPR_POPULARITY_EXPONENT,
    initStd: DEFAULT_BPR_INIT_STD,
  };
}

const CHECKS: HyperparameterChecks<BprHyperparameters> = {
  factors: [`a whole number from 1 to ${MAX_MF_FACTORS}`, isWholeIn(1, MAX_MF_FACTORS)],
  lr: ['a positive number', isPositive],
  lrDecay: ['a number in (0, 1]', (v) => isPositive(v) && v <= 1],
  reg: ['a non-negative number', isNonNegative],
  regBias: ['a non-negative number', isNonNegative],
  negatives: ["'uniform' or 'popularity'", (v) => v === 'uniform' || v === 'popularity'],
  popularityExponent: ['a non-negative number', isNonNegative],
  initStd: ['a non-negative number', isNonNegative],
};

/** The caller's BPR hyperparameters over the defaults; `ModelArgumentError` names every bad field. */
export function parseBprHyperparameters(hp: BprHyperparameters = {}): Required<BprHyperparameters> {
  return parseHyperparameters('BPR', CHECKS, defaultBprHyperparameters(), hp);
}
