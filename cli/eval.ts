import { statSync } from 'node:fs';
import { DataFormatError } from '../data/errors.js';
import { readRatings } from '../data/movielens.js';
import {
  DEFAULT_MF_EPOCHS, DEFAULT_MF_KERNEL, DEFAULT_MF_TUNE_GRID, MF_KERNELS, DEFAULT_VALIDATION_FRACTION, fingerprint, mae, ModelArgumentError, parseMfHyperparameters, predictTable, ratingsTableFrom, rmse,
  trainMf, tuneMf, type MfGrid, type MfHyperparameters, type RatingsTable, type TableIndices,
} from '../models/index.js';
import { CliError, ExitCode } from './exit-codes.js';
import { DEFAULT_SEED, hyperparametersOf, type ModelFlags } from './model-flags.js';
import type { Output } from './output.js';

export interface EvalOptions extends ModelFlags {
  train: string;
  test: string;
  /** Choose the hyperparameters not given as flags on a validation part of the train file. */
  tune?: boolean;
  json?: boolean;
}

/** What `--help` adds below the flags. */
export const EVAL_HELP =
  'Trains in this process on the --train file and predicts every rating of the --test file (each file in any ratings format ' +
  "`reel start --data` reads). Ids are matched by value; a test rating whose user or title is unseen in training is predicted from what " +
  'is known: the title bias (or user bias) plus the global mean, or the global mean alone. Predictions are clamped to the training ratings\' range. ' +
  `--tune searches the flags not given (factors, lr, reg) and the number of epochs (up to --epochs) on a seeded ${DEFAULT_VALIDATION_FRACTION * 100}% ` +
  'validation part of the --train file, never on the --test file, then retrains on the whole --train file.';

/** A ratings file named by `flag`, read against `indices`; a missing or malformed one is a usage error. */
async function readTable(flag: string, file: string, indices?: TableIndices): Promise<RatingsTable> {
  const stat = statSync(file, { throwIfNoEntry: false });
  if (!stat) throw new CliError(`${flag} ${file}: no such file`, ExitCode.Usage);
  if (!stat.isFile()) throw new CliError(`${flag} ${file}: not a file`, ExitCode.Usage);
  const table = await ratingsTableFrom(readRatings(file), indices).catch((err: unknown) =>
    Promise.reject(err instanceof DataFormatError || err instanceof ModelArgumentError ? new CliError(err.message, ExitCode.Usage) : err),
  );
  if (table.n === 0) throw new CliError(`${flag} ${file}: the file holds no ratings`, ExitCode.Usage);
  return table;
}

/** The tuning grid without the dimensions the flags fixed. */
function gridFor(given: MfHyperparameters): MfGrid {
  const grid: MfGrid = {};
  for (const [k, values] of Object.entries(DEFAULT_MF_TUNE_GRID) as [keyof MfHyperparameters, number[]][]) if (given[k] === undefined) grid[k] = values;
  return grid;
}

const fmt4 = (x: number) => x.toFixed(4);
const count = (x: number) => x.toLocaleString('en-US');
const describeHp = (h: Required<MfHyperparameters>) => `factors ${h.factors}, lr ${h.lr}, reg ${h.regFactor}`;

/**
 * `reel eval`: trains a model on one ratings file in this process and scores its rating
 * predictions on another (RMSE, MAE). Progress goes to stderr, the result to stdout.
 */
