import { InvalidArgumentError, type Command } from 'commander';
import {
  DEFAULT_ADAGRAD_STEP, DEFAULT_CLOCKS_PER_EPOCH, DEFAULT_CONTENT_SPEC, DEFAULT_LIGHTGCN_BATCH, DEFAULT_LIGHTGCN_LAYERS, DEFAULT_KEEP_CHECKPOINTS, DEFAULT_VALIDATION_FRACTION, DEFAULT_WORKER_TIMEOUT_MS, followTrainingJob, JOB_VERSION_PATTERN, parseConsistency, trainSpecFrom,
  TITLE_UPDATES, type Consistency, type EpochSummary, type JobStatus, type TitleUpdate, type TrainSpec,
} from '../actors/training/index.js';
import { jobWorkers, openModelRegistry, startJob } from '../cluster/index.js';
import type { BprNegatives } from '../models/index.js';
import { InvalidArgument, Unavailable } from '../runtime/index.js';
import { integerIn, nonNegativeNumber, positiveNumber, seconds } from './args.js';
import { operatorClient } from './cluster-connect.js';
import { CliError, ExitCode } from './exit-codes.js';
import { hyperparametersOf, type ModelFlags } from './model-flags.js';
import type { Output } from './output.js';

export interface TrainFlags extends ModelFlags {
  workers?: number;
  consistency: Consistency;
  clocksPerEpoch: number;
  validationFraction: number;
  modelVersion?: string;
  workerTimeout: number;
  keepCheckpoints: number;
  timeout: number;
  negatives?: BprNegatives;
  popularityExponent?: number;
  titleUpdate: TitleUpdate;
  adagradStep: number;
  layers?: number;
  batchSize?: number;
  encoderPasses?: number;
  json?: boolean;
  [flag: string]: unknown;
}

