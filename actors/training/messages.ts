import type { TrainSpec } from './spec.js';

/** Message types of the coordinator actor (`Kind.TrainJob`, keyed by version). */
export const JobMsg = {
  Start: 'start',
  Join: 'join',
  Ready: 'ready',
  Poll: 'poll',
  Done: 'done',
  Checkpointed: 'checkpointed',
  Reconfigure: 'reconfigure',
  Fail: 'fail',
  Status: 'status',
  Cancel: 'cancel',
} as const;

/** Message types of the parameter-server actor (`Kind.TrainPs`, keyed by version). */
export const PsMsg = {
  Contribute: 'contribute',
  Get: 'get',
  /** A worker's value under a key, answered with every worker's (in the workers' order) once all are in; sent again to poll. */
  Gather: 'gather',
  /** The feature encoder's weights for an attempt, made once from a seed. */
  EncoderInit: 'encoder.init',
  /** A worker's encoder gradients of one step; once every worker's are in, one Adam step; sent again to poll for the weights. */
  EncoderPush: 'encoder.push',
} as const;

/** Node-addressed message types of training (one message per node, never one per key). */
export const NodeMsg = {
  /** Starts this node's worker for a version (idempotent). */
  StartWorker: 'train.start',
  /** Title rows, by key, for a version. */
  Pull: 'params.pull',
  /** Deltas to add to title rows, once per (attempt, worker, clock). */
  Push: 'params.push',
  /** The title keys of a version on this node (a BPR worker's catalog). */
  Titles: 'params.titles',
  /** Makes a version the one serving reads, on this node. */
  Activate: 'params.activate',
  /** LightGCN: a worker's share of a layer's title rows, summed over every worker by the titles' owner. */
  GraphReduce: 'graph.reduce',
} as const;

export type JobState = 'running' | 'done' | 'failed' | 'cancelled';

/** The error a cancelled job's version is FAILED with (the registry has no CANCELLED state): how a reader tells one from a failure. */
export const CANCELLED_ERROR = 'cancelled by an operator';

export interface StartBody {
  spec: TrainSpec;
  /** The nodes that run workers at first. */
  workers: string[];
}

export interface JoinBody {
  node: string;
}

/** What a worker runs under: `stop` when the job has ended or the node is not one of its workers. */
export interface JoinAnswer {
  stop: boolean;
  attempt: number;
  workers: string[];
  /** The first epoch this attempt trains (epochs before it are checkpointed). */
  startEpoch: number;
  /** Prefix of the checkpoint to restore, when `startEpoch` > 0. */
  checkpoint?: string;
  spec: TrainSpec;
}

export interface ReadyBody {
  node: string;
  attempt: number;
  shards: number[];
  /** Ratings the worker trains on (for updates/s), and the identity-hash sum of its data (for the fingerprint). */
  ratings: number;
  dataHash: number;
  /** The global mean the parameter server settled for this attempt. */
  mean: number;
}

export interface PollBody {
  node: string;
  attempt: number;
  /** The clock the worker wants to start; -1 to wait for the start barrier only. */
  clock: number;
}

export interface PollAnswer {
  attempt: number;
  state: JobState;
  /** The worker may start `clock`. */
  open: boolean;
  /** The slowest worker's last finished clock. */
  minDone: number;
  epochsDone: number;
}

/** One worker's clock: what it computed and where its time went (seconds). */
export interface ClockStats {
  /** MF: the sum of squared errors; BPR: the sum of −ln σ(x) over the triples. */
  loss: number;
  n: number;
  /** MF: the held-out squared errors; BPR: held-out positives ranked above their sampled negative. */
  validationSum: number;
  validationN: number;
  compute: number;
  encode: number;
  nats: number;
  wait: number;
}

export interface DoneBody {
  node: string;
  attempt: number;
  clock: number;
  stats: ClockStats;
}

export interface CheckpointedBody {
  node: string;
  attempt: number;
  epoch: number;
  shards: number[];
  /** False: the rows are copied (the next epoch may start); true: the parts are written. */
  written: boolean;
  /** Time the node spent writing its parts (counted as NATS time in the epoch's shares). */
  seconds: number;
}

