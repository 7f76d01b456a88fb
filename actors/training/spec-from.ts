import { randomBytes } from 'node:crypto';
import { DEFAULT_BPR_EPOCHS, DEFAULT_MF_EPOCHS, defaultBprHyperparameters, defaultMfHyperparameters, parseLightGcnHyperparameters, type BprNegatives } from '../../models/index.js';
import { InvalidArgument } from '../../runtime/index.js';
import { DEFAULT_CONTENT_SPEC, type ContentSpec } from './content-phase.js';
import {
  DEFAULT_CLOCKS_PER_EPOCH, DEFAULT_KEEP_CHECKPOINTS, DEFAULT_VALIDATION_FRACTION, DEFAULT_WORKER_TIMEOUT_MS, DISTRIBUTED_MODELS,
  type Consistency, type TitleUpdate, type TrainSpec,
} from './spec.js';

/** The seed of a job that names none. */
export const DEFAULT_TRAIN_SEED = 1;

/** What a caller asks of a training job (`reel train`'s flags, AdminService's TrainingSpec); the rest takes each model's defaults. */
export interface TrainRequest {
  model: string;
  version?: string;
  factors?: number;
  epochs?: number;
  lr?: number;
  lrDecay?: number;
  regFactor?: number;
  regBias?: number;
  initStd?: number;
  seed?: number;
  negatives?: BprNegatives;
  popularityExponent?: number;
  clocksPerEpoch?: number;
  consistency?: Consistency;
  validationFraction?: number;
  workerTimeoutMs?: number;
  keepCheckpoints?: number;
  kernel?: TrainSpec['kernel'];
  titleUpdate?: TitleUpdate;
  adagradStep?: number;
  /** LightGCN: propagation layers and triples per mini-batch. */
  layers?: number;
  batchSize?: number;
  /** content-gnn: the encoder's settings over `DEFAULT_CONTENT_SPEC`. */
  content?: Partial<ContentSpec>;
}

/** LightGCN's epochs when a job names none: enough for ml-100k's validation NDCG to level off. */
export const DEFAULT_LIGHTGCN_EPOCHS = 100;

/** A new version id: `<model>-<yyyymmdd>-<hhmmss>-<random>`. */
export function newVersionId(model: string, now = new Date()): string {
  const d = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${model}-${d}-${randomBytes(2).toString('hex')}`;
}

/**
 * The job a request describes, each model's defaults under what it gives. Throws
 * InvalidArgument (field `model`) for a model that does not train across nodes; the spec's
 * own checks (`checkTrainSpec`) run when the job starts.
 */
export function trainSpecFrom(r: TrainRequest): TrainSpec {
  if (!(DISTRIBUTED_MODELS as readonly string[]).includes(r.model)) {
    throw new InvalidArgument(`model '${r.model}' does not train across nodes yet (distributed: ${DISTRIBUTED_MODELS.join(', ')}); reel eval trains it in one process`, { fields: ['model'] });
  }
  const given = Object.fromEntries(Object.entries({ factors: r.factors, lr: r.lr, lrDecay: r.lrDecay, regFactor: r.regFactor, regBias: r.regBias, initStd: r.initStd }).filter(([, v]) => v !== undefined));
  const bpr = defaultBprHyperparameters();
  const gcn = parseLightGcnHyperparameters();
  const hp =
    r.model === 'bpr'
      ? { factors: bpr.factors, lr: bpr.lr, lrDecay: bpr.lrDecay, regFactor: bpr.reg, regBias: bpr.regBias, initStd: bpr.initStd, ...given }
      : r.model === 'lightgcn' || r.model === 'content-gnn'
        ? { factors: gcn.factors, lr: gcn.lr, lrDecay: 1, regFactor: gcn.reg, regBias: 0, initStd: gcn.initStd, ...given }
        : { ...defaultMfHyperparameters(), ...given };
  return {
    version: r.version ?? newVersionId(r.model),
    model: r.model as TrainSpec['model'],
    factors: hp.factors,
    epochs: r.epochs ?? (r.model === 'bpr' ? DEFAULT_BPR_EPOCHS : r.model === 'lightgcn' || r.model === 'content-gnn' ? DEFAULT_LIGHTGCN_EPOCHS : DEFAULT_MF_EPOCHS),
    lr: hp.lr,
    lrDecay: hp.lrDecay,
    regFactor: hp.regFactor,
    regBias: hp.regBias,
    initStd: hp.initStd,
    negatives: r.negatives ?? bpr.negatives,
    popularityExponent: r.popularityExponent ?? bpr.popularityExponent,
    seed: r.seed ?? DEFAULT_TRAIN_SEED,
    clocksPerEpoch: r.clocksPerEpoch ?? DEFAULT_CLOCKS_PER_EPOCH,
    consistency: r.consistency ?? { kind: 'bsp' },
    validationFraction: r.validationFraction ?? DEFAULT_VALIDATION_FRACTION,
    workerTimeoutMs: r.workerTimeoutMs ?? DEFAULT_WORKER_TIMEOUT_MS,
    keepCheckpoints: r.keepCheckpoints ?? DEFAULT_KEEP_CHECKPOINTS,
    kernel: r.kernel ?? 'wasm',
    ...(r.titleUpdate === 'adagrad' ? { titleUpdate: 'adagrad' as const, adagradStep: r.adagradStep } : {}),
    ...(r.model === 'lightgcn' || r.model === 'content-gnn' ? { layers: r.layers ?? gcn.layers, batchSize: r.batchSize ?? gcn.batchSize } : {}),
    ...(r.model === 'content-gnn' ? { content: { ...DEFAULT_CONTENT_SPEC, ...r.content } } : {}),
  };
}