export async function runEval(opts: EvalOptions, out: Output): Promise<void> {
  const seed = opts.seed ?? DEFAULT_SEED;
  const kernelName = opts.kernel ?? DEFAULT_MF_KERNEL;
  const kernel = MF_KERNELS[kernelName];
  const train = await readTable('--train', opts.train);
  // Read against the training indices: an id training never saw gets an index past the model's.
  const test = await readTable('--test', opts.test, train);
  const given = hyperparametersOf(opts);
  let hp = parseMfHyperparameters(given);
  let epochs = opts.epochs ?? DEFAULT_MF_EPOCHS;
  out.info(`reel: ${opts.train}: ${count(train.n)} ratings, ${count(train.userCount)} users, ${count(train.itemCount)} titles`);

  let tuning: { validation_fraction: number; validation_rmse: number; trials: number; best_epoch: number } | null = null;
  if (opts.tune) {
    const grid = gridFor(given);
    const trials = Object.values(grid).reduce((n, v) => n * v.length, 1);
    out.info(`reel: tuning on a ${DEFAULT_VALIDATION_FRACTION * 100}% validation part of ${opts.train}: ${trials} configurations, up to ${epochs} epochs each`);
    let lastTrial = -1;
    const r = tuneMf(train, {
      base: given,
      grid,
      maxEpochs: epochs,
      seed,
      kernel,
      onEpoch: (t, rep, valid) => {
        if (out.tty) process.stderr.write(`\rtrial ${t + 1}/${trials} epoch ${rep.epoch}: train RMSE ${fmt4(rep.trainRmse)}, valid RMSE ${fmt4(valid)}   `);
        lastTrial = t;
      },
    });
    if (out.tty && lastTrial >= 0) process.stderr.write('\n');
    for (const [t, trial] of r.trials.entries()) out.info(`trial ${t + 1}/${trials} (${describeHp(trial.hyperparameters)}): best valid RMSE ${fmt4(trial.validationRmse)} at epoch ${trial.epochs}`);
    out.info(`reel: chose ${describeHp(r.hyperparameters)}, ${r.epochs} epochs (valid RMSE ${fmt4(r.validationRmse)}); retraining on all of ${opts.train}`);
    hp = r.hyperparameters;
    epochs = r.epochs;
    tuning = { validation_fraction: DEFAULT_VALIDATION_FRACTION, validation_rmse: r.validationRmse, trials: r.trials.length, best_epoch: r.epochs };
  }

  let trainSeconds = 0;
  const model = trainMf(train, hp, {
    epochs,
    seed,
    kernel,
    onEpoch: (rep) => {
      trainSeconds += rep.seconds;
      out.info(`epoch ${rep.epoch}/${epochs}: train RMSE ${fmt4(rep.trainRmse)}, lr ${rep.lr.toPrecision(3)}, ${rep.seconds.toFixed(2)} s (${count(Math.round(train.n / rep.seconds))} updates/s)`);
    },
  });
  const predicted = predictTable(model, test);
  let unseen = 0;
  for (let j = 0; j < test.n; j++) if (test.users[j]! >= model.users || test.items[j]! >= model.items) unseen++;

  const result = {
    model: opts.model,
    rmse: rmse(predicted, test.ratings),
    mae: mae(predicted, test.ratings),
    seed,
    kernel: kernelName,
    hyperparameters: { factors: hp.factors, epochs, lr: hp.lr, lr_decay: hp.lrDecay, reg_factor: hp.regFactor, reg_bias: hp.regBias, init_std: hp.initStd },
    tuning,
    train: { file: opts.train, ratings: train.n, users: train.userCount, titles: train.itemCount, fingerprint: fingerprint(train) },
    test: { file: opts.test, ratings: test.n, unseen_ratings: unseen },
    train_seconds: Number(trainSeconds.toFixed(3)),
    updates_per_s: Math.round((train.n * epochs) / trainSeconds),
  };
  if (opts.json) {
    out.json(result);
    return;
  }
  out.line(`${opts.model} trained on ${opts.train}: ${count(train.n)} ratings in ${trainSeconds.toFixed(1)} s (${count(result.updates_per_s)} updates/s, kernel ${kernelName})`);
  out.line(
    `  ${describeHp(hp)}, reg-bias ${hp.regBias}, lr-decay ${hp.lrDecay}, init-std ${hp.initStd}, ${epochs} epochs, seed ${seed}` +
      (tuning ? ` (tuned: valid RMSE ${fmt4(tuning.validation_rmse)})` : ''),
  );
  out.line(`tested on ${opts.test}: ${count(test.n)} ratings, ${count(unseen)} with a user or title unseen in training`);
  out.line(`RMSE ${fmt4(result.rmse)}`);
  out.line(`MAE  ${fmt4(result.mae)}`);
}
