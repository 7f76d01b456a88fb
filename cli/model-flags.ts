import { InvalidArgumentError, type Command } from 'commander';
import {
  DEFAULT_MF_EPOCHS, DEFAULT_MF_FACTORS, DEFAULT_MF_KERNEL, MF_KERNELS, DEFAULT_MF_INIT_STD, DEFAULT_MF_LR, DEFAULT_MF_LR_DECAY, DEFAULT_MF_REG_BIAS, DEFAULT_MF_REG_FACTOR, MAX_MF_FACTORS,
  DEFAULT_SVDPP_EPOCHS, DEFAULT_SVDPP_FACTORS, DEFAULT_SVDPP_LR, DEFAULT_SVDPP_REG_FACTOR, DEFAULT_SVDPP_REG_Y,
  type MfKernelName, type SvdppHyperparameters,
} from '../models/index.js';
import { DEFAULT_TRAIN_SEED, MAX_EPOCHS } from '../actors/training/index.js';
import { integerIn, nonNegativeNumber, positiveNumber } from './args.js';

/** Models `--model` accepts. */
export const MODEL_NAMES = ['mf', 'svdpp', 'als', 'bpr', 'lightgcn', 'content-gnn'] as const;
export type ModelName = (typeof MODEL_NAMES)[number];

/** Seed of training and splits when `--seed` is not given: the one a training job takes. */
export const DEFAULT_SEED = DEFAULT_TRAIN_SEED;

/** The model flags as commander parses them: absent when not given, so `--tune` knows what to search. */
export interface ModelFlags {
  /** Required by every command that trains; `reel eval --model-version` scores a trained version instead. */
  model?: ModelName;
  factors?: number;
  epochs?: number;
  lr?: number;
  lrDecay?: number;
  reg?: number;
  regBias?: number;
  regUser?: number;
  regItem?: number;
  regUserBias?: number;
  regItemBias?: number;
  /** SVD++ only. */
  regY?: number;
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
    .option(
      '--model <name>',
      `model to train: ${MODEL_NAMES.join(', ')} (biased matrix factorization by SGD; SVD++, MF plus the factors of the titles each user rated; implicit ALS; BPR-MF; LightGCN, a graph model; content-gnn, LightGCN plus a feature encoder that gives titles nobody watched yet a row from their genres, year and tags). reel eval predicts ratings with mf or svdpp; reel train trains mf, bpr, lightgcn or content-gnn across nodes`,
      modelName,
    )
    .option('--factors <k>', `latent factors per user and title (default: ${DEFAULT_MF_FACTORS}) (svdpp: ${DEFAULT_SVDPP_FACTORS})`, integerIn(1, MAX_MF_FACTORS))
    .option('--epochs <n>', `passes over the ratings, reshuffled each time (default: ${DEFAULT_MF_EPOCHS}) (svdpp: ${DEFAULT_SVDPP_EPOCHS})`, integerIn(1, MAX_EPOCHS))
    .option('--lr <rate>', `learning rate of the first epoch (default: ${DEFAULT_MF_LR}) (svdpp: ${DEFAULT_SVDPP_LR})`, positiveNumber)
    .option('--lr-decay <f>', `learning rate multiplied by this after each epoch (default: ${DEFAULT_MF_LR_DECAY})`, decay)
    .option('--reg <lambda>', `L2 regularisation of the factors (default: ${DEFAULT_MF_REG_FACTOR}) (svdpp: ${DEFAULT_SVDPP_REG_FACTOR})`, nonNegativeNumber)
    .option('--reg-bias <lambda>', `L2 regularisation of the biases (default: ${DEFAULT_MF_REG_BIAS})`, nonNegativeNumber)
    .option('--reg-user <lambda>', 'L2 regularisation of the user factors alone (default: --reg)', nonNegativeNumber)
    .option('--reg-item <lambda>', 'L2 regularisation of the title factors alone (default: --reg)', nonNegativeNumber)
    .option('--reg-user-bias <lambda>', 'L2 regularisation of the user biases alone (default: --reg-bias)', nonNegativeNumber)
    .option('--reg-item-bias <lambda>', 'L2 regularisation of the title biases alone (default: --reg-bias)', nonNegativeNumber)
    .option('--reg-y <lambda>', `svdpp only: L2 regularisation of the implicit factors y (default: ${DEFAULT_SVDPP_REG_Y})`, nonNegativeNumber)
    .option('--init-std <s>', `standard deviation of the initial factors (default: ${DEFAULT_MF_INIT_STD})`, nonNegativeNumber)
    .option('--seed <n>', `seeds the initial factors, every epoch's order and any split (default: ${DEFAULT_SEED})`, integerIn(0, 2 ** 32 - 1))
    .option(
      '--kernel <name>',
      `what computes the SGD epochs: ${Object.keys(MF_KERNELS).join(', ')} (WebAssembly SIMD, or the plain-TypeScript reference; they agree within float rounding) (default: ${DEFAULT_MF_KERNEL})`,
      kernelName,
    );
}

/**
 * The hyperparameters the flags give (absent ones stay absent: the model's defaults apply).
 * `regY` is only ever set by `--reg-y`, which the caller refuses for a model without y.
 */
export function hyperparametersOf(f: ModelFlags): SvdppHyperparameters {
  const hp: SvdppHyperparameters = {};
  const fields: [keyof SvdppHyperparameters, number | undefined][] = [
    ['factors', f.factors], ['lr', f.lr], ['lrDecay', f.lrDecay], ['regFactor', f.reg], ['regBias', f.regBias], ['regUser', f.regUser],
    ['regItem', f.regItem], ['regUserBias', f.regUserBias], ['regItemBias', f.regItemBias], ['regY', f.regY], ['initStd', f.initStd],
  ];
  for (const [key, v] of fields) if (v !== undefined) hp[key] = v;
  return hp;
}
