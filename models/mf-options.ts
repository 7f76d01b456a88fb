import { ModelArgumentError } from './errors.js';

/**
 * Hyperparameters of biased matrix factorization (`mf.ts`). The defaults were chosen on a
 * seeded 10% validation part of ml-100k `u1.base`, never on a test file: about 0.902 RMSE
 * there after 30–40 epochs, flat around the optimum (regFactor 0.07–0.09, 256 factors
 * 0.900 at twice the cost, 64 factors 0.904).
 */
export interface MfHyperparameters {
  /** Latent factors per user and per item. @default 128 */
  factors?: number;
  /** Learning rate of the first epoch. @default 0.03 */
  lr?: number;
  /** Each epoch's learning rate is the previous one's times this (1: constant). @default 0.93 */
  lrDecay?: number;
  /** L2 regularisation of the factors p_u and q_i. @default 0.08 */
  regFactor?: number;
  /** L2 regularisation of the biases b_u and b_i. @default 0.01 */
  regBias?: number;
  /** Standard deviation of the seeded normal initial factors. @default 0.03 */
  initStd?: number;
}

export const DEFAULT_MF_FACTORS = 128;
export const DEFAULT_MF_LR = 0.03;
export const DEFAULT_MF_LR_DECAY = 0.93;
export const DEFAULT_MF_REG_FACTOR = 0.08;
export const DEFAULT_MF_REG_BIAS = 0.01;
export const DEFAULT_MF_INIT_STD = 0.03;
/** Epochs `reel eval` trains for by default. */
export const DEFAULT_MF_EPOCHS = 35;
/** Most factors accepted: a P row of 4096 floats is already 16 KB per user. */
export const MAX_MF_FACTORS = 4096;

export function defaultMfHyperparameters(): Required<MfHyperparameters> {
  return {
    factors: DEFAULT_MF_FACTORS,
    lr: DEFAULT_MF_LR,
    lrDecay: DEFAULT_MF_LR_DECAY,
    regFactor: DEFAULT_MF_REG_FACTOR,
    regBias: DEFAULT_MF_REG_BIAS,
    initStd: DEFAULT_MF_INIT_STD,
  };
}

/** What each field must be, and the check. */
const CHECKS: { [K in keyof Required<MfHyperparameters>]: [string, (v: number) => boolean] } = {
  factors: [`a whole number from 1 to ${MAX_MF_FACTORS}`, (v) => Number.isInteger(v) && v >= 1 && v <= MAX_MF_FACTORS],
  lr: ['a positive number', (v) => Number.isFinite(v) && v > 0],
  lrDecay: ['a number in (0, 1]', (v) => Number.isFinite(v) && v > 0 && v <= 1],
  regFactor: ['a non-negative number', (v) => Number.isFinite(v) && v >= 0],
  regBias: ['a non-negative number', (v) => Number.isFinite(v) && v >= 0],
  initStd: ['a non-negative number', (v) => Number.isFinite(v) && v >= 0],
};

/**
 * The caller's hyperparameters over the defaults. Throws `ModelArgumentError` naming every
 * bad field (undefined fields take their default).
 */
export function parseMfHyperparameters(hp: MfHyperparameters = {}): Required<MfHyperparameters> {
  const out = defaultMfHyperparameters();
  const bad: string[] = [];
  for (const key of Object.keys(CHECKS) as (keyof MfHyperparameters)[]) {
    const v = hp[key];
    if (v === undefined) continue;
    const [want, ok] = CHECKS[key];
    if (!ok(v)) bad.push(`${key} must be ${want}, got ${v}`);
    else out[key] = v;
  }
  if (bad.length > 0) throw new ModelArgumentError(`bad MF hyperparameters: ${bad.join('; ')}`, bad.map((b) => b.split(' ')[0]!));
  return out;
}

/** Checks a number of epochs: a whole number ≥ 1. */
export function checkEpochs(epochs: number): number {
  if (!Number.isInteger(epochs) || epochs < 1) throw new ModelArgumentError(`epochs must be a whole number ≥ 1, got ${epochs}`, ['epochs']);
  return epochs;
}
