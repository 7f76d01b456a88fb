import { isRetryable, type ActorSystem } from '../../runtime/index.js';
import { Kind } from '../kinds.js';
import { JobMsg, type EpochSummary, type JobStatus } from './messages.js';
import { checkTrainSpec, DEFAULT_ADAGRAD_STEP, DEFAULT_LIGHTGCN_BATCH, DEFAULT_LIGHTGCN_LAYERS, type TrainSpec } from './spec.js';
import type { ModelManifest, ModelRegistry } from './stores.js';

export interface RunJobOptions {
  /** The nodes whose workers train (every node of the cluster). */
  workers: string[];
  /** Starts each worker (a scatter-gather of `train.start` in a cluster). */
  startWorkers: (version: string) => Promise<void>;
  /** Called once per finished epoch, in order. */
  onEpoch?: (e: EpochSummary, status: JobStatus) => void;
  /** Called when the job begins a new attempt (a worker died or shards moved). */
  onRestart?: (reason: string, status: JobStatus) => void;
  /** Between status polls, ms. @default 200 */
  pollMs?: number;
  /** Stops waiting (not the job) when aborted. */
  signal?: AbortSignal;
  /** Gives up following (not the job) when the coordinator has not answered for this long, ms. @default 120000 */
  silentMs?: number;
  /** Called when a status poll got no answer (the coordinator's node is busy or its shard moving); polling goes on. */
  onSilent?: (err: Error) => void;
}

/** An error after which asking again may succeed: the shard moved, the deadline passed, the actor was busy. */
export function isTransient(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (isRetryable(code) || code === 'DeadlineExceeded' || code === 'Overloaded');
}

/**
 * Runs a training job from outside it (the `reel train` command, `reel start`): registers the
 * version as TRAINING, starts the coordinator and the workers, then follows the coordinator's
 * status until the job ends. The job itself runs in the cluster: if this caller goes away,
 * it goes on.
 */
export async function runTrainingJob(system: ActorSystem, registry: ModelRegistry, spec: TrainSpec, opts: RunJobOptions): Promise<JobStatus> {
  await beginTrainingJob(system, registry, spec, opts);
  return followTrainingJob(system, spec.version, opts);
}

/** Registers the version as TRAINING, starts the job's coordinator and its workers; returns at once (the job runs in the cluster). */
export async function beginTrainingJob(system: ActorSystem, registry: ModelRegistry, spec: TrainSpec, opts: Pick<RunJobOptions, 'workers' | 'startWorkers'>): Promise<void> {
  checkTrainSpec(spec);
  const now = Date.now();
  const manifest: ModelManifest = {
    id: spec.version,
    model: spec.model,
    factors: spec.factors,
    hyperparameters: {
      lr: spec.lr,
      lrDecay: spec.lrDecay,
      regFactor: spec.regFactor,
      regBias: spec.regBias,
      initStd: spec.initStd,
      clocksPerEpoch: spec.clocksPerEpoch,
      consistency: spec.consistency.kind === 'bsp' ? 'bsp' : `ssp:${spec.consistency.staleness}`,
      validationFraction: spec.validationFraction,
      kernel: spec.kernel,
      workers: opts.workers.length,
      titleUpdate: spec.titleUpdate ?? 'sgd',
      ...(spec.titleUpdate === 'adagrad' ? { adagradStep: spec.adagradStep ?? DEFAULT_ADAGRAD_STEP } : {}),
      ...(spec.model !== 'mf' ? { negatives: spec.negatives, ...(spec.negatives === 'popularity' ? { popularityExponent: spec.popularityExponent } : {}) } : {}),
      ...(spec.model === 'lightgcn' || spec.model === 'content-gnn' ? { layers: spec.layers ?? DEFAULT_LIGHTGCN_LAYERS, batchSize: spec.batchSize ?? DEFAULT_LIGHTGCN_BATCH, optimizer: 'adam' } : {}),
      ...(spec.content !== undefined ? Object.fromEntries(Object.entries(spec.content).map(([key, v]) => [`content.${key}`, v])) : {}),
    },
    seed: spec.seed,
    dataFingerprint: '',
    metrics: {},
    state: 'TRAINING',
    createdAtMs: now,
    updatedAtMs: now,
    epochsDone: 0,
    epochs: spec.epochs,
  };
  await registry.create(manifest);
  await system.ask(Kind.TrainJob, spec.version, JobMsg.Start, { spec, workers: opts.workers }, { deadlineMs: 10_000 });
  await opts.startWorkers(spec.version);
}

/** The status of job `version` from its coordinator (which keeps it after the job ends); InvalidArgument when no job of that version was started. */
export function trainingJobStatus(system: ActorSystem, version: string, deadlineMs = 10_000): Promise<JobStatus> {
  return system.ask<JobStatus>(Kind.TrainJob, version, JobMsg.Status, undefined, { deadlineMs });
}

/** Cancels job `version` if it runs (its workers stop at their next poll); answers its status. */
export function cancelTrainingJob(system: ActorSystem, version: string, deadlineMs = 10_000): Promise<JobStatus> {
  return system.ask<JobStatus>(Kind.TrainJob, version, JobMsg.Cancel, undefined, { deadlineMs });
}

/** Follows job `version`'s status until it ends (or `signal` aborts), reporting epochs and restarts as they come. */
export async function followTrainingJob(system: ActorSystem, version: string, opts: Omit<RunJobOptions, 'workers' | 'startWorkers'>): Promise<JobStatus> {
  let shown = 0;
  let restarts = 0;
  let answered = performance.now();
  for (;;) {
    let st: JobStatus;
    try {
      st = await trainingJobStatus(system, version);
      answered = performance.now();
    } catch (err) {
      if (!isTransient(err) || opts.signal?.aborted) throw err;
      const silentMs = opts.silentMs ?? 120_000;
      if (performance.now() - answered > silentMs) {
        throw new Error(`the job's coordinator has not answered for ${Math.round(silentMs / 1000)} s (${(err as Error).message}); the job may go on in the cluster: see reel models`);
      }
      opts.onSilent?.(err as Error);
      await new Promise((r) => setTimeout(r, opts.pollMs ?? 200));
      continue;
    }
    while (shown < st.history.length) opts.onEpoch?.(st.history[shown++]!, st);
    while (restarts < st.restarts.length) opts.onRestart?.(st.restarts[restarts++]!, st);
    if (st.state !== 'running' || opts.signal?.aborted) return st;
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 200));
  }
}
