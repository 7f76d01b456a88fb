import { InvalidArgumentError, type Command } from 'commander';
import {
  DEFAULT_MF_EPOCHS, DEFAULT_MF_FACTORS, DEFAULT_MF_KERNEL, MF_KERNELS, DEFAULT_MF_INIT_STD, DEFAULT_MF_LR, DEFAULT_MF_LR_DECAY, DEFAULT_MF_REG_BIAS, DEFAULT_MF_REG_FACTOR, MAX_MF_FACTORS,
  type MfHyperparameters, type MfKernelName,
} from '../models/index.js';
import { integerIn, nonNegativeNumber, positiveNumber } from './args.js';

/** Models `--model` accepts. */
export const MODEL_NAMES = ['mf'] as const;
export type ModelName = (typeof MODEL_NAMES)[number];

/** Seed of training and splits when `--seed` is not given. */
export const DEFAULT_SEED = 1;
/** Most epochs accepted: far past any useful run, low enough to catch a typo. */
export const MAX_EPOCHS = 100_000;

/** The model flags as commander parses them: absent when not given, so `--tune` knows what to search. */
export interface ModelFlags {
  model: ModelName;
  factors?: number;
  epochs?: number;
  lr?: number;
  lrDecay?: number;
  reg?: number;
  regBias?: number;
  initStd?: number;
  seed?: number;
  kernel?: MfKernelName;
}

function modelName(v: string): ModelName {
  if (!(MODEL_NAMES as readonly string[]).includes(v)) throw new InvalidArgumentError(`unknown model '${v}'; known: ${MODEL_NAMES.join(', ')}.`);
  return v as ModelName;
}

function kernelName(v: string): MfKernelName {
  if (!Object.hasOwn(MF_KERNELS, v)) throw new InvalidArgumentError(`unknown kernel '${v}'; known: ${Object.keys(MF_KERNELS).join(', ')}.`);
  return v as MfKernelName;
}

function decay(v: string): number {
  const n = positiveNumber(v);
  if (n > 1) throw new InvalidArgumentError('expected a number in (0, 1].');
  return n;
}

/**
 * Adds the model flags `reel eval` and `reel train` share. No flag has a commander default,
 * so that an omitted one stays undefined and `--tune` searches it; the defaults live in
 * `models/` and the help text shows them.
 */
export function withModelOptions(cmd: Command): Command {
  return cmd
    .requiredOption('--model <name>', `model to train: ${MODEL_NAMES.join(', ')} (biased matrix factorization by SGD)`, modelName)
    .option('--factors <k>', `latent factors per user and title (default: ${DEFAULT_MF_FACTORS})`, integerIn(1, MAX_MF_FACTORS))
    .option('--epochs <n>', `passes over the ratings, reshuffled each time (default: ${DEFAULT_MF_EPOCHS})`, integerIn(1, MAX_EPOCHS))
    .option('--lr <rate>', `learning rate of the first epoch (default: ${DEFAULT_MF_LR})`, positiveNumber)
    .option('--lr-decay <f>', `learning rate multiplied by this after each epoch (default: ${DEFAULT_MF_LR_DECAY})`, decay)
    .option('--reg <lambda>', `L2 regularisation of the factors (default: ${DEFAULT_MF_REG_FACTOR})`, nonNegativeNumber)
    .option('--reg-bias <lambda>', `L2 regularisation of the biases (default: ${DEFAULT_MF_REG_BIAS})`, nonNegativeNumber)
    .option('--init-std <s>', `standard deviation of the initial factors (default: ${DEFAULT_MF_INIT_STD})`, nonNegativeNumber)
    .option('--seed <n>', `seeds the initial factors, every epoch's order and any split (default: ${DEFAULT_SEED})`, integerIn(0, 2 ** 32 - 1))
    .option(
      '--kernel <name>',
      `what computes the SGD epochs: ${Object.keys(MF_KERNELS).join(', ')} (WebAssembly SIMD, or the plain-TypeScript reference; they agree within float rounding) (default: ${DEFAULT_MF_KERNEL})`,
      kernelName,
    );
}

/** The hyperparameters the flags give (absent ones stay absent: the model's defaults apply). */
export function hyperparametersOf(f: ModelFlags): MfHyperparameters {
  const hp: MfHyperparameters = {};
  if (f.factors !== undefined) hp.factors = f.factors;
  if (f.lr !== undefined) hp.lr = f.lr;
  if (f.lrDecay !== undefined) hp.lrDecay = f.lrDecay;
  if (f.reg !== undefined) hp.regFactor = f.reg;
  if (f.regBias !== undefined) hp.regBias = f.regBias;
  if (f.initStd !== undefined) hp.initStd = f.initStd;
  return hp;
}
