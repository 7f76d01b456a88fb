import { statSync } from 'node:fs';
import { DataFormatError } from '../data/errors.js';
import { readRatings } from '../data/movielens.js';
import {
  DEFAULT_MF_EPOCHS, DEFAULT_MF_KERNEL, DEFAULT_MF_TUNE_GRID, DEFAULT_SVDPP_EPOCHS, DEFAULT_SVDPP_TUNE_GRID, MF_FAMILY, MF_KERNELS, SVDPP_FAMILY, SVDPP_KERNELS,
  DEFAULT_VALIDATION_FRACTION, fingerprint, mae, ModelArgumentError, ratingsTableFrom, rmse, tuneSgd,
  type Grid, type Kernel, type MfHyperparameters, type MfKernelName, type MfModel, type RatingsTable, type SgdModelFamily, type SgdStep,
  type TableIndices,
} from '../models/index.js';
import { latestCheckpoint, TrainedModel } from '../actors/training/index.js';
import { openExistingCheckpointStore } from '../cluster/index.js';
import { operatorConnection } from './cluster-connect.js';
import { CliError, ExitCode } from './exit-codes.js';
import { DEFAULT_SEED, hyperparametersOf, type ModelFlags, type ModelName } from './model-flags.js';
import type { Output } from './output.js';

export interface EvalOptions extends ModelFlags {
  train?: string;
  test: string;
  /** Score this trained version (from its latest checkpoint) instead of training. */
  modelVersion?: string;
  /** Choose the hyperparameters not given as flags on a validation part of the train file. */
  tune?: boolean;
  json?: boolean;
}

/** What `--help` adds below the flags. */
export const EVAL_HELP =
  'Trains in this process on the --train file and predicts every rating of the --test file (each file in any ratings format ' +
  "`reel start --data` reads). Ids are matched by value; a test rating whose user or title is unseen in training is predicted from what " +
  'is known: the title bias (or user bias) plus the global mean, or the global mean alone. Predictions are clamped to the training ratings\' range. ' +
  `--tune searches the flags not given (mf: factors, lr, reg; svdpp: factors, reg, reg-y) and the number of epochs (up to --epochs) on a seeded ${DEFAULT_VALIDATION_FRACTION * 100}% ` +
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

/** What `reel eval` needs of a model: its family (parse, train, predict), tuning grid, default epochs and kernels. */
interface EvalModel<H extends MfHyperparameters, M extends MfModel, S extends SgdStep> {
  family: SgdModelFamily<H, M, S>;
  grid: Grid<H>;
  epochs: number;
  kernels: Record<MfKernelName, Kernel<M, S>>;
  /** Hyperparameters only this model has, as flag names (refused for the others). */
  own: string[];
}

function evalModel<H extends MfHyperparameters, M extends MfModel, S extends SgdStep>(m: EvalModel<H, M, S>): EvalModel<H, M, S> {
  return m;
}

const EVAL_MODELS = {
  mf: evalModel({ family: MF_FAMILY, grid: DEFAULT_MF_TUNE_GRID, epochs: DEFAULT_MF_EPOCHS, kernels: MF_KERNELS, own: [] }),
  svdpp: evalModel({ family: SVDPP_FAMILY, grid: DEFAULT_SVDPP_TUNE_GRID, epochs: DEFAULT_SVDPP_EPOCHS, kernels: SVDPP_KERNELS, own: ['--reg-y'] }),
} satisfies Record<Exclude<ModelName, 'als' | 'bpr' | 'lightgcn' | 'content-gnn'>, unknown>;

/** The tuning grid without the dimensions the flags fixed. */
function gridFor<H extends MfHyperparameters>(grid: Grid<H>, given: H): Grid<H> {
  const out: Grid<H> = {};
  for (const [k, values] of Object.entries(grid) as [keyof H, number[]][]) if (given[k] === undefined) out[k] = values;
  return out;
}

