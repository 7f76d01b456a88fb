import { ModelArgumentError } from './errors.js';

/**
 * Hyperparameters of biased matrix factorization (`mf.ts`). The defaults were chosen on a
 * seeded 10% validation part of ml-100k `u1.base`, never on a test file: about 0.902 RMSE
 * there after 30–40 epochs, flat around the optimum (regFactor 0.07–0.09, 256 factors
 * 0.900 at twice the cost, 64 factors 0.904).
 *
 * Regularisation is per parameter: `regFactor` and `regBias` set every factor's and every
 * bias's, and `regUser`, `regItem`, `regUserBias`, `regItemBias` override one kind each.
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
  /** L2 regularisation of the user factors p_u alone. @default regFactor */
  regUser?: number;
  /** L2 regularisation of the item factors q_i alone. @default regFactor */
  regItem?: number;
  /** L2 regularisation of the user biases b_u alone. @default regBias */
  regUserBias?: number;
  /** L2 regularisation of the item biases b_i alone. @default regBias */
  regItemBias?: number;
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

/** Each per-parameter regularisation and the general one it defaults to. */
export const REG_OVERRIDES = { regUser: 'regFactor', regItem: 'regFactor', regUserBias: 'regBias', regItemBias: 'regBias' } as const;

export function defaultMfHyperparameters(): Required<MfHyperparameters> {
  return {
    factors: DEFAULT_MF_FACTORS,
    lr: DEFAULT_MF_LR,
    lrDecay: DEFAULT_MF_LR_DECAY,
    regFactor: DEFAULT_MF_REG_FACTOR,
    regBias: DEFAULT_MF_REG_BIAS,
    regUser: DEFAULT_MF_REG_FACTOR,
    regItem: DEFAULT_MF_REG_FACTOR,
    regUserBias: DEFAULT_MF_REG_BIAS,
    regItemBias: DEFAULT_MF_REG_BIAS,
    initStd: DEFAULT_MF_INIT_STD,
  };
}

/** What a field must be, and the check. */
export type HyperparameterCheck = [string, (v: number) => boolean];

const nonNegative: HyperparameterCheck = ['a non-negative number', (v) => Number.isFinite(v) && v >= 0];

/** The checks of every MF field, shared by the models built on MF (SVD++). */
export const MF_CHECKS: { [K in keyof Required<MfHyperparameters>]: HyperparameterCheck } = {
  factors: [`a whole number from 1 to ${MAX_MF_FACTORS}`, (v) => Number.isInteger(v) && v >= 1 && v <= MAX_MF_FACTORS],
  lr: ['a positive number', (v) => Number.isFinite(v) && v > 0],
  lrDecay: ['a number in (0, 1]', (v) => Number.isFinite(v) && v > 0 && v <= 1],
  regFactor: nonNegative,
  regBias: nonNegative,
  regUser: nonNegative,
  regItem: nonNegative,
  regUserBias: nonNegative,
  regItemBias: nonNegative,
  initStd: nonNegative,
};

/**
 * `hp` over `defaults`, each field checked by `checks`; a per-parameter regularisation not
 * given takes its general one's value (given or default). Throws `ModelArgumentError`
 * naming every bad field. `label` names the model in the message.
 */
export function parseHyperparameters<H extends MfHyperparameters>(
  label: string,
  hp: H,
  defaults: Required<H>,
  checks: { [K in keyof Required<H>]: HyperparameterCheck },
): Required<H> {
  const out = { ...defaults };
  const bad: string[] = [];
  for (const key of Object.keys(checks) as (keyof H & string)[]) {
    const v = hp[key] as number | undefined;
    if (v === undefined) continue;
    const [want, ok] = checks[key];
    if (!ok(v)) bad.push(`${key} must be ${want}, got ${v}`);
    else (out as Record<string, number>)[key] = v;
  }
  if (bad.length > 0) throw new ModelArgumentError(`bad ${label} hyperparameters: ${bad.join('; ')}`, bad.map((b) => b.split(' ')[0]!));
  for (const [key, general] of Object.entries(REG_OVERRIDES) as [keyof typeof REG_OVERRIDES, 'regFactor' | 'regBias'][]) {
    if (hp[key] === undefined) out[key] = out[general];
  }
  return out;
}

/**
 * The caller's hyperparameters over the defaults. Throws `ModelArgumentError` naming every
 * bad field (undefined fields take their default).
 */
export function parseMfHyperparameters(hp: MfHyperparameters = {}): Required<MfHyperparameters> {
  return parseHyperparameters('MF', hp, defaultMfHyperparameters(), MF_CHECKS);
}

/** Checks a number of epochs: a whole number ≥ 1. */
export function checkEpochs(epochs: number): number {
  if (!Number.isInteger(epochs) || epochs < 1) throw new ModelArgumentError(`epochs must be a whole number ≥ 1, got ${epochs}`, ['epochs']);
  return epochs;
}
