import { Adam, type AdamState } from './adam.js';
import type { ColdScorer } from './cold-start.js';
import { parseColdMix, parseContentGnnHyperparameters, type ColdMix, type ContentGnnHyperparameters } from './content-gnn-options.js';
import { coldRow, extendedWidth, featureIdsOf, knownFeatureIds, scaleSums, standardised, targetScaleOf, type ContentEncoderModel, type TargetScale } from './content-rows.js';
import { NonFiniteEmbedding } from './errors.js';
import { encoderGradients, encoderWeightCount, initEncoderWeights, type EncoderShape } from './feature-encoder.js';
import { featureNodes } from './feature-nodes.js';
import type { IdIndex } from './id-index.js';
import { trainLightGcn, type LightGcnModel } from './lightgcn.js';
import { countsOf, type RatingsTable } from './ratings.js';
import { Rng, identityOrder } from './rng.js';
import { loadTf, type Tf } from './tf.js';
import type { TitleFeatures } from './title-features.js';

/**
 * The content-aware graph model for cold start. LightGCN learns users and warm titles from
 * interactions; a feature encoder (`feature-encoder.ts`) learns, alongside it, to reproduce
 * each warm title's row from the title's features; and feature nodes (`feature-nodes.ts`)
 * carry the warm titles' rows to their features. A title's row is extended by one column, its
 * log interactions: a second target that helps the encoder, and a term of the score that
 * corrects how much the dot product alone rewards a cold title for features that popular
 * titles have (on ml-100k's validation split, it over-rewards them: the weight chosen is
 * negative).
 */
export interface ContentGnnModel extends ContentEncoderModel {
  /** The graph model; `final` holds users, then warm titles. */
  readonly graph: LightGcnModel;
  readonly userIds: IdIndex;
  readonly itemIds: IdIndex;
  /** The encoder's optimiser state, to resume training. */
  readonly encoderAdam: AdamState;
  /** Each warm title's log(1 + interactions): the last column of its extended row. */
  readonly popularity: Float32Array;
}

/** After an encoder round: the epoch, both losses and the model so far (its arrays live: copy to keep). */
export interface ContentGnnRound {
  readonly epoch: number;
  /** LightGCN's mean BPR loss in this epoch. */
  readonly graphLoss: number;
  /** The encoder's mean loss over this round's batches. */
  readonly encoderLoss: number;
  readonly model: ContentGnnModel;
}

export interface ContentGnnTrainOptions {
  /** Graph epochs. */
  epochs: number;
  seed: number;
  /** The tfjs to train the encoder with. @default `loadTf()`'s */
  tf?: Tf;
  /** After every encoder round; false stops training there. */
  onRound?: (round: ContentGnnRound) => boolean | void;
  /** LightGCN's propagation kernel. @default 'wasm' */
  kernel?: 'wasm' | 'ts';
}

/**
 * Trains LightGCN on `table` and, after every `encodeEveryEpochs` epochs (and the last), the
 * encoder toward the warm titles' current extended rows, warm-started from the last round and
 * its Adam state, so that the encoder follows the graph model as it learns. Titles of `table`
 * without features do not train the encoder; they still count in the popularity prior.
 */
export async function trainContentGnn(table: RatingsTable, features: TitleFeatures, hp: ContentGnnHyperparameters, opts: ContentGnnTrainOptions): Promise<ContentGnnModel> {
  const h = parseContentGnnHyperparameters(hp);
  const tf = opts.tf ?? (await loadTf()).tf;
  const k = h.graph.factors;
  const byItem = Array.from({ length: table.itemCount }, (_, i) => features.byTitle.get(table.itemIds.idOf(i)));
  const warm = Uint32Array.from(byItem.flatMap((ids, i) => (ids !== undefined && ids.length > 0 ? [i] : [])));
  const shape: EncoderShape = { features: features.names.length, hidden: h.hidden, outputs: extendedWidth(k) };
  const weights = initEncoderWeights(shape, (opts.seed ^ 0x2545f491) >>> 0);
  const adam = new Adam(encoderWeightCount(shape), { lr: h.encoderLr });
  const rng = new Rng((opts.seed ^ 0x68e31da4) >>> 0);
  const popularity = Float32Array.from(countsOf(table.items, table.itemCount), (c) => Math.log1p(c));
  const x = multiHot(byItem, warm, shape.features);
  const columnWeights = new Float32Array(shape.outputs).fill(1 / k);
  columnWeights[k] = h.popularityLossWeight;
  let scale: TargetScale = { embeddingScale: 1, popularityMean: 0, popularityStd: 1 };

  const round = (graph: LightGcnModel): number => {
    const rows = extendedRows(graph, popularity);
    scale = targetScaleOf(scaleSums(rows, warm, k), k);
    const y = standardised(rows, warm, k, scale);
    const order = identityOrder(warm.length);
    let loss = 0;
    let batches = 0;
    for (let pass = 0; pass < h.encoderPasses; pass++) {
      rng.shuffle(order);
      for (let from = 0; from < warm.length; from += h.encoderBatchSize) {
        const batch = order.subarray(from, Math.min(warm.length, from + h.encoderBatchSize));
        const step = encoderGradients(tf, shape, weights, { rows: batch.length, x: gatherRows(x, batch, shape.features), y: gatherRows(y, batch, shape.outputs), columnWeights });
        adam.step(weights, step.grads);
        loss += step.loss;
        batches++;
      }
    }
    return loss / Math.max(1, batches);
  };
  const assemble = (graph: LightGcnModel): ContentGnnModel => {
    const rows = extendedRows(graph, popularity);
    const nodes = featureNodes(byItem, rows, extendedWidth(k), shape.features);
    return { factors: k, graph, userIds: table.userIds, itemIds: table.itemIds, featureNames: features.names, encoder: shape, encoderWeights: weights.slice(), encoderAdam: adam.state(), targetScale: scale, nodes, popularity, prior: popularityPrior(rows, table, k) };
  };

  const graph = trainLightGcn(table, h.graph, {
    epochs: opts.epochs,
    seed: opts.seed,
    ...(opts.kernel ? { kernel: opts.kernel } : {}),
    onEpoch: (epoch, graphLoss, m) => {
      if (epoch % h.encodeEveryEpochs !== 0 && epoch !== opts.epochs) return;
      const encoderLoss = round(m);
      return opts.onRound?.({ epoch, graphLoss, encoderLoss, model: assemble(m) });
    },
  });
  return assemble(graph);
}