const fmt4 = (x: number) => x.toFixed(4);
const count = (x: number) => x.toLocaleString('en-US');
/** Parsed hyperparameters of either model, as the output reads them (`regY` only for SVD++). */
type Resolved = Required<MfHyperparameters> & { regY?: number };
const resolved = <H extends MfHyperparameters>(h: Required<H>) => h as unknown as Resolved;
const describeHp = (h: Resolved) => `factors ${h.factors}, lr ${h.lr}, reg ${h.regFactor}` + (h.regY === undefined ? '' : `, reg-y ${h.regY}`);

/**
 * `reel eval`: trains a model on one ratings file in this process and scores its rating
 * predictions on another (RMSE, MAE). Progress goes to stderr, the result to stdout.
 */
export async function runEval(opts: EvalOptions, out: Output): Promise<void> {
  if (opts.modelVersion !== undefined) {
    if (opts.model !== undefined || opts.train !== undefined || opts.tune) throw new CliError('--model-version scores a trained version: --model, --train and --tune do not apply', ExitCode.Usage);
    return scoreVersion(opts.modelVersion, opts, out);
  }
  if (opts.model === undefined) throw new CliError("required option '--model <name>' not specified (or --model-version V to score a trained version)", ExitCode.Usage);
  if (opts.model === 'als' || opts.model === 'bpr' || opts.model === 'lightgcn' || opts.model === 'content-gnn') {
    throw new CliError(`reel eval predicts ratings (mf, svdpp); ${opts.model} is a ranking model: npm run bench:quality measures it${opts.model === 'als' ? '' : `, reel train --model ${opts.model} trains it across nodes`}`, ExitCode.Usage);
  }
  if (opts.train === undefined) throw new CliError("required option '--train <file>' not specified", ExitCode.Usage);
  const o = { ...opts, train: opts.train, model: opts.model };
  const given = hyperparametersOf(opts);
  if (opts.model === 'svdpp') return evaluate(EVAL_MODELS.svdpp, given, o, out);
  if (given.regY !== undefined) throw new CliError(`--reg-y applies to --model svdpp only, not ${opts.model}`, ExitCode.Usage);
  return evaluate(EVAL_MODELS.mf, given, o, out);
}

