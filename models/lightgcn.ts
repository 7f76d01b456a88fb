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
  /** Positives per mini-batch (triples, with one negative each); one forward and one backward propagation each. @default 2048 */
  batchSize?: number;
  /** Standard deviation of the normal initial embeddings. @default 0.1 */
  initStd?: number;
  /** How negatives are drawn, as BPR's (`bpr-sampler.ts`). @default 'uniform' */
  negatives?: BprNegatives;
  /** β of popularity negatives (∝ count^β). @default 0.75 */
  popularityExponent?: number;
  /**
   * Negatives per positive: each positive (u, i) of a mini-batch makes this many triples
   * (u, i, j), each j drawn as `negatives` says; the loss and the L2 are means over the triples.
   * The propagations per epoch stay one per mini-batch of `batchSize` positives. @default 1
   */
  negativesPerPositive?: number;
  /**
   * Candidates per negative (dynamic negative sampling, Zhang et al. 2013): each negative is
   * the one of this many draws that the current model scores highest for u. 1 is plain
   * sampling. @default 1
   */
  negativeCandidates?: number;
  /** Each epoch's step size is the previous one's times this. @default 1 */
  lrDecay?: number;
}

export function parseLightGcnHyperparameters(hp: LightGcnHyperparameters = {}): Required<LightGcnHyperparameters> {
  const h = {
    factors: 64,
    layers: 3,
    lr: 0.001,
    reg: 1e-4,
    batchSize: 2048,
    initStd: 0.1,
    negatives: 'uniform' as BprNegatives,
    popularityExponent: 0.75,
    negativesPerPositive: 1,
    negativeCandidates: 1,
    lrDecay: 1,
    ...hp,
  };
  if (h.negatives !== 'uniform' && h.negatives !== 'popularity') throw new ModelArgumentError(`negatives must be uniform or popularity, got ${String(h.negatives)}`, ['negatives']);
  const whole = (name: 'factors' | 'layers' | 'batchSize' | 'negativesPerPositive' | 'negativeCandidates', min: number) => {
    if (!Number.isInteger(h[name]) || h[name] < min) throw new ModelArgumentError(`${name} must be a whole number ≥ ${min}, got ${h[name]}`, [name]);
  };
  whole('factors', 1);
  whole('layers', 0);
  whole('batchSize', 1);
  whole('negativesPerPositive', 1);
  whole('negativeCandidates', 1);
  for (const name of ['lr', 'reg', 'initStd', 'popularityExponent'] as const) if (!Number.isFinite(h[name]) || h[name] < 0) throw new ModelArgumentError(`${name} must be a finite number ≥ 0, got ${h[name]}`, [name]);
  if (!(h.lrDecay > 0 && h.lrDecay <= 1)) throw new ModelArgumentError(`lrDecay must be a number in (0, 1], got ${h.lrDecay}`, ['lrDecay']);
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

/** Triples (u, i, j) of a mini-batch: `n` of them in the arrays' first entries. */
export interface LightGcnTriples {
  readonly n: number;
  readonly u: ArrayLike<number>;
  readonly i: ArrayLike<number>;
  readonly j: ArrayLike<number>;
}

/**
 * The BPR part of a mini-batch's objective, (1/n) Σ −ln σ(f_u · (f_i − f_j)) over its triples,
 * in the final embeddings `final` (users' rows, then items'): adds its gradient in them to
 * `grad` and returns the unscaled sum Σ −ln σ(·).
 */
function bprGradient(final: Float32Array, users: number, k: number, t: LightGcnTriples, grad: Float32Array): number {
  const scale = 1 / t.n;
  let loss = 0;
  for (let x = 0; x < t.n; x++) {
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
  return loss;
}

/**
 * The L2 part, (reg / 2n) Σ over the triples of ‖e⁰_u‖² + ‖e⁰_i‖² + ‖e⁰_j‖² (a row once per
 * occurrence; the paper's and its code's): adds its gradient in e⁰ to `grad`, returns its value.
 */
function l2Gradient(e0: Float32Array, users: number, k: number, reg: number, t: LightGcnTriples, grad: Float32Array): number {
  const c = reg * (1 / t.n);
  let sum = 0;
  for (let x = 0; x < t.n; x++) {
    for (const p of [t.u[x]! * k, (users + t.i[x]!) * k, (users + t.j[x]!) * k]) {
      for (let d = 0; d < k; d++) {
        const e = e0[p + d]!;
        grad[p + d] += c * e;
        sum += e * e;
      }
    }
  }
  return (c / 2) * sum;
}

/**
 * LightGCN's objective on one mini-batch of triples, as `trainLightGcn` minimises it: the mean
 * BPR loss in the final embeddings (the layer mean of propagating `e0` over `g`) plus the
 * batch's L2 on e⁰. With `gradOut`, also its gradient in e⁰ there (the backward pass). In the
 * TypeScript propagation; for checks.
 */
export function lightGcnObjective(g: NormalizedGraph, e0: Float32Array, k: number, layers: number, reg: number, t: LightGcnTriples, gradOut?: Float32Array): number {
  const n = g.nodes * k;
  const propagate: Propagate = (x, out) => propagateReference(g, x, k, out);
  const scratch: [Float32Array, Float32Array] = [new Float32Array(n), new Float32Array(n)];
  const final = new Float32Array(n);
  const grad = new Float32Array(n);
  layerMean(propagate, e0, layers, final, scratch);
  const bpr = bprGradient(final, g.users, k, t, grad) / t.n;
  const back = gradOut ?? new Float32Array(n);
  layerMean(propagate, grad, layers, back, scratch);
  return bpr + l2Gradient(e0, g.users, k, reg, t, back);
}

const [b1, b2, eps] = [0.9, 0.999, 1e-8];

/** One Adam step of `e0` along `grad`, with moments `m` and `v` and bias corrections `c1`, `c2`. */
function adamStep(e0: Float32Array, grad: Float32Array, m: Float32Array, v: Float32Array, lr: number, c1: number, c2: number): void {
  for (let x = 0; x < e0.length; x++) {
    const gx = grad[x]!;
    const mx = (m[x] = b1 * m[x]! + (1 - b1) * gx);
    const vx = (v[x] = b2 * v[x]! + (1 - b2) * gx * gx);
    e0[x] -= (lr * (mx / c1)) / (Math.sqrt(vx / c2) + eps);
  }
}

/**
 * Trains LightGCN on the interactions of `table` (every row a positive) with the BPR loss, one
 * process. Per mini-batch of positives, each with `negativesPerPositive` negatives: the final
 * embeddings by `layerMean` over the whole graph (the paper's one propagation per mini-batch),
 * the mean BPR loss's gradient in them over the batch's triples, back to e⁰ by the same layer
 * mean (Â is symmetric), plus L2 on the batch's base embeddings, and an Adam step on e⁰.
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
  // With the kernel, the layers and their sum stay in its memory: only e⁰ is copied in and the mean out.
  const wasm = opts.kernel === 'ts' ? undefined : new WasmPropagator(g, k);
  const scratch: [Float32Array, Float32Array] = [new Float32Array(wasm ? 0 : n), new Float32Array(wasm ? 0 : n)];
  const propagate: Propagate = (x, out) => propagateReference(g, x, k, out);
  const mean = (x: Float32Array, out: Float32Array): void => (wasm ? wasm.layerMean(x, h.layers, out) : layerMean(propagate, x, h.layers, out, scratch));
  const adam = { m: new Float32Array(n), v: new Float32Array(n), t: 0 };
  const sampler = new BprSampler(table, h.negatives, h.popularityExponent, opts.seed);
  const model: LightGcnModel = { users, items, factors: k, layers: h.layers, e0, final };
  const per = h.negativesPerPositive;
  const cands = h.negativeCandidates;
  // One batch's triples: positive x's are at x·per .. x·per + per − 1.
  const cap = Math.min(h.batchSize, table.n) * per;
  const batch = { n: 0, u: new Uint32Array(cap), i: new Uint32Array(cap), j: new Uint32Array(cap) };
  // u's best-scored of `cands` negatives (the first given), by the current final embeddings.
  const hardest = (u: number, first: number): number => {
    const pu = u * k;
    const score = (j: number): number => {
      let s = 0;
      const pj = (users + j) * k;
      for (let d = 0; d < k; d++) s += final[pu + d]! * final[pj + d]!;
      return s;
    };
    let best = first;
    let bestScore = score(first);
    for (let c = 1; c < cands; c++) {
      const j = sampler.negativeOf(u);
      if (j < 0) continue;
      const sj = score(j);
      if (sj > bestScore) (best = j), (bestScore = sj);
    }
    return best;
  };
  let lr = h.lr;

  for (let epoch = 1; epoch <= epochs; epoch++) {
    const t = sampler.next();
    let loss = 0;
    let triples = 0;
    for (let from = 0; from < t.n; from += h.batchSize) {
      const to = Math.min(t.n, from + h.batchSize);
      mean(e0, final);
      batch.n = 0;
      for (let x = from; x < to; x++) {
        for (let r = 0; r < per; r++) {
          const j = r === 0 ? t.j[x]! : sampler.negativeOf(t.u[x]!);
          batch.u[batch.n] = t.u[x]!;
          batch.i[batch.n] = t.i[x]!;
          batch.j[batch.n++] = cands > 1 ? hardest(t.u[x]!, j) : j;
        }
      }
      grad.fill(0);
      loss += bprGradient(final, users, k, batch, grad);
      triples += batch.n;
      mean(grad, back);
      l2Gradient(e0, users, k, h.reg, batch, back);
      adam.t++;
      adamStep(e0, back, adam.m, adam.v, lr, 1 - b1 ** adam.t, 1 - b2 ** adam.t);
    }
    if (!Number.isFinite(loss)) throw new TrainingDiverged(epoch, lr);
    mean(e0, final);
    if (opts.onEpoch?.(epoch, loss / Math.max(1, triples), model) === false) return model;
    lr *= h.lrDecay;
  }
  mean(e0, final);
  return model;
}

/** The model as a `Scorer`: the user's final row · each item's final row. */
export function lightGcnScorer(model: LightGcnModel): Scorer {
  const q = model.final.subarray(model.users * model.factors);
  return { items: model.items, score: (u, out) => scoreDots(model.final, q, u, model.users, model.items, model.factors, out) };
}
