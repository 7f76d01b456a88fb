import type { BprNegatives } from './bpr-options.js';
import { BprSampler } from './bpr-sampler.js';
import { ModelArgumentError, TrainingDiverged } from './errors.js';
import { scoreDots } from './factor-scores.js';
import { layerMean, NormalizedGraph, propagateReference, type Propagate } from './lightgcn-graph.js';
import { WasmPropagator } from './lightgcn-wasm.js';
import type { Scorer } from './metrics.js';
import { checkEpochs } from './mf-options.js';
import type { RatingsTable } from './ratings.js';
import { Rng } from './rng.js';

/** LightGCN's settings (He et al. 2020; defaults after the paper and RecBole's). */
export interface LightGcnHyperparameters {
  /** Embedding size. @default 64 */
  factors?: number;
  /** Propagation layers L; the final embedding is the mean of L + 1. @default 3 */
  layers?: number;
  /** Adam's step size. @default 0.001 */
  lr?: number;
  /** L2 weight on the base embeddings of each mini-batch's users and items. @default 1e-4 */
  reg?: number;
  /** Triples per mini-batch; one forward and one backward propagation each. @default 2048 */
  batchSize?: number;
  /** Standard deviation of the normal initial embeddings. @default 0.1 */
  initStd?: number;
  /** How negatives are drawn, as BPR's (`bpr-sampler.ts`). @default 'uniform' */
  negatives?: BprNegatives;
  /** β of popularity negatives (∝ count^β). @default 0.75 */
  popularityExponent?: number;
}

export function parseLightGcnHyperparameters(hp: LightGcnHyperparameters = {}): Required<LightGcnHyperparameters> {
  const h = { factors: 64, layers: 3, lr: 0.001, reg: 1e-4, batchSize: 2048, initStd: 0.1, negatives: 'uniform' as BprNegatives, popularityExponent: 0.75, ...hp };
  if (h.negatives !== 'uniform' && h.negatives !== 'popularity') throw new ModelArgumentError(`negatives must be uniform or popularity, got ${String(h.negatives)}`, ['negatives']);
  const whole = (name: 'factors' | 'layers' | 'batchSize', min: number) => {
    if (!Number.isInteger(h[name]) || h[name] < min) throw new ModelArgumentError(`${name} must be a whole number ≥ ${min}, got ${h[name]}`, [name]);
  };
  whole('factors', 1);
  whole('layers', 0);
  whole('batchSize', 1);
  for (const name of ['lr', 'reg', 'initStd', 'popularityExponent'] as const) if (!Number.isFinite(h[name]) || h[name] < 0) throw new ModelArgumentError(`${name} must be a finite number ≥ 0, got ${h[name]}`, [name]);
  return h;
}

/** A LightGCN model: base embeddings e⁰ (users, then items; nodes × factors, row-major) and the final ones. */
export interface LightGcnModel {
  readonly users: number;
  readonly items: number;
  readonly factors: number;
  readonly layers: number;
  readonly e0: Float32Array;
  /** Mean over the layers of propagating e⁰: what ranks (user row · item row). */
  readonly final: Float32Array;
}

export interface LightGcnTrainOptions {
  epochs: number;
  seed: number;
  /** After each epoch, with the mean BPR loss per triple and the model (its `final` current); false stops. */
  onEpoch?: (epoch: number, meanLoss: number, model: LightGcnModel) => boolean | void;
  /** 'wasm' (the default): the SIMD propagation kernel; 'ts': its TypeScript reference. */
  kernel?: 'wasm' | 'ts';
}

/**
 * Trains LightGCN on the interactions of `table` (every row a positive) with the BPR loss, one
 * process. Per mini-batch of triples (u, i, j): the final embeddings by `layerMean` over the
 * whole graph (the paper's one propagation per mini-batch), the mean BPR loss's gradient in
 * them (plus L2 on the batch's base embeddings), back to e⁰ by the same layer mean (Â is
 * symmetric), and an Adam step on e⁰.
 */