/**
 * Extended rows (embedding, then log interactions) of `titles`, titles × `extendedWidth`: a
 * warm title's own; a cold one's α · the encoder's output for its known features + (1 − α) ·
 * the mean of those features' nodes; the popularity prior for a title with neither
 * interactions nor a feature some warm title has. Features are matched by name, so `features`
 * may come from anywhere. Throws `NonFiniteEmbedding` naming a title whose row is not finite.
 */
export function titleEmbeddings(model: ContentGnnModel, titles: readonly string[], features: TitleFeatures, mix: ColdMix = {}): Float32Array {
  const { alpha } = parseColdMix(mix);
  const { graph } = model;
  const k = graph.factors;
  const w = extendedWidth(k);
  const idOf = featureIdsOf(model);
  const out = new Float32Array(titles.length * w);
  titles.forEach((title, t) => {
    const row = out.subarray(t * w, (t + 1) * w);
    const item = model.itemIds.get(title);
    if (item !== undefined && item < graph.items) {
      row.set(graph.final.subarray((graph.users + item) * k, (graph.users + item + 1) * k));
      row[k] = model.popularity[item]!;
      for (let d = 0; d < w; d++) if (!Number.isFinite(row[d]!)) throw new NonFiniteEmbedding(title);
    } else {
      const names = Array.from(features.byTitle.get(title) ?? [], (f) => features.names[f]!);
      coldRow(model, knownFeatureIds(model, names, idOf), alpha, title, row);
    }
  });
  return out;
}

/**
 * A `ColdScorer` over `titles`' extended rows (from `titleEmbeddings`), for users given by id
 * in the scorer's order: score = user's final row · title's embedding + `popularityWeight` ·
 * title's log interactions. A user the graph never saw gets the mean user row.
 */
export function contentColdScorer(model: ContentGnnModel, users: readonly string[], titles: Float32Array, mix: ColdMix = {}): ColdScorer {
  const { popularityWeight } = parseColdMix(mix);
  const { graph } = model;
  const k = graph.factors;
  const w = extendedWidth(k);
  const n = titles.length / w;
  const meanUser = new Float32Array(k);
  for (let u = 0; u < graph.users; u++) for (let d = 0; d < k; d++) meanUser[d] += graph.final[u * k + d]! / graph.users;
  const rows = users.map((id) => {
    const u = model.userIds.get(id);
    return u !== undefined && u < graph.users ? graph.final.subarray(u * k, (u + 1) * k) : meanUser;
  });
  return (u, out) => {
    const p = rows[u]!;
    for (let t = 0; t < n; t++) {
      let s = popularityWeight * titles[t * w + k]!;
      for (let d = 0; d < k; d++) s += p[d]! * titles[t * w + d]!;
      out[t] = s;
    }
  };
}

/** Warm titles' extended rows: final embedding, then log(1 + interactions). */
function extendedRows(graph: LightGcnModel, popularity: Float32Array): Float32Array {
  const k = graph.factors;
  const w = extendedWidth(k);
  const rows = new Float32Array(graph.items * w);
  for (let i = 0; i < graph.items; i++) {
    rows.set(graph.final.subarray((graph.users + i) * k, (graph.users + i + 1) * k), i * w);
    rows[i * w + k] = popularity[i]!;
  }
  return rows;
}

/** The interaction-weighted mean of the warm rows (the whole table's titles, with or without features). */
function popularityPrior(rows: Float32Array, table: RatingsTable, k: number): Float32Array {
  const w = extendedWidth(k);
  const counts = countsOf(table.items, table.itemCount);
  const sums = new Float64Array(w);
  for (let i = 0; i < table.itemCount; i++) for (let d = 0; d < w; d++) sums[d] += counts[i]! * rows[i * w + d]!;
  return Float32Array.from(sums, (s) => s / Math.max(1, table.n));
}

/** Rows of `titles` (indices into `byItem`) as dense multi-hot inputs. */
function multiHot(byItem: readonly (Uint32Array | undefined)[], titles: Uint32Array, width: number): Float32Array {
  const x = new Float32Array(titles.length * width);
  titles.forEach((i, r) => {
    for (const f of byItem[i] ?? []) x[r * width + f] = 1;
  });
  return x;
}

function gatherRows(a: Float32Array, rows: Uint32Array, width: number): Float32Array {
  const out = new Float32Array(rows.length * width);
  rows.forEach((r, x) => out.set(a.subarray(r * width, (r + 1) * width), x * width));
  return out;
}
