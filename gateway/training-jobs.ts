import { createHash } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import {
  CANCELLED_ERROR, cancelTrainingJob, checkTrainSpec, DISTRIBUTED_MODELS, JOB_VERSION_PATTERN, MAX_EPOCHS, trainingJobStatus, trainSpecFrom,
  type JobStatus, type ModelManifest, type ModelRegistry, type TrainRequest, type TrainSpec,
} from '../actors/training/index.js';
import { jobWorkers, startJob, type ClusterClient } from '../cluster/index.js';
import { InvalidArgument } from '../runtime/index.js';
import type { CancelTrainingJobRequest__Output } from '../protos/generated/reel/v1/CancelTrainingJobRequest.js';
import type { CancelTrainingJobResponse } from '../protos/generated/reel/v1/CancelTrainingJobResponse.js';
import type { GetTrainingJobRequest__Output } from '../protos/generated/reel/v1/GetTrainingJobRequest.js';
import type { GetTrainingJobResponse } from '../protos/generated/reel/v1/GetTrainingJobResponse.js';
import type { ListTrainingJobsRequest__Output } from '../protos/generated/reel/v1/ListTrainingJobsRequest.js';
import type { ListTrainingJobsResponse } from '../protos/generated/reel/v1/ListTrainingJobsResponse.js';
import type { StartTrainingJobRequest__Output } from '../protos/generated/reel/v1/StartTrainingJobRequest.js';
import type { StartTrainingJobResponse } from '../protos/generated/reel/v1/StartTrainingJobResponse.js';
import type { TrainingJob } from '../protos/generated/reel/v1/TrainingJob.js';
import type { TrainingSpec__Output } from '../protos/generated/reel/v1/TrainingSpec.js';
import type { WatchTrainingJobRequest__Output } from '../protos/generated/reel/v1/WatchTrainingJobRequest.js';
import { askDeadlineMs } from './deadline.js';
import { ApiError } from './errors.js';
import { MODEL_TYPES, newestFirst } from './model-versions.js';
import { timestamp } from './timestamps.js';
import { pageOf } from './page-token.js';
import type { StreamCall } from './server.js';
import { RequestCheck } from './validate.js';

/** The models that train across nodes, by their ModelType. */
const TRAINABLE: Record<string, string> = Object.fromEntries(DISTRIBUTED_MODELS.map((m) => [MODEL_TYPES[m]!, m]));

/** `TrainingSpec.hyperparameters` keys (as `reel train`'s flags, snake_case) and where each goes. */
const HYPERPARAMETERS: Record<string, keyof TrainRequest> = {
  factors: 'factors', lr: 'lr', lr_decay: 'lrDecay', reg: 'regFactor', reg_bias: 'regBias', init_std: 'initStd', seed: 'seed',
  clocks_per_epoch: 'clocksPerEpoch', validation_fraction: 'validationFraction', popularity_exponent: 'popularityExponent', adagrad_step: 'adagradStep',
};

/** How long StartTrainingJob waits for every shard to have an owner, at most. */
const WORKERS_WAIT_MS = 10_000;
/** Between a watch's status polls. */
const WATCH_POLL_MS = 250;

/**
 * The version a request trains: `request_id` names it (a retry with the same id finds the job
 * the first call started), as itself when it is a valid version id, else by its hash.
 */
export function versionOfRequest(requestId: string): string | undefined {
  if (requestId === '') return undefined;
  return JOB_VERSION_PATTERN.test(requestId) ? requestId : `job-${createHash('sha256').update(requestId).digest('hex').slice(0, 20)}`;
}