export function trainLightGcn(table: RatingsTable, hp: LightGcnHyperparameters, opts: LightGcnTrainOptions): LightGcnModel {
  const h = parseLightGcnHyperparameters(hp);
  const epochs = checkEpochs(opts.epochs);
  if (table.n === 0) throw new ModelArgumentError('cannot train on an empty interactions table', ['table']);
  const { userCount: users, itemCount: items } = table;
  const k = h.factors;
  const g = NormalizedGraph.fromPairs(users, items, table.users, table.items);
  const n = g.nodes * k;
  const rng = new Rng(opts.seed);
  const e0 = Float32Array.from({ length: n }, () => rng.normal() * h.initStd);
  const final = new Float32Array(n);
  const grad = new Float32Array(n);
  const back = new Float32Array(n);
  const scratch: [Float32Array, Float32Array] = [new Float32Array(n), new Float32Array(n)];
  const propagate: Propagate = opts.kernel === 'ts' ? (x, out) => propagateReference(g, x, k, out) : new WasmPropagator(g, k).propagate;
  const adam = { m: new Float32Array(n), v: new Float32Array(n), t: 0 };
  const sampler = new BprSampler(table, h.negatives, h.popularityExponent, opts.seed);
  const model: LightGcnModel = { users, items, factors: k, layers: h.layers, e0, final };
  const [b1, b2, eps] = [0.9, 0.999, 1e-8];

  for (let epoch = 1; epoch <= epochs; epoch++) {
    const t = sampler.next();
    let loss = 0;
    for (let from = 0; from < t.n; from += h.batchSize) {
      const to = Math.min(t.n, from + h.batchSize);
      const scale = 1 / (to - from);
      layerMean(propagate, e0, h.layers, final, scratch);
      grad.fill(0);
      for (let x = from; x < to; x++) {
        const pu = t.u[x]! * k;
        const pi = (users + t.i[x]!) * k;
        const pj = (users + t.j[x]!) * k;
        let dot = 0;
        for (let d = 0; d < k; d++) dot += final[pu + d]! * (final[pi + d]! - final[pj + d]!);
        // −ln σ(x) and its derivative −σ(−x), averaged over the batch.
        loss += dot > 0 ? Math.log1p(Math.exp(-dot)) : -dot + Math.log1p(Math.exp(dot));
        const s = -scale / (1 + Math.exp(dot));
        for (let d = 0; d < k; d++) {
          const fu = final[pu + d]!;
          grad[pu + d] += s * (final[pi + d]! - final[pj + d]!);
          grad[pi + d] += s * fu;
          grad[pj + d] -= s * fu;
        }
      }
      layerMean(propagate, grad, h.layers, back, scratch);
      // L2 on the base embeddings of the batch's users and items, once per occurrence.
      for (let x = from; x < to; x++) {
        for (const p of [t.u[x]! * k, (users + t.i[x]!) * k, (users + t.j[x]!) * k]) for (let d = 0; d < k; d++) back[p + d] += h.reg * scale * e0[p + d]!;
      }
      adam.t++;
      const c1 = 1 - b1 ** adam.t;
      const c2 = 1 - b2 ** adam.t;
      for (let x = 0; x < n; x++) {
        const gx = back[x]!;
        const m = (adam.m[x] = b1 * adam.m[x]! + (1 - b1) * gx);
        const v = (adam.v[x] = b2 * adam.v[x]! + (1 - b2) * gx * gx);
        e0[x] -= (h.lr * (m / c1)) / (Math.sqrt(v / c2) + eps);
      }
    }
    if (!Number.isFinite(loss)) throw new TrainingDiverged(epoch, h.lr);
    layerMean(propagate, e0, h.layers, final, scratch);
    if (opts.onEpoch?.(epoch, loss / Math.max(1, t.n), model) === false) return model;
  }
  layerMean(propagate, e0, h.layers, final, scratch);
  return model;
}

/** The model as a `Scorer`: the user's final row · each item's final row. */
export function lightGcnScorer(model: LightGcnModel): Scorer {
  const q = model.final.subarray(model.users * model.factors);
  return { items: model.items, score: (u, out) => scoreDots(model.final, q, u, model.users, model.items, model.factors, out) };
}
