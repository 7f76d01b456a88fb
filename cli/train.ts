import { randomBytes } from 'node:crypto';
import { InvalidArgumentError, type Command } from 'commander';
import {
  DEFAULT_ADAGRAD_STEP, DEFAULT_CLOCKS_PER_EPOCH, DEFAULT_KEEP_CHECKPOINTS, DEFAULT_VALIDATION_FRACTION, DEFAULT_WORKER_TIMEOUT_MS, DISTRIBUTED_MODELS, NodeMsg, parseConsistency, runTrainingJob,
  TITLE_UPDATES, type Consistency, type EpochSummary, type JobStatus, type TitleUpdate, type TrainSpec,
} from '../actors/training/index.js';
import { openModelRegistry } from '../cluster/index.js';
import { DEFAULT_BPR_EPOCHS, DEFAULT_MF_EPOCHS, defaultBprHyperparameters, defaultMfHyperparameters, type BprNegatives } from '../models/index.js';
import { InvalidArgument } from '../runtime/index.js';
import { integerIn, nonNegativeNumber, positiveNumber, seconds } from './args.js';
import { operatorClient } from './cluster-connect.js';
import { CliError, ExitCode } from './exit-codes.js';
import { DEFAULT_SEED, hyperparametersOf, type ModelFlags } from './model-flags.js';
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
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(v)) throw new InvalidArgumentError('expected 1–64 characters of A–Z, a–z, 0–9, _ and -.');
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
    .option('--timeout <seconds>', 'how long to wait for the workers to own their shards before training', seconds, 60)
    .option('--json', 'print the result as JSON');
}

function newVersionId(model: string): string {
  const d = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${model}-${d}-${randomBytes(2).toString('hex')}`;
}

/** The job the flags describe. */
export function trainSpecOf(f: TrainFlags): TrainSpec {
  if (f.model === undefined) throw new CliError("reel train: required option '--model <name>' not specified", ExitCode.Usage);
  if (!(DISTRIBUTED_MODELS as readonly string[]).includes(f.model)) {
    throw new CliError(`reel train: model '${f.model}' does not train across nodes yet (distributed: ${DISTRIBUTED_MODELS.join(', ')}); reel eval trains it in one process`, ExitCode.Usage);
  }
  const given = hyperparametersOf(f);
  const bpr = defaultBprHyperparameters();
  // Each model's own defaults; a flag given wins.
  const hp =
    f.model === 'bpr'
      ? { factors: bpr.factors, lr: bpr.lr, lrDecay: bpr.lrDecay, regFactor: bpr.reg, regBias: bpr.regBias, initStd: bpr.initStd, ...given }
      : { ...defaultMfHyperparameters(), ...given };
  return {
    version: f.modelVersion ?? newVersionId(f.model),
    model: f.model as TrainSpec['model'],
    factors: hp.factors,
    epochs: f.epochs ?? (f.model === 'bpr' ? DEFAULT_BPR_EPOCHS : DEFAULT_MF_EPOCHS),
    lr: hp.lr,
    lrDecay: hp.lrDecay,
    regFactor: hp.regFactor,
    regBias: hp.regBias,
    initStd: hp.initStd,
    negatives: f.negatives ?? bpr.negatives,
    popularityExponent: f.popularityExponent ?? bpr.popularityExponent,
    seed: f.seed ?? DEFAULT_SEED,
    clocksPerEpoch: f.clocksPerEpoch,
    consistency: f.consistency,
    validationFraction: f.validationFraction,
    workerTimeoutMs: Math.round(f.workerTimeout * 1000),
    keepCheckpoints: f.keepCheckpoints,
    kernel: f.kernel ?? 'wasm',
    ...(f.titleUpdate === 'adagrad' ? { titleUpdate: 'adagrad' as const, adagradStep: f.adagradStep } : {}),
  };
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
    const S = client.system.options.shardCount;
    // Every shard needs an owner, and (with --workers) exactly that many owners.
    const t0 = performance.now();
    let owners: string[] = [];
    for (;;) {
      await client.view.refresh();
      owners = client.owners();
      const nodes = new Set(owners.filter((o) => o !== ''));
      const allOwned = owners.filter((o) => o !== '').length === S;
      if (allOwned && (flags.workers === undefined || nodes.size === flags.workers)) break;
      if (performance.now() - t0 > flags.timeout * 1000) {
        throw new CliError(
          flags.workers !== undefined && allOwned
            ? `reel train --workers ${flags.workers}: ${nodes.size} nodes own shards after ${flags.timeout} s (start or drain nodes, or leave --workers out)`
            : `reel train: ${owners.filter((o) => o === '').length} of ${S} shards have no owner after ${flags.timeout} s (see reel status)`,
        );
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    const workers = [...new Set(owners)].sort();
    const registry = await openModelRegistry(nc, settings.prefix);
    if (await registry.get(spec.version)) throw new CliError(`model version ${spec.version} exists already (see reel models)`, ExitCode.Usage);
    out.info(`reel: training ${spec.model} version ${spec.version} on ${workers.length} worker${workers.length === 1 ? '' : 's'} (${workers.join(', ')}): ${spec.factors} factors, ${spec.epochs} epochs, ${spec.consistency.kind === 'bsp' ? 'bsp' : `ssp:${spec.consistency.staleness}`}`);
    let silentShown = false;
    const status: JobStatus = await runTrainingJob(client.system, registry, spec, {
      workers,
      startWorkers: async (version) => {
        const g = await client.scatter.gather(NodeMsg.StartWorker, { version }, { deadlineMs: 10_000 });
        if (g.missingShards.length > 0) throw new CliError(`could not start a worker for ${g.missingShards.length} shards (their nodes did not answer); the job's coordinator waits for them (see reel models)`);
      },
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