export interface ReconfigureBody {
  node: string;
  attempt: number;
  workers: string[];
  reason: string;
}

/** One finished epoch, as `reel train` shows it and the manifest records it. */
export interface EpochSummary {
  epoch: number;
  /** `train_rmse` (MF) or `bpr_loss` (BPR, the mean −ln σ per triple). */
  lossName: string;
  loss: number;
  /** `validation_rmse` (MF) or `validation_auc` (BPR); null without a held-out part. */
  validationName: string;
  validation: number | null;
  updatesPerS: number;
  seconds: number;
  /** Share of the workers' time per part: compute, encode, NATS, barrier waits. */
  share: { compute: number; encode: number; nats: number; wait: number };
}

export interface JobStatus {
  version: string;
  state: JobState;
  attempt: number;
  workers: string[];
  epochsDone: number;
  epochs: number;
  history: EpochSummary[];
  error?: string;
  /** Attempts after the first, with why each began. */
  restarts: string[];
}

export interface ContributeBody {
  node: string;
  attempt: number;
  sum: number;
  count: number;
}

export interface GetGlobalBody {
  attempt: number;
  workers: number;
}

export interface PullBody {
  version: string;
  attempt: number;
  keys: string[];
}

export interface PushBody {
  version: string;
  attempt: number;
  worker: string;
  clock: number;
  /**
   * The pieces the rows come in, in order: `[piece id, rows]`. A clock's rows are cut into
   * pieces once (by title shard, and within a shard by size), and pieces are packed into
   * messages under NATS's max payload; a piece this node applied already is skipped, so a
   * resend repacked with others applies each piece once. Absent: one piece of every row, id 0.
   */
  pieces?: Array<[number, number]>;
  keys: string[];
  /** `keys.length × (factors + 1)` deltas, added to the rows. */
  deltas: Float32Array;
}

/**
 * One worker's share of a sum over the titles of one owning node (a chunk of them, under the
 * max payload): LightGCN's exchange between shards. The owner answers every worker once each
 * of the attempt's `workers` has sent its share of `step`, with the sums (or, for `adam`, the
 * base rows after the update).
 */
export interface GraphReduceBody {
  version: string;
  attempt: number;
  worker: string;
  /** Workers of the attempt: the shares the owner waits for. */
  workers: number;
  /** Which sum, unique within the attempt (batch × phases + phase). */
  step: number;
  /** Which chunk of the owner's titles (the same cut on every worker). */
  chunk: number;
  keys: string[];
  /** Floats per title. */
  width: number;
  /** `keys.length × width`: this worker's share. */
  rows: Float32Array;
  /** The sums add into the backward accumulator of this batch (the layers of the gradient). */
  accumulate?: number;
  /** The last backward layer: the owner finishes the gradient of its titles' base rows and takes an Adam step. */
  adam?: GraphAdamStep;
}

export interface GraphAdamStep {
  batch: number;
  /** Adam's step count in this attempt (its moments start again with each attempt). */
  t: number;
  lr: number;
  /** L2 weight on a base row per occurrence in the batch, and 1 / the batch's triples. */
  reg: number;
  scale: number;
  /** Layers L: the gradient is the mean of the L + 1 accumulated layers. */
  layers: number;
  /** This worker's occurrences of each title in its triples of the batch (for the L2 term). */
  counts: Float32Array;
}

export interface GraphReduceAnswer {
  rows: Float32Array;
  /** Seconds this worker's share waited at the owner for the others' (the barrier). */
  waited: number;
}

export interface GatherBody {
  attempt: number;
  node: string;
  key: string;
  workers: number;
  value: unknown;
}

export interface EncoderInitBody {
  attempt: number;
  /** Weights: features × hidden + hidden + hidden × outputs + outputs. */
  shape: { features: number; hidden: number; outputs: number };
  seed: number;
  lr: number;
}

export interface EncoderPushBody {
  attempt: number;
  node: string;
  workers: number;
  /** Steps count from 1. */
  step: number;
  /** The mean gradient over this worker's `rows` titles (zeros and 0 rows for a worker with none this step). */
  grads: Float32Array;
  rows: number;
}
