import { ModelArgumentError } from './errors.js';
import { parseLightGcnHyperparameters, type LightGcnHyperparameters } from './lightgcn.js';

/**
 * How the content-aware model trains (`content-gnn.ts`): LightGCN's settings for the graph,
 * and the feature encoder's. How a cold title's embedding is mixed and scored is not training
 * and lives in `ColdMix`, so that one trained model can be tried with several mixes.
 */
export interface ContentGnnHyperparameters {
  /** The graph model's settings (LightGCN's own defaults where absent). */
  graph?: LightGcnHyperparameters;
  /** The encoder's hidden units (relu). @default 64 */
  hidden?: number;
  /** The encoder's Adam step size. @default 0.003 */
  encoderLr?: number;
  /** Warm titles per encoder gradient step. @default 128 */
  encoderBatchSize?: number;
  /** Passes over the warm titles in each encoder round. @default 2 */
  encoderPasses?: number;
  /** An encoder round after every this many graph epochs (and after the last). @default 1 */
  encodeEveryEpochs?: number;
  /**
   * Weight of the popularity column (standardised log interactions) in the encoder's loss,
   * against 1 for the whole (standardised) embedding. @default 1
   */
  popularityLossWeight?: number;
}

export const DEFAULT_CONTENT_HIDDEN = 64;
export const DEFAULT_CONTENT_ENCODER_LR = 0.003;
export const DEFAULT_CONTENT_ENCODER_BATCH_SIZE = 128;
export const DEFAULT_CONTENT_ENCODER_PASSES = 2;
export const DEFAULT_CONTENT_ENCODE_EVERY_EPOCHS = 1;
export const DEFAULT_CONTENT_POPULARITY_LOSS_WEIGHT = 1;

export type ParsedContentGnnHyperparameters = Required<Omit<ContentGnnHyperparameters, 'graph'>> & { graph: Required<LightGcnHyperparameters> };

export function defaultContentGnnHyperparameters(): ParsedContentGnnHyperparameters {
  return {
    graph: parseLightGcnHyperparameters(),
    hidden: DEFAULT_CONTENT_HIDDEN,
    encoderLr: DEFAULT_CONTENT_ENCODER_LR,
    encoderBatchSize: DEFAULT_CONTENT_ENCODER_BATCH_SIZE,
    encoderPasses: DEFAULT_CONTENT_ENCODER_PASSES,
    encodeEveryEpochs: DEFAULT_CONTENT_ENCODE_EVERY_EPOCHS,
    popularityLossWeight: DEFAULT_CONTENT_POPULARITY_LOSS_WEIGHT,
  };
}

/** `hp` over the defaults; throws `ModelArgumentError` naming every bad field. */
export function parseContentGnnHyperparameters(hp: ContentGnnHyperparameters = {}): ParsedContentGnnHyperparameters {
  const h = { ...defaultContentGnnHyperparameters(), ...hp, graph: parseLightGcnHyperparameters(hp.graph) };
  const bad: string[] = [];
  for (const k of ['hidden', 'encoderBatchSize', 'encoderPasses', 'encodeEveryEpochs'] as const) if (!(Number.isInteger(h[k]) && h[k] >= 1)) bad.push(k);
  if (!(Number.isFinite(h.encoderLr) && h.encoderLr > 0)) bad.push('encoderLr');
  if (!(Number.isFinite(h.popularityLossWeight) && h.popularityLossWeight >= 0)) bad.push('popularityLossWeight');
  if (bad.length > 0) throw new ModelArgumentError(`bad content-model hyperparameters: ${bad.join(', ')} (whole numbers ≥ 1 for sizes and counts, encoderLr > 0, popularityLossWeight ≥ 0)`, bad);
  return h;
}

/**
 * How a cold title's embedding is mixed and scored. The defaults are within 0.01 recall@20 of
 * the best on ml-100k's validation cold split (α 1, −1), keeping the feature nodes a share;
 * other data should tune them, as `bench:quality --part cold` does.
 */
export interface ColdMix {
  /** The encoder's share of a cold title's embedding; the rest is its feature nodes' mean. @default 0.75 */
  alpha?: number;
  /**
   * Weight of the popularity column (log interactions) in a score, beside user row · title
   * row. Negative by default: the dot product already favours a cold title whose features
   * popular titles share, more than its audience bears out. @default -1
   */
  popularityWeight?: number;
}

export const DEFAULT_COLD_ALPHA = 0.75;
export const DEFAULT_COLD_POPULARITY_WEIGHT = -1;

export function parseColdMix(mix: ColdMix = {}): Required<ColdMix> {
  const m = { alpha: DEFAULT_COLD_ALPHA, popularityWeight: DEFAULT_COLD_POPULARITY_WEIGHT, ...mix };
  const bad: string[] = [];
  if (!(m.alpha >= 0 && m.alpha <= 1)) bad.push('alpha');
  if (!Number.isFinite(m.popularityWeight)) bad.push('popularityWeight');
  if (bad.length > 0) throw new ModelArgumentError(`bad cold mix: ${bad.join(', ')} (alpha in [0, 1], popularityWeight finite)`, bad);
  return m;
}
