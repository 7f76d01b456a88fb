import { NonFiniteEmbedding } from './errors.js';
import { encodeReference, type EncoderShape } from './feature-encoder.js';
import { meanOfFeatureNodes, type FeatureNodes } from './feature-nodes.js';

/** How encoder outputs map to a row: embedding columns × `embeddingScale`; popularity = `popularityMean` + `popularityStd` × output. */
export interface TargetScale {
  readonly embeddingScale: number;
  readonly popularityMean: number;
  readonly popularityStd: number;
}

/**
 * What the content-aware model needs to give a title it never saw a row: the encoder, the
 * feature nodes over the warm titles' extended rows (the embedding, then log interactions),
 * and the prior of a title with no known feature. Small and free of any tensor library, so
 * that a serving node embeds a title upserted after training at once.
 */
export interface ContentEncoderModel {
  readonly factors: number;
  /** The features the model knows, by id: encoder inputs and feature nodes. */
  readonly featureNames: readonly string[];
  readonly encoder: EncoderShape;
  readonly encoderWeights: Float32Array;
  readonly targetScale: TargetScale;
  readonly nodes: FeatureNodes;
  /** The extended row of a title with neither interactions nor a known feature: the interaction-weighted mean of the warm ones. */
  readonly prior: Float32Array;
}

/** Floats per extended row of a model with `factors` factors: the embedding, then log interactions. */
export const extendedWidth = (factors: number): number => factors + 1;

/** Ids of the model's features among `names` that some warm title has (the others carry nothing learned). */
export function knownFeatureIds(m: ContentEncoderModel, names: Iterable<string>, idOf: ReadonlyMap<string, number> = featureIdsOf(m)): number[] {
  const ids: number[] = [];
  for (const name of names) {
    const id = idOf.get(name);
    if (id !== undefined && m.nodes.degree[id]! > 0 && !ids.includes(id)) ids.push(id);
  }
  return ids;
}

export function featureIdsOf(m: ContentEncoderModel): Map<string, number> {
  return new Map(m.featureNames.map((name, f) => [name, f]));
}

/**
 * The extended row of a title without interactions, into `out` (`extendedWidth` floats): α ·
 * the encoder's output for its known features `ids` + (1 − α) · the mean of those features'
 * nodes; the prior when it has no known feature. Throws `NonFiniteEmbedding` naming `title`
 * when a value is not finite: no such row is ever written.
 */
export function coldRow(m: ContentEncoderModel, ids: readonly number[], alpha: number, title: string, out: Float32Array): Float32Array {
  const k = m.factors;
  const w = extendedWidth(k);
  const fromNodes = new Float32Array(w);
  if (ids.length > 0 && meanOfFeatureNodes(m.nodes, ids, fromNodes)) {
    const x = new Float32Array(m.encoder.features);
    for (const f of ids) x[f] = 1;
    const e = encodeReference(m.encoder, m.encoderWeights, x, 1);
    const s = m.targetScale;
    for (let d = 0; d < k; d++) out[d] = alpha * e[d]! * s.embeddingScale + (1 - alpha) * fromNodes[d]!;
    out[k] = alpha * (s.popularityMean + s.popularityStd * e[k]!) + (1 - alpha) * fromNodes[k]!;
  } else out.set(m.prior.subarray(0, w));
  for (let d = 0; d < w; d++) if (!Number.isFinite(out[d]!)) throw new NonFiniteEmbedding(title);
  return out;
}

/** The sums a target scale is made of, over warm extended rows: Σ embedding², Σ popularity, Σ popularity², rows. */
export type ScaleSums = [number, number, number, number];

/** `ScaleSums` of rows `rows` (indices into `ext`, extended rows of `factors`), added into `into`. */
export function scaleSums(ext: Float32Array, rows: ArrayLike<number>, factors: number, into: ScaleSums = [0, 0, 0, 0]): ScaleSums {
  const w = extendedWidth(factors);
  for (let x = 0; x < rows.length; x++) {
    const at = rows[x]! * w;
    for (let d = 0; d < factors; d++) into[0] += ext[at + d]! ** 2;
    into[1] += ext[at + factors]!;
    into[2] += ext[at + factors]! ** 2;
    into[3]++;
  }
  return into;
}

/** The RMS of the warm rows' embedding entries, and the mean and deviation of their popularity. */
export function targetScaleOf(sums: ScaleSums, factors: number): TargetScale {
  const n = Math.max(1, sums[3]);
  const mean = sums[1] / n;
  const std = Math.sqrt(Math.max(0, sums[2] / n - mean * mean));
  // Degenerate data (one title, all equally popular) must not turn into a division by zero.
  return { embeddingScale: Math.sqrt(sums[0] / (n * factors)) || 1, popularityMean: mean, popularityStd: std || 1 };
}

/** Rows `rows` of `ext` as encoder targets (rows × width): embeddings / scale, popularity standardised. */
export function standardised(ext: Float32Array, rows: ArrayLike<number>, factors: number, s: TargetScale): Float32Array {
  const w = extendedWidth(factors);
  const y = new Float32Array(rows.length * w);
  for (let r = 0; r < rows.length; r++) {
    const at = rows[r]! * w;
    for (let d = 0; d < factors; d++) y[r * w + d] = ext[at + d]! / s.embeddingScale;
    y[r * w + factors] = (ext[at + factors]! - s.popularityMean) / s.popularityStd;
  }
  return y;
}