/** The TrainSpec of a request, every violation named by its proto path. */
export function specOfRequest(spec: TrainingSpec__Output | null, version: string | undefined): { spec: TrainSpec; workers: number | undefined } {
  const c = new RequestCheck();
  if (spec === null) {
    c.add('spec', 'MISSING_FIELD', 'is required');
    c.done();
  }
  const s = spec!;
  const type = c.enumValue('spec.model_type', s.modelType as string | number, 'MODEL_TYPE_UNSPECIFIED');
  const model = TRAINABLE[type];
  const trainable = Object.keys(TRAINABLE).join(', ');
  if (type === 'MODEL_TYPE_UNSPECIFIED') c.add('spec.model_type', 'MISSING_FIELD', `is required (${trainable})`);
  else if (model === undefined && typeof s.modelType === 'string') c.add('spec.model_type', 'VALUE_OUT_OF_RANGE', `${type} does not train across nodes yet (${trainable} do)`);
  c.range('spec.epochs', s.epochs, 0, MAX_EPOCHS);
  c.range('spec.workers', s.workers, 0, 1024);
  const sync = c.enumValue('spec.sync_mode', s.syncMode as string | number, 'SYNC_MODE_UNSPECIFIED');
  if (sync === 'SYNC_MODE_BOUNDED_STALENESS') c.range('spec.staleness', s.staleness, 1, 1_000);
  const r: TrainRequest = { model: model ?? 'mf' };
  const w = r as unknown as Record<string, number>;
  for (const [key, v] of Object.entries(s.hyperparameters)) {
    const to = HYPERPARAMETERS[key];
    if (to === undefined) c.add(`spec.hyperparameters["${key}"]`, 'VALUE_OUT_OF_RANGE', `is not a hyperparameter of a training job (known: ${Object.keys(HYPERPARAMETERS).join(', ')})`);
    else w[to] = v;
  }
  c.done();
  if (s.epochs > 0) r.epochs = s.epochs;
  if (version !== undefined) r.version = version;
  r.consistency = sync === 'SYNC_MODE_BOUNDED_STALENESS' ? { kind: 'ssp', staleness: s.staleness } : { kind: 'bsp' };
  // Ranges the job itself checks (factors, rates, fractions), refused by their proto paths.
  try {
    return { spec: checkTrainSpec(trainSpecFrom(r)), workers: s.workers > 0 ? s.workers : undefined };
  } catch (err) {
    if (!(err instanceof InvalidArgument)) throw err;
    const pathOf = (f: string) => {
      const key = Object.entries(HYPERPARAMETERS).find(([, to]) => to === f)?.[0];
      return key !== undefined ? `spec.hyperparameters["${key}"]` : f === 'epochs' ? 'spec.epochs' : f === 'consistency' ? 'spec.staleness' : `spec.${f}`;
    };
    throw ApiError.invalid('VALUE_OUT_OF_RANGE', (err.fields.length > 0 ? err.fields : ['spec']).map((f) => ({ field: pathOf(f), description: err.message })));
  }
}

/** A job as AdminService gives it: from its manifest, and from its coordinator's status when there is one. */
export function jobOf(m: ModelManifest, st?: JobStatus): TrainingJob {
  const hp = m.hyperparameters;
  const numeric = Object.fromEntries(Object.entries(hp).filter(([, v]) => typeof v === 'number')) as Record<string, number>;
  const consistency = String(hp.consistency ?? 'bsp');
  const state: TrainingJob['state'] = st
    ? ({ running: 'TRAINING_JOB_STATE_RUNNING', done: 'TRAINING_JOB_STATE_SUCCEEDED', failed: 'TRAINING_JOB_STATE_FAILED', cancelled: 'TRAINING_JOB_STATE_CANCELLED' } as const)[st.state]
    : m.state === 'TRAINING' ? 'TRAINING_JOB_STATE_RUNNING'
    : m.state === 'FAILED' ? (m.error === CANCELLED_ERROR ? 'TRAINING_JOB_STATE_CANCELLED' : 'TRAINING_JOB_STATE_FAILED')
    : 'TRAINING_JOB_STATE_SUCCEEDED';
  const last = st?.history.at(-1);
  const error = st?.error ?? m.error;
  return {
    jobId: m.id,
    spec: {
      modelType: MODEL_TYPES[m.model] ?? 'MODEL_TYPE_UNSPECIFIED',
      hyperparameters: { factors: m.factors, seed: m.seed, ...numeric },
      epochs: m.epochs,
      workers: typeof hp.workers === 'number' ? hp.workers : 0,
      syncMode: consistency === 'bsp' ? 'SYNC_MODE_BSP' : 'SYNC_MODE_BOUNDED_STALENESS',
      staleness: consistency.startsWith('ssp:') ? Number(consistency.slice(4)) : 0,
    },
    state,
    progress: { epoch: st?.epochsDone ?? m.epochsDone, totalEpochs: m.epochs, updatesPerSecond: last?.updatesPerS ?? m.metrics.updates_per_s ?? 0 },
    metrics: m.metrics,
    modelVersion: state === 'TRAINING_JOB_STATE_SUCCEEDED' ? m.id : '',
    ...(state === 'TRAINING_JOB_STATE_FAILED' && error !== undefined ? { error: { code: 13, message: error, details: [] } } : {}),
    createTime: timestamp(m.createdAtMs),
  };
}

