import {
  coldRow, DEFAULT_COLD_ALPHA, DEFAULT_COLD_POPULARITY_WEIGHT, DEFAULT_CONTENT_ENCODER_BATCH_SIZE, DEFAULT_CONTENT_ENCODER_LR, DEFAULT_CONTENT_HIDDEN,
  DEFAULT_CONTENT_POPULARITY_LOSS_WEIGHT, encoderGradients, extendedWidth, featureIdsOf, knownFeatureIds, Rng, scaleSums, standardised, targetScaleOf,
  type ContentEncoderModel, type EncoderShape, type FeatureNodes, type ScaleSums, type Tf,
} from '../../models/index.js';
import { decodeValue, encodeValue } from '../../runtime/index.js';
import type { BlobStore } from './stores.js';

/** The content-aware model's settings in a training job (`TrainSpec.content`). */
export interface ContentSpec {
  /** The encoder's hidden units. */
  hidden: number;
  /** The encoder's Adam step size (the parameter server applies it). */
  encoderLr: number;
  /** Warm titles per encoder step, over all workers. */
  encoderBatchSize: number;
  /** Passes over the warm titles. */
  encoderPasses: number;
  /** Weight of the popularity column in the encoder's loss, against 1 for the whole embedding. */
  popularityLossWeight: number;
  /** The encoder's share of a cold title's embedding; the rest is its feature nodes' mean. */
  alpha: number;
  /** Popularity's weight in a cold title's score: its served row's bias (`coldBias`). */
  popularityWeight: number;
  /** Most features the encoder takes (the most common ones): its weights travel in one message. */
  maxFeatures: number;
}

/** The one-process model's choices on ml-100k's cold-start validation split (`bench:quality --part cold`). */
export const DEFAULT_CONTENT_SPEC: ContentSpec = {
  hidden: DEFAULT_CONTENT_HIDDEN,
  encoderLr: DEFAULT_CONTENT_ENCODER_LR,
  encoderBatchSize: DEFAULT_CONTENT_ENCODER_BATCH_SIZE,
  // The one-process model takes 2 passes after each of its epochs; here they come at the end.
  encoderPasses: 40,
  popularityLossWeight: DEFAULT_CONTENT_POPULARITY_LOSS_WEIGHT,
  alpha: DEFAULT_COLD_ALPHA,
  popularityWeight: DEFAULT_COLD_POPULARITY_WEIGHT,
  maxFeatures: 2048,
};

/** What the phase needs from its worker: the owned titles' features and the parameter server. */
export interface ContentHost {
  /** Feature names of each of `keys` (titles this node owns), from their actors' metadata. */
  features(keys: readonly string[]): Promise<string[][]>;
  /** Every worker's `value` under `key`, in the workers' order. */
  gather<T>(key: string, value: T): Promise<T[]>;
  encoderInit(shape: EncoderShape, seed: number, lr: number): Promise<Float32Array>;
  encoderPush(step: number, grads: Float32Array, rows: number): Promise<Float32Array>;
  tf(): Promise<Tf>;
}

/** What a serving node needs to give a title upserted after training its row at once. */
export interface ServedContentModel extends ContentEncoderModel {
  alpha: number;
  popularityWeight: number;
}

/**
 * The bias of a cold title's served row: `popularityWeight` × its predicted log interactions
 * less the warm titles' mean. Among cold titles it ranks as the cold-start protocol measured
 * (a constant shift changes no order); against warm titles, whose rows carry no bias (they
 * are LightGCN's), it weighs nothing on average.
 */
export function coldBias(m: ServedContentModel, predictedPopularity: number): number {
  return m.popularityWeight * (predictedPopularity - m.targetScale.popularityMean);
}

/** The blob a content-aware version's model is kept in, beside its checkpoints. */
export function contentModelBlob(version: string): string {
  return `models/${version}/content-model`;
}

export async function writeContentModel(blobs: BlobStore, version: string, m: ServedContentModel): Promise<void> {
  await blobs.put(contentModelBlob(version), encodeValue(m));
}