function consistency(v: string): Consistency {
  try {
    return parseConsistency(v);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

function titleUpdateOf(v: string): TitleUpdate {
  if (!(TITLE_UPDATES as readonly string[]).includes(v)) throw new InvalidArgumentError(`expected ${TITLE_UPDATES.map((u) => `'${u}'`).join(' or ')}.`);
  return v as TitleUpdate;
}

function negativesOf(v: string): BprNegatives {
  if (v !== 'uniform' && v !== 'popularity') throw new InvalidArgumentError("expected 'uniform' or 'popularity'.");
  return v;
}

function fraction(v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < 0 || n >= 1) throw new InvalidArgumentError('expected a number in [0, 1).');
  return n;
}

function versionId(v: string): string {
  if (!JOB_VERSION_PATTERN.test(v)) throw new InvalidArgumentError('expected 1–64 characters of A–Z, a–z, 0–9, _ and -.');
  return v;
}

/** Adds `reel train`'s own flags (the model flags come from `withModelOptions`). */
export function withTrainOptions(cmd: Command): Command {
  return cmd
    .option('--workers <w>', 'nodes that train (one worker each): waits until exactly this many nodes own shards (default: every node)', integerIn(1, 1024))
    .option('--consistency <c>', 'bsp (a barrier per clock) or ssp:S (a worker runs at most S clocks ahead of the slowest)', consistency, { kind: 'bsp' } as Consistency)
    .option('--clocks-per-epoch <c>', 'pull, train a slice, push: this many times per epoch', integerIn(1, 10_000), DEFAULT_CLOCKS_PER_EPOCH)
    .option('--validation-fraction <f>', 'share of ratings held out (by a hash of user and title) for the validation RMSE', fraction, DEFAULT_VALIDATION_FRACTION)
    .option('--model-version <id>', 'id of the model version to write (default: <model>-<date>-<time>-<random>)', versionId)
    .option('--worker-timeout <seconds>', 'a worker silent this long is taken for dead; the job resumes from its checkpoint without it', seconds, DEFAULT_WORKER_TIMEOUT_MS / 1000)
    .option('--keep-checkpoints <n>', 'checkpoints kept per version', integerIn(1, 1000), DEFAULT_KEEP_CHECKPOINTS)
    .option('--negatives <how>', 'bpr: negatives drawn uniform or by popularity (∝ count^--popularity-exponent) (default: uniform)', negativesOf)
    .option('--popularity-exponent <b>', 'bpr: exponent of popularity-aware negatives (default: 0.75)', nonNegativeNumber)
    .option('--title-update <rule>', 'how title shards apply the deltas workers push: sgd (as they come) or adagrad (scaled per coordinate by --adagrad-step / √(Σ delta²))', titleUpdateOf, 'sgd' as TitleUpdate)
    .option('--adagrad-step <a>', 'adagrad: how far a title coordinate moves on its first push', positiveNumber, DEFAULT_ADAGRAD_STEP)
    .option('--layers <l>', `lightgcn, content-gnn: propagation layers, one exchange between shards each (default: ${DEFAULT_LIGHTGCN_LAYERS})`, integerIn(0, 8))
    .option('--batch-size <n>', `lightgcn, content-gnn: triples per mini-batch over all workers, one propagation each (default: ${DEFAULT_LIGHTGCN_BATCH})`, integerIn(1, 1 << 24))
    .option('--encoder-passes <n>', `content-gnn: passes of the feature encoder over the titles with interactions, at the job's end (default: ${DEFAULT_CONTENT_SPEC.encoderPasses})`, integerIn(1, 10_000))
    .option('--timeout <seconds>', 'how long to wait for the workers to own their shards before training', seconds, 60)
    .option('--json', 'print the result as JSON');
}

/** The job the flags describe. */
export function trainSpecOf(f: TrainFlags): TrainSpec {
  if (f.model === undefined) throw new CliError("reel train: required option '--model <name>' not specified", ExitCode.Usage);
  for (const [flag, given] of [['--layers', f.layers], ['--batch-size', f.batchSize]] as const) {
    if (given !== undefined && f.model !== 'lightgcn' && f.model !== 'content-gnn') throw new CliError(`reel train: ${flag} applies to --model lightgcn and content-gnn only, not ${f.model}`, ExitCode.Usage);
  }
  if (f.encoderPasses !== undefined && f.model !== 'content-gnn') throw new CliError(`reel train: --encoder-passes applies to --model content-gnn only, not ${f.model}`, ExitCode.Usage);
  try {
    return trainSpecFrom({
      model: f.model,
      ...hyperparametersOf(f),
      ...(f.modelVersion !== undefined ? { version: f.modelVersion } : {}),
      ...(f.epochs !== undefined ? { epochs: f.epochs } : {}),
      ...(f.negatives !== undefined ? { negatives: f.negatives } : {}),
      ...(f.popularityExponent !== undefined ? { popularityExponent: f.popularityExponent } : {}),
      ...(f.seed !== undefined ? { seed: f.seed } : {}),
      clocksPerEpoch: f.clocksPerEpoch,
      consistency: f.consistency,
      validationFraction: f.validationFraction,
      workerTimeoutMs: Math.round(f.workerTimeout * 1000),
      keepCheckpoints: f.keepCheckpoints,
      kernel: f.kernel ?? 'wasm',
      titleUpdate: f.titleUpdate,
      adagradStep: f.adagradStep,
      ...(f.layers !== undefined ? { layers: f.layers } : {}),
      ...(f.batchSize !== undefined ? { batchSize: f.batchSize } : {}),
      ...(f.encoderPasses !== undefined ? { content: { encoderPasses: f.encoderPasses } } : {}),
    });
  } catch (err) {
    if (err instanceof InvalidArgument) throw new CliError(`reel train: ${err.message}`, ExitCode.Usage);
    throw err;
  }
}

/** A metric's name as people read it: `train_rmse` → `train RMSE`, `validation_auc` → `validation AUC`. */
function metricName(name: string): string {
  return name.replace(/_(rmse|auc)$/, (_, m: string) => ` ${m.toUpperCase()}`).replace(/_/g, ' ');
}

/** One epoch as a progress line. */
export function epochLine(e: EpochSummary, epochs: number): string {
  const pct = (x: number) => `${Math.round(x * 100)}%`;
  const v = e.validation === null ? '' : `, ${metricName(e.validationName)} ${e.validation.toFixed(4)}`;
  return (
    `epoch ${e.epoch + 1}/${epochs}: ${metricName(e.lossName)} ${e.loss.toFixed(4)}${v}, ${(e.updatesPerS / 1e6).toFixed(2)} M updates/s, ${e.seconds.toFixed(2)} s ` +
    `(compute ${pct(e.share.compute)}, encode ${pct(e.share.encode)}, NATS ${pct(e.share.nats)}, barrier waits ${pct(e.share.wait)})`
  );
}

/**
 * `reel train`: trains a model version across the cluster's nodes, one worker per node, and
 * follows it epoch by epoch. The job runs in the cluster: Ctrl-C here stops following, not
 * training; `reel models` shows where it stands.
 */
export async function runTrain(flags: TrainFlags, out: Output): Promise<number> {
  const spec = trainSpecOf(flags);
  const { client, settings, nc, close } = await operatorClient(flags);
  try {
    // Every shard needs an owner, and (with --workers) exactly that many owners.
    const workers = await jobWorkers(client, { ...(flags.workers !== undefined ? { workers: flags.workers } : {}), timeoutMs: flags.timeout * 1000 }).catch((err: unknown) => {
      throw err instanceof Unavailable ? new CliError(`reel train${flags.workers !== undefined ? ` --workers ${flags.workers}` : ''}: ${err.message}`) : err;
    });
    const registry = await openModelRegistry(nc, settings.prefix);
    if (await registry.get(spec.version)) throw new CliError(`model version ${spec.version} exists already (see reel models)`, ExitCode.Usage);
    out.info(`reel: training ${spec.model} version ${spec.version} on ${workers.length} worker${workers.length === 1 ? '' : 's'} (${workers.join(', ')}): ${spec.factors} factors, ${spec.epochs} epochs, ${spec.consistency.kind === 'bsp' ? 'bsp' : `ssp:${spec.consistency.staleness}`}`);
    let silentShown = false;
    await startJob(client, registry, spec, workers).catch((err: unknown) => {
      if (err instanceof InvalidArgument) throw new CliError(err.message, ExitCode.Usage);
      throw err instanceof Unavailable ? new CliError(err.message) : err;
    });
    const status: JobStatus = await followTrainingJob(client.system, spec.version, {
      onEpoch: (e) => out.info(epochLine(e, spec.epochs)),
      onRestart: (why) => out.info(`reel: ${why}; resuming from the last checkpoint`),
      onSilent: (err) => {
        if (silentShown) return;
        silentShown = true;
        out.info(`reel: the job's coordinator is slow to answer (${err.message}); still following (Ctrl-C stops following, not the job)`);
      },
    }).catch((err: unknown) => {
      if (err instanceof InvalidArgument) throw new CliError(err.message, ExitCode.Usage);
      throw err;
    });
    const last = status.history.at(-1);
    if (flags.json) out.json({ ...status, spec });
    else if (status.state === 'done') {
      const v = last?.validation != null ? `, ${metricName(last.validationName)} ${last.validation.toFixed(4)}` : '';
      out.line(`${spec.version}: ${spec.epochs} epochs, ${last ? `${metricName(last.lossName)} ${last.loss.toFixed(4)}` : ''}${v}; READY (reel models activate ${spec.version})`);
    }
    if (status.state === 'failed') throw new CliError(`training ${spec.version} failed: ${status.error ?? 'unknown error'}`);
    return ExitCode.Ok;
  } finally {
    await close();
  }
}
