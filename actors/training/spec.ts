import { InvalidArgument } from '../../runtime/index.js';
import type { ContentSpec } from './content-phase.js';

/**
 * Models `reel train` trains across nodes: biased MF on ratings (SGD), BPR-MF on every
 * interaction, LightGCN (BPR loss, Adam) by message passing between shards, and the
 * content-aware graph model (LightGCN, then a feature encoder for titles without interactions).
 */
export const DISTRIBUTED_MODELS = ['mf', 'bpr', 'lightgcn', 'content-gnn'] as const;
export type DistributedModel = (typeof DISTRIBUTED_MODELS)[number];

/** How workers keep in step: a barrier per clock, or at most `staleness` clocks ahead of the slowest. */
export type Consistency = { kind: 'bsp' } | { kind: 'ssp'; staleness: number };

/** What a training job runs: written once by `reel train`, read by the coordinator and every worker. */
export interface TrainSpec {
  /** The model version this job writes (its id). */
  version: string;
  model: DistributedModel;
  factors: number;
  epochs: number;
  /** Learning rate of the first epoch, multiplied by `lrDecay` after each. */
  lr: number;
  lrDecay: number;
  /** L2 regularisation of factors and of biases. */
  regFactor: number;
  regBias: number;
  initStd: number;
  seed: number;
  /** Clocks (pull, train a slice, push) per epoch. */
  clocksPerEpoch: number;
  consistency: Consistency;
  /** Share of ratings held out (by a hash of user and title) for the validation RMSE; 0 for none. */
  validationFraction: number;
  /** A worker silent this long (ms) is taken for dead: the job resumes from its checkpoint without it. */
  workerTimeoutMs: number;
  /** Checkpoints kept per version (older ones are deleted). */
  keepCheckpoints: number;
  /** `wasm` (WebAssembly SIMD) or `ts` (the reference). */
  kernel: 'wasm' | 'ts';
  /** BPR: how negatives are drawn, uniformly or ∝ popularity^`popularityExponent`. */
  negatives: 'uniform' | 'popularity';
  popularityExponent: number;
  /**
   * How a title shard applies the deltas workers push: as they come (`sgd`, the default), or
   * scaled per coordinate by AdaGrad, `adagradStep / √(Σ delta²)` over the deltas it applied
   * to that coordinate in this attempt (a new attempt starts the sums again).
   */
  titleUpdate?: TitleUpdate;
  /** AdaGrad's step: how far a title coordinate moves on its first push. @default 0.03 */
  adagradStep?: number;
  /** LightGCN: propagation layers (one exchange between shards each). @default 3 */
  layers?: number;
  /** LightGCN: triples per mini-batch over all workers (each a share ∝ its interactions). @default 2048 */
  batchSize?: number;
  /** content-gnn: the feature encoder and how a cold title's row is made. */
  content?: ContentSpec;
}

/** Models trained by LightGCN's exchanges between shards. */
export function isGraphModel(model: DistributedModel): boolean {
  return model === 'lightgcn' || model === 'content-gnn';
}

export const DEFAULT_LIGHTGCN_LAYERS = 3;
export const DEFAULT_LIGHTGCN_BATCH = 2048;

export const TITLE_UPDATES = ['sgd', 'adagrad'] as const;
export type TitleUpdate = (typeof TITLE_UPDATES)[number];
export const DEFAULT_ADAGRAD_STEP = 0.03;

export const DEFAULT_CLOCKS_PER_EPOCH = 4;
export const DEFAULT_WORKER_TIMEOUT_MS = 15_000;
export const DEFAULT_VALIDATION_FRACTION = 0.02;
export const DEFAULT_KEEP_CHECKPOINTS = 2;

/** Ids of versions a training job writes: 1–64 characters of A–Z, a–z, 0–9, _ and -. */
export const JOB_VERSION_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
/** Most epochs a job may ask for: far past any useful run, low enough to catch a typo. */
export const MAX_EPOCHS = 100_000;

/** Checks a spec's fields, naming every bad one. */
export function checkTrainSpec(s: TrainSpec): TrainSpec {
  const bad: string[] = [];
  const posInt = (k: keyof TrainSpec) => {
    const v = s[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) bad.push(k);
  };
  const pos = (k: keyof TrainSpec, allowZero = false) => {
    const v = s[k];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || (!allowZero && v === 0)) bad.push(k);
  };
  if (typeof s.version !== 'string' || !JOB_VERSION_PATTERN.test(s.version)) bad.push('version');
  if (!(DISTRIBUTED_MODELS as readonly string[]).includes(s.model)) bad.push('model');
  posInt('factors');
  posInt('epochs');
  posInt('clocksPerEpoch');
  posInt('workerTimeoutMs');
  posInt('keepCheckpoints');
  pos('lr');
  pos('lrDecay');
  pos('regFactor', true);
  pos('regBias', true);
  pos('initStd', true);
  if (!Number.isInteger(s.seed)) bad.push('seed');
  if (typeof s.validationFraction !== 'number' || !(s.validationFraction >= 0 && s.validationFraction < 1)) bad.push('validationFraction');
  const c = s.consistency;
  if (!c || (c.kind !== 'bsp' && !(c.kind === 'ssp' && Number.isInteger(c.staleness) && c.staleness >= 0))) bad.push('consistency');
  if (s.kernel !== 'wasm' && s.kernel !== 'ts') bad.push('kernel');
  if (s.negatives !== 'uniform' && s.negatives !== 'popularity') bad.push('negatives');
  pos('popularityExponent', true);
  if (s.titleUpdate !== undefined && !(TITLE_UPDATES as readonly string[]).includes(s.titleUpdate)) bad.push('titleUpdate');
  if (s.adagradStep !== undefined) pos('adagradStep');
  if (s.layers !== undefined && !(Number.isInteger(s.layers) && s.layers >= 0 && s.layers <= 8)) bad.push('layers');
  if (s.batchSize !== undefined) posInt('batchSize');
  if (s.content !== undefined) {
    const c = s.content;
    const whole = (v: number) => Number.isInteger(v) && v >= 1;
    if (!(whole(c.hidden) && whole(c.encoderBatchSize) && whole(c.encoderPasses) && whole(c.maxFeatures) && c.encoderLr > 0 && c.popularityLossWeight >= 0 && c.alpha >= 0 && c.alpha <= 1 && Number.isFinite(c.popularityWeight))) bad.push('content');
  }
  if (bad.length > 0) throw new InvalidArgument(`invalid training job: ${bad.join(', ')}`, { fields: bad });
  return s;
}

/** Clocks a worker may run ahead of the slowest worker. */
export function stalenessOf(c: Consistency): number {
  return c.kind === 'bsp' ? 0 : c.staleness;
}

/** Parses `bsp` or `ssp:S`. */
export function parseConsistency(text: string): Consistency {
  if (text === 'bsp') return { kind: 'bsp' };
  const m = /^ssp:(\d{1,4})$/.exec(text);
  if (m) return { kind: 'ssp', staleness: Number(m[1]) };
  throw new InvalidArgument(`consistency '${text}' is not bsp or ssp:S (S a whole number of clocks)`, { fields: ['consistency'] });
}