export async function readContentModel(blobs: BlobStore, version: string): Promise<ServedContentModel | undefined> {
  const bytes = await blobs.get(contentModelBlob(version));
  return bytes === undefined ? undefined : (decodeValue(bytes) as ServedContentModel);
}

/**
 * The content-aware phase of a job, at its end, once LightGCN's final embeddings are known:
 * every worker reads the features of the titles it owns from their actors, the workers agree
 * on the vocabulary (the `maxFeatures` most common), train the feature encoder data-parallel
 * toward the warm titles' extended rows (embedding, log interactions) through the parameter
 * server, which applies Adam, and sum the feature nodes and the popularity prior. Returns the
 * model and the served row (factors, then bias) of each title this node owns: a warm title's
 * final embedding with no bias, a cold one's from its features (`coldRow`) with `coldBias`.
 */
export async function contentPhase(a: {
  spec: ContentSpec;
  seed: number;
  factors: number;
  /** The catalog, its global degrees, and every title's final embedding (titles × factors). */
  titles: readonly string[];
  degrees: ArrayLike<number>;
  finalTitles: Float32Array;
  /** Catalog indices of the titles this node owns. */
  owned: readonly number[];
  host: ContentHost;
}): Promise<{ model: ServedContentModel; rows: Map<number, Float32Array> }> {
  const { spec, factors: k, host } = a;
  const w = extendedWidth(k);
  const names = await host.features(a.owned.map((i) => a.titles[i]!));

  // The vocabulary: the most common features over every worker's titles, the same on each.
  const counts = new Map<string, number>();
  for (const ns of names) for (const n of ns) counts.set(n, (counts.get(n) ?? 0) + 1);
  const merged = new Map<string, number>();
  for (const part of await host.gather<Array<[string, number]>>('vocab', [...counts])) for (const [n, c] of part) merged.set(n, (merged.get(n) ?? 0) + c);
  const vocab = [...merged].sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0)).slice(0, spec.maxFeatures).map(([n]) => n).sort();
  const idOf = new Map(vocab.map((n, f) => [n, f]));
  const ids = names.map((ns) => [...new Set(ns.map((n) => idOf.get(n)).filter((f): f is number => f !== undefined))].sort((x, y) => x - y));

  const ext = (i: number, out: Float32Array, at: number) => {
    out.set(a.finalTitles.subarray(i * k, (i + 1) * k), at);
    out[at + k] = Math.log1p(a.degrees[i]!);
  };
  const warm = a.owned.flatMap((i, o) => (a.degrees[i]! > 0 && ids[o]!.length > 0 ? [o] : []));
  const rows = new Float32Array(warm.length * w);
  warm.forEach((o, r) => ext(a.owned[o]!, rows, r * w));

  // Target scale: the RMS of the warm rows' embedding entries, the mean and deviation of their popularity.
  const local = scaleSums(rows, Uint32Array.from(warm, (_, r) => r), k);
  const st = (await host.gather('scale', local)).reduce((s, p) => s.map((x, j) => x + p[j]!) as ScaleSums, [0, 0, 0, 0] as ScaleSums);
  const scale = targetScaleOf(st, k);

  // The encoder, step by step: each worker's mean gradient over its slice, Adam at the parameter server.
  const shape: EncoderShape = { features: vocab.length, hidden: spec.hidden, outputs: w };
  let weights = await host.encoderInit(shape, (a.seed ^ 0x2545f491) >>> 0, spec.encoderLr);
  const x = new Float32Array(warm.length * shape.features);
  warm.forEach((o, r) => {
    for (const f of ids[o]!) x[r * shape.features + f] = 1;
  });
  const y = standardised(rows, Uint32Array.from(warm, (_, r) => r), k, scale);
  const columnWeights = new Float32Array(w).fill(1 / k);
  columnWeights[k] = spec.popularityLossWeight;
  const perPass = Math.max(1, Math.ceil(st[3]! / spec.encoderBatchSize));
  const rng = new Rng((a.seed ^ 0x68e31da4) >>> 0);
  const order = Uint32Array.from(warm, (_, r) => r);
  const tf = warm.length > 0 ? await host.tf() : undefined;
  let step = 0;
  for (let pass = 0; pass < spec.encoderPasses; pass++) {
    rng.shuffle(order);
    for (let b = 0; b < perPass; b++) {
      const slice = order.subarray(Math.floor((b * order.length) / perPass), Math.floor(((b + 1) * order.length) / perPass));
      let grads: Float32Array = new Float32Array(weights.length);
      if (slice.length > 0 && tf !== undefined) {
        const bx = new Float32Array(slice.length * shape.features);
        const by = new Float32Array(slice.length * w);
        slice.forEach((r, j) => {
          bx.set(x.subarray(r * shape.features, (r + 1) * shape.features), j * shape.features);
          by.set(y.subarray(r * w, (r + 1) * w), j * w);
        });
        grads = encoderGradients(tf, shape, weights, { rows: slice.length, x: bx, y: by, columnWeights }).grads;
      }
      weights = await host.encoderPush(++step, grads, slice.length);
    }
  }

  // Feature nodes: each feature's degree-normalised mean of the warm rows having it; the prior.
  const sums = new Float32Array(vocab.length * (w + 2));
  warm.forEach((o, r) => {
    const fs = ids[o]!;
    const share = 1 / fs.length;
    for (const f of fs) {
      for (let d = 0; d < w; d++) sums[f * (w + 2) + d] += share * rows[r * w + d]!;
      sums[f * (w + 2) + w] += share;
      sums[f * (w + 2) + w + 1] += 1;
    }
  });
  const prior = new Float32Array(w + 1);
  const one = new Float32Array(w);
  for (const i of a.owned) {
    const deg = a.degrees[i]!;
    if (deg === 0) continue;
    ext(i, one, 0);
    for (let d = 0; d < w; d++) prior[d] += deg * one[d]!;
    prior[w] += deg;
  }
  const total = await sumChunked(host, 'nodes', sums);
  const priorAll = (await host.gather('prior', prior)).reduce((s, p) => s.map((v, j) => v + p[j]!), new Float32Array(w + 1));
  const nodeRows = new Float32Array(vocab.length * w);
  const degree = new Uint32Array(vocab.length);
  for (let f = 0; f < vocab.length; f++) {
    const mass = total[f * (w + 2) + w]!;
    degree[f] = Math.round(total[f * (w + 2) + w + 1]!);
    if (mass > 0) for (let d = 0; d < w; d++) nodeRows[f * w + d] = total[f * (w + 2) + d]! / mass;
  }
  const nodes: FeatureNodes = { count: vocab.length, width: w, rows: nodeRows, degree };
  const model: ServedContentModel = {
    factors: k, featureNames: vocab, encoder: shape, encoderWeights: weights, targetScale: scale, nodes,
    prior: Float32Array.from({ length: w }, (_, d) => priorAll[d]! / Math.max(1, priorAll[w]!)),
    alpha: spec.alpha, popularityWeight: spec.popularityWeight,
  };

  const out = new Map<number, Float32Array>();
  const known = featureIdsOf(model);
  a.owned.forEach((i, o) => {
    const e = new Float32Array(w);
    if (a.degrees[i]! > 0) ext(i, e, 0);
    else coldRow(model, knownFeatureIds(model, names[o]!, known), spec.alpha, a.titles[i]!, e);
    e[k] = a.degrees[i]! > 0 ? 0 : coldBias(model, e[k]!);
    out.set(i, e);
  });
  return { model, rows: out };
}

/** The element-wise sum over every worker of `values`, gathered in chunks small enough for one message each. */
async function sumChunked(host: ContentHost, key: string, values: Float32Array): Promise<Float32Array> {
  const CHUNK = 32_768;
  const out = new Float32Array(values.length);
  for (let at = 0, c = 0; at < values.length || (c === 0 && at === 0); at += CHUNK, c++) {
    const parts = await host.gather(`${key}/${c}`, values.slice(at, at + CHUNK));
    for (const p of parts) for (let j = 0; j < p.length; j++) out[at + j] += p[j]!;
    if (values.length === 0) break;
  }
  return out;
}