/**
 * AdminService's training jobs. A job is named by the version it trains (`job_id` =
 * `model_version`); its coordinator keeps its status, the registry its manifest.
 */
export function trainingJobHandlers(registry: () => Promise<ModelRegistry | undefined>, createRegistry: () => Promise<ModelRegistry>, client: ClusterClient) {
  const statusOf = async (id: string): Promise<JobStatus | undefined> => {
    try {
      return await trainingJobStatus(client.system, id, 5_000);
    } catch {
      // No coordinator record (a version registered by other means) or none reachable now: the manifest answers.
      return undefined;
    }
  };
  const job = async (id: string): Promise<TrainingJob> => {
    const m = await (await registry())?.get(id);
    if (m === undefined) throw ApiError.notFound('TRAINING_JOB_NOT_FOUND', `training job ${id} does not exist`, { job_id: id });
    return jobOf(m, await statusOf(id));
  };
  return {
    StartTrainingJob: async (req: StartTrainingJobRequest__Output, call: StreamCall): Promise<StartTrainingJobResponse> => {
      const version = versionOfRequest(req.requestId);
      const { spec, workers } = specOfRequest(req.spec, version);
      if (req.validateOnly) return { trainingJob: { ...jobOf({ id: '', model: spec.model, factors: spec.factors, hyperparameters: {}, seed: spec.seed, dataFingerprint: '', metrics: {}, state: 'TRAINING', createdAtMs: Date.now(), updatedAtMs: Date.now(), epochsDone: 0, epochs: spec.epochs }), state: 'TRAINING_JOB_STATE_UNSPECIFIED' } };
      const reg = await createRegistry();
      // A retry of a request that started its job: that job.
      if (version !== undefined && (await reg.get(version)) !== undefined) return { trainingJob: await job(version) };
      const nodes = await jobWorkers(client, { ...(workers !== undefined ? { workers } : {}), timeoutMs: askDeadlineMs(call, WORKERS_WAIT_MS) });
      await startJob(client, reg, spec, nodes);
      return { trainingJob: await job(spec.version) };
    },
    GetTrainingJob: async (req: GetTrainingJobRequest__Output): Promise<GetTrainingJobResponse> => {
      const c = new RequestCheck();
      const id = c.id('job_id', req.jobId);
      c.done();
      return { trainingJob: await job(id) };
    },
    ListTrainingJobs: async (req: ListTrainingJobsRequest__Output): Promise<ListTrainingJobsResponse> => {
      const c = new RequestCheck();
      const size = c.pageSize('page_size', req.pageSize);
      const want = c.enumValue('state', req.state as string | number, 'TRAINING_JOB_STATE_UNSPECIFIED');
      c.done();
      // From the manifests alone (one coordinator ask per job would not scale with the list).
      const all = ((await (await registry())?.list()) ?? []).sort(newestFirst).map((m) => jobOf(m)).filter((j) => want === 'TRAINING_JOB_STATE_UNSPECIFIED' || j.state === want);
      const page = pageOf(all, { ...req }, size, 'training-jobs');
      return { trainingJobs: page.items, nextPageToken: page.nextPageToken };
    },
    CancelTrainingJob: async (req: CancelTrainingJobRequest__Output): Promise<CancelTrainingJobResponse> => {
      const c = new RequestCheck();
      const id = c.id('job_id', req.jobId);
      c.done();
      const before = await job(id);
      if (before.state !== 'TRAINING_JOB_STATE_RUNNING') {
        throw new ApiError(status.FAILED_PRECONDITION, 'JOB_ALREADY_FINISHED', `training job ${id} has ended (${before.state}): there is nothing to cancel`, [], { job_id: id });
      }
      await cancelTrainingJob(client.system, id);
      return { trainingJob: await job(id) };
    },
    WatchTrainingJob: async (req: WatchTrainingJobRequest__Output, call: StreamCall): Promise<void> => {
      const c = new RequestCheck();
      const id = c.id('job_id', req.jobId);
      c.done();
      let last = '';
      for (;;) {
        const j = await job(id);
        const seen = JSON.stringify([j.state, j.progress?.epoch, j.error?.message]);
        if (seen !== last) {
          last = seen;
          call.write({ trainingJob: j });
        }
        if (j.state !== 'TRAINING_JOB_STATE_RUNNING' || call.cancelled) return;
        await new Promise((r) => setTimeout(r, WATCH_POLL_MS));
      }
    },
  };
}
