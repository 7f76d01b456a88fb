import { isNonNegative, isPositive, isWholeIn, parseHyperparameters, type HyperparameterChecks } from './hyperparameters.js';
import { MAX_MF_FACTORS } from './mf-options.js';

/** How an interaction's rating r becomes its confidence weight c (Hu, Koren and Volinsky 2008). */
export type AlsConfidence = 'linear' | 'log';

/**
 * Hyperparameters of implicit ALS (`als.ts`). The loss, over every (user, item) pair:
 *
 *     Σ_observed c_ui (1 − x_u·y_i)²  +  α0 Σ_unobserved (x_u·y_i)²
 *       + Σ_u λ_u ‖x_u‖² + Σ_i λ_i ‖y_i‖²,
 *     c_ui = 1 + alpha·r (linear) or 1 + alpha·log(1 + r/epsilon) (log),
 *     λ_u = reg · (|I_u| + α0·|I|)^regExponent,  λ_i = reg · (|U_i| + α0·|U|)^regExponent.
 *
 * α0 = 1 is Hu–Koren–Volinsky's weighting; the regularisation is the frequency-scaled one of
 * Rendle, Krichene, Zhang and Koren ("Revisiting the Performance of iALS on Item
 * Recommendation Benchmarks", 2022), where regExponent ν = 0 is plain L2 and ν = 1 scales with
 * the row's interactions plus α0 times the other side's size (its share of the unobserved term).
 * α0 < 1 with alpha = 0 is Rendle et al.'s setting, HKV's loss scaled by 1/(1 + alpha).
 *
 * The defaults were chosen on the validation part of ml-100k under RecBole's protocol
 * (`bench/quality-topk.ts`), never on its test part: validation NDCG@10 0.273 after 8 sweeps.
 */
export interface AlsHyperparameters {
  /** Latent factors per user and per item. @default 128 */
  factors?: number;
  /** Confidence scale alpha (0: every observed pair weighs 1). @default 0 */
  alpha?: number;
  /** Confidence form. @default 'linear' */
  confidence?: AlsConfidence;
  /** epsilon of the log form. @default 1 */
  epsilon?: number;
  /** Use each interaction's rating as r (else r = 1 for every interaction). @default false */
  useRatings?: boolean;
  /** Weight α0 of the unobserved pairs. @default 0.4 */
  unobservedWeight?: number;
  /** Regularisation scale λ. @default 0.015 */
  reg?: number;
  /** Frequency-scaling exponent ν of the regularisation (0: plain L2). @default 1 */
  regExponent?: number;
  /** Conjugate-gradient steps per row and half-sweep, warm-started from the current factors. @default 3 */
  cgSteps?: number;
  /** Standard deviation of the seeded normal initial factors. @default 0.01 */
  initStd?: number;
}

export const DEFAULT_ALS_FACTORS = 128;
export const DEFAULT_ALS_ALPHA = 0;
export const DEFAULT_ALS_EPSILON = 1;
export const DEFAULT_ALS_UNOBSERVED_WEIGHT = 0.4;
export const DEFAULT_ALS_REG = 0.015;
export const DEFAULT_ALS_REG_EXPONENT = 1;
export const DEFAULT_ALS_CG_STEPS = 3;
export const DEFAULT_ALS_INIT_STD = 0.01;
/** Sweeps (a user half and an item half each) training runs by default. */
export const DEFAULT_ALS_EPOCHS = 8;

export function defaultAlsHyperparameters(): Required<AlsHyperparameters> {
  return {
    factors: DEFAULT_ALS_FACTORS,
    alpha: DEFAULT_ALS_ALPHA,
    confidence: 'linear',
    epsilon: DEFAULT_ALS_EPSILON,
    useRatings: false,
    unobservedWeight: DEFAULT_ALS_UNOBSERVED_WEIGHT,
    reg: DEFAULT_ALS_REG,
    regExponent: DEFAULT_ALS_REG_EXPONENT,
    cgSteps: DEFAULT_ALS_CG_STEPS,
    initStd: DEFAULT_ALS_INIT_STD,
  };
}

const CHECKS: HyperparameterChecks<AlsHyperparameters> = {
  factors: [`a whole number from 1 to ${MAX_MF_FACTORS}`, isWholeIn(1, MAX_MF_FACTORS)],
  alpha: ['a non-negative number', isNonNegative],
  confidence: ["'linear' or 'log'", (v) => v === 'linear' || v === 'log'],
  epsilon: ['a positive number', isPositive],
  useRatings: ['true or false', (v) => typeof v === 'boolean'],
  unobservedWeight: ['a positive number', isPositive],
  reg: ['a non-negative number', isNonNegative],
  regExponent: ['a non-negative number', isNonNegative],
  cgSteps: ['a whole number from 1 to 1024', isWholeIn(1, 1024)],
  initStd: ['a non-negative number', isNonNegative],
};

/** The caller's ALS hyperparameters over the defaults; `ModelArgumentError` names every bad field. */
export function parseAlsHyperparameters(hp: AlsHyperparameters = {}): Required<AlsHyperparameters> {
  return parseHyperparameters('ALS', CHECKS, defaultAlsHyperparameters(), hp);
}