async function evaluate<H extends MfHyperparameters, M extends MfModel, S extends SgdStep>(spec: EvalModel<H, M, S>, given: H, opts: EvalOptions & { train: string; model: ModelName }, out: Output): Promise<void> {
  const seed = opts.seed ?? DEFAULT_SEED;
  const kernelName = opts.kernel ?? DEFAULT_MF_KERNEL;
  const kernel = spec.kernels[kernelName];
  const { family } = spec;
  let hp = family.parse(given);
  const train = await readTable('--train', opts.train);
  // Read against the training indices: an id training never saw gets an index past the model's.
  const test = await readTable('--test', opts.test, train);
  let epochs = opts.epochs ?? spec.epochs;
  out.info(`reel: ${opts.train}: ${count(train.n)} ratings, ${count(train.userCount)} users, ${count(train.itemCount)} titles`);

  let tuning: { validation_fraction: number; validation_rmse: number; trials: number; best_epoch: number } | null = null;
  if (opts.tune) {
    const grid = gridFor(spec.grid, given);
    const trials = Object.values(grid).reduce((n, v) => n * v.length, 1);
    out.info(`reel: tuning on a ${DEFAULT_VALIDATION_FRACTION * 100}% validation part of ${opts.train}: ${trials} configurations, up to ${epochs} epochs each`);
    let lastTrial = -1;
    const r = tuneSgd(family, train, {
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
    for (const [t, trial] of r.trials.entries()) out.info(`trial ${t + 1}/${trials} (${describeHp(resolved(trial.hyperparameters))}): best valid RMSE ${fmt4(trial.validationRmse)} at epoch ${trial.epochs}`);
    out.info(`reel: chose ${describeHp(resolved(r.hyperparameters))}, ${r.epochs} epochs (valid RMSE ${fmt4(r.validationRmse)}); retraining on all of ${opts.train}`);
    hp = r.hyperparameters;
    epochs = r.epochs;
    tuning = { validation_fraction: DEFAULT_VALIDATION_FRACTION, validation_rmse: r.validationRmse, trials: r.trials.length, best_epoch: r.epochs };
  }

  let trainSeconds = 0;
  const model = family.train(train, hp, {
    epochs,
    seed,
    kernel,
    onEpoch: (rep) => {
      trainSeconds += rep.seconds;
      out.info(`epoch ${rep.epoch}/${epochs}: train RMSE ${fmt4(rep.trainRmse)}, lr ${rep.lr.toPrecision(3)}, ${rep.seconds.toFixed(2)} s (${count(Math.round(train.n / rep.seconds))} updates/s)`);
    },
  });
  const predicted = family.predict(model, test, new Float32Array(test.n));
  let unseen = 0;
  for (let j = 0; j < test.n; j++) if (test.users[j]! >= model.users || test.items[j]! >= model.items) unseen++;

  const h = resolved(hp);
  const result = {
    model: opts.model,
    rmse: rmse(predicted, test.ratings),
    mae: mae(predicted, test.ratings),
    seed,
    kernel: kernelName,
    hyperparameters: {
      factors: h.factors, epochs, lr: h.lr, lr_decay: h.lrDecay, reg_factor: h.regFactor, reg_bias: h.regBias,
      reg_user: h.regUser, reg_item: h.regItem, reg_user_bias: h.regUserBias, reg_item_bias: h.regItemBias,
      ...(h.regY === undefined ? {} : { reg_y: h.regY }),
      init_std: h.initStd,
    },
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
    `  ${describeHp(h)}, reg-bias ${h.regBias}, lr-decay ${h.lrDecay}, init-std ${h.initStd}, ${epochs} epochs, seed ${seed}` +
      (tuning ? ` (tuned: valid RMSE ${fmt4(tuning.validation_rmse)})` : ''),
  );
  out.line(`tested on ${opts.test}: ${count(test.n)} ratings, ${count(unseen)} with a user or title unseen in training`);
  out.line(`RMSE ${fmt4(result.rmse)}`);
  out.line(`MAE  ${fmt4(result.mae)}`);
}

/**
 * `reel eval --model-version V --test FILE`: RMSE and MAE on FILE of the version's latest
 * complete checkpoint, read from the cluster (a user or title it never saw predicts from the
 * mean and the other's bias).
 */
async function scoreVersion(version: string, opts: EvalOptions, out: Output): Promise<void> {
  const { nc, settings, close } = await operatorConnection(opts as unknown as Record<string, unknown>);
  try {
    const blobs = await openExistingCheckpointStore(nc, settings.prefix);
    const cp = blobs && (await latestCheckpoint(blobs, version));
    if (!cp) throw new CliError(`model version ${version} has no complete checkpoint in cluster '${settings.prefix}' (see reel models)`, ExitCode.NotFound);
    const model = TrainedModel.fromCheckpoint(cp);
    const predicted: number[] = [];
    const actual: number[] = [];
    let unknown = 0;
    const stat = statSync(opts.test, { throwIfNoEntry: false });
    if (!stat?.isFile()) throw new CliError(`--test ${opts.test}: no such file`, ExitCode.Usage);
    try {
      for await (const r of readRatings(opts.test)) {
        predicted.push(model.predict(r.user, r.item));
        actual.push(r.rating);
        if (model.userRow(r.user) === undefined || model.titleRow(r.item) === undefined) unknown++;
      }
    } catch (err) {
      throw err instanceof DataFormatError ? new CliError(err.message, ExitCode.Usage) : err;
    }
    if (actual.length === 0) throw new CliError(`--test ${opts.test}: the file holds no ratings`, ExitCode.Usage);
    const result = { model_version: version, epoch: cp.manifest.epochsDone, rmse: rmse(predicted, actual), mae: mae(predicted, actual), ratings: actual.length, unknown_user_or_title: unknown };
    if (opts.json) out.json(result);
    else out.line(`${version} (epoch ${result.epoch}) on ${opts.test}: RMSE ${result.rmse.toFixed(4)}, MAE ${result.mae.toFixed(4)} over ${count(result.ratings)} ratings (${count(unknown)} of an unseen user or title)`);
  } finally {
    await close();
  }
}
