import { checkEpochs } from './mf-options.js';
import {
  checkTableFits, createMfModel, predictTable, runSgdEpochs, scoreItemsMf, stepOf, stepShrinks,
  type EpochRunner, type Kernel, type MfModel, type SgdStep, type TrainOptions,
} from './mf.js';
import { userItemsOf, type Scorer, type UserItems } from './metrics.js';
import type { RatingsTable } from './ratings.js';
import { parseSvdppHyperparameters, type SvdppHyperparameters } from './svdpp-options.js';
import { UserGroupedOrders } from './user-grouped-orders.js';

/**
 * SVD++ (Koren 2008): biased MF whose user factor is completed by the items the user rated,
 *
 *     r̂(u, i) = mu + b_u + b_i + q_i · (p_u + |N(u)|^-½ Σ_{j ∈ N(u)} y_j),
 *
 * N(u) the distinct items user u rated in the training table. The implicit factors y sit
 * in one more flat `Float32Array` (items × factors, row-major), as P and Q do.
 */
export interface SvdppModel extends MfModel {
  /** items × factors, row-major: the implicit factors y_j. */
  readonly y: Float32Array;
  /** N(u) of every user, in compressed rows (each user's items ascending). */
  readonly implicit: UserItems;
}

/** An SVD++ epoch's scalars: MF's, plus the regularisation of y. */
export interface SvdppStep extends SgdStep {
  regY: number;
}

/**
 * A new model for `table`: `createMfModel`'s (same seed, same P, Q and biases), y zero
 * (the model starts as MF does, and y's gradient is not zero), N(u) from `table`.
 */
export function createSvdppModel(table: RatingsTable, hp: SvdppHyperparameters, seed: number): SvdppModel {
  const h = parseSvdppHyperparameters(hp);
  const mf = createMfModel(table, h, seed);
  return { ...mf, y: new Float32Array(mf.items * mf.factors), implicit: userItemsOf(table, mf.users) };
}

/**
 * One pass of user-grouped SGD over the rows `order` of `table`, updating `model` in place.
 * The contract the WebAssembly kernel (`wasm/svdpp.as.ts`) implements. A maximal run of
 * consecutive order entries of the same user u is one group (any order works; the driver's
 * `UserGroupedOrders` puts each user's ratings together). With n = |N(u)|, s = 1 − lr regY,
 * per group:
 *
 *     z   = n^-½ Σ_{j ∈ N(u)} y_j,   acc = 0,   decay = 1            (0 and 0 when n = 0)
 *     per row (u, i, r) of the run, every right-hand side from the values before the row:
 *       e    = r − (mu + b_u + b_i + q_i · (p_u + z))   (four lanes f mod 4, as sgdEpoch)
 *       b_u  = b_u (1 − lr regUserBias) + lr e
 *       b_i  = b_i (1 − lr regItemBias) + lr e
 *       p_u  = p_u (1 − lr regUser) + lr e q_i
 *       q_i  = q_i (1 − lr regItem) + lr e (p_u + z)
 *       z    = s z + lr e q_i           (0 when n = 0)
 *       acc  = s acc + e q_i,  decay = s decay
 *     then, for every j ∈ N(u):  y_j = decay y_j + lr n^-½ acc
 *
 * which is exactly per-rating SVD++ SGD (every y_j of N(u) updated at every rating, by
 * y_j = s y_j + lr n^-½ e q_i) with each y_j written once per group: z follows the
 * would-be sum because n^-½ · n · n^-½ = 1. Returns the sum of e² (each before its row's
 * update). The reference computes in doubles and stores floats.
 */
export function svdppEpoch(model: SvdppModel, table: RatingsTable, order: Uint32Array, step: SvdppStep): number {
  checkTableFits(model, table);
  const { p, q, y, bu, bi, factors: k, mu } = model;
  const { offsets, items: implicitItems } = model.implicit;
  const { users, items, ratings } = table;
  const lr = step.lr;
  const { shrinkP, shrinkQ, shrinkBu, shrinkBi } = stepShrinks(step);
  const shrinkY = 1 - lr * step.regY;
  const k4 = k & ~3;
  const z = new Float64Array(k);
  const acc = new Float64Array(k);
  const n = order.length;
  let sse = 0;
  let t = 0;
  while (t < n) {
    const u = users[order[t]!]!;
    let end = t + 1;
    while (end < n && users[order[end]!] === u) end++;
    const a = offsets[u]!;
    const b = offsets[u + 1]!;
    const norm = b > a ? 1 / Math.sqrt(b - a) : 0;
    const track = b > a ? lr : 0;
    z.fill(0);
    acc.fill(0);
    for (let x = a; x < b; x++) for (let f = 0, yj = implicitItems[x]! * k; f < k; f++) z[f] += y[yj + f]!;
    for (let f = 0; f < k; f++) z[f] *= norm;
    let decay = 1;
    const pu = u * k;
    for (; t < end; t++) {
      const j = order[t]!;
      const i = items[j]!;
      const qi = i * k;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      let f = 0;
      for (; f < k4; f += 4) {
        s0 += q[qi + f]! * (p[pu + f]! + z[f]!);
        s1 += q[qi + f + 1]! * (p[pu + f + 1]! + z[f + 1]!);
        s2 += q[qi + f + 2]! * (p[pu + f + 2]! + z[f + 2]!);
        s3 += q[qi + f + 3]! * (p[pu + f + 3]! + z[f + 3]!);
      }
      for (; f < k; f++) s0 += q[qi + f]! * (p[pu + f]! + z[f]!);
      const e = ratings[j]! - (mu + bu[u]! + bi[i]! + ((s0 + s1) + (s2 + s3)));
      sse += e * e;
      const g = lr * e;
      const gz = track * e;
      bu[u] = bu[u]! * shrinkBu + g;
      bi[i] = bi[i]! * shrinkBi + g;
      for (f = 0; f < k; f++) {
        const pf = p[pu + f]!;
        const qf = q[qi + f]!;
        const zf = z[f]!;
        p[pu + f] = pf * shrinkP + g * qf;
        q[qi + f] = qf * shrinkQ + g * (pf + zf);
        z[f] = zf * shrinkY + gz * qf;
        acc[f] = acc[f]! * shrinkY + e * qf;
      }
      decay *= shrinkY;
    }
    const push = lr * norm;
    for (let x = a; x < b; x++) {
      for (let f = 0, yj = implicitItems[x]! * k; f < k; f++) y[yj + f] = y[yj + f]! * decay + push * acc[f]!;
    }
  }
  return sse;
}

/** Makes the runner of an SVD++ training run. */
export type SvdppKernel = Kernel<SvdppModel, SvdppStep>;

/** The plain-TypeScript reference, `svdppEpoch`, in place. */
export const tsSvdppKernel: SvdppKernel = (model, table) => ({
  sgdEpoch: (order, step) => svdppEpoch(model, table, order, step),
  readBack: () => undefined,
  reload: () => undefined,
});

/**
 * Trains SVD++ on `table`: `createSvdppModel`, then `epochs` passes of `svdppEpoch` in a
 * fresh user-grouped seeded order (`UserGroupedOrders`), the learning rate multiplied by
 * `lrDecay` after every epoch. Deterministic for a given table, seed and hyperparameters.
 */
export function trainSvdpp(table: RatingsTable, hp: SvdppHyperparameters, opts: TrainOptions<SvdppModel, SvdppStep>): SvdppModel {
  const h = parseSvdppHyperparameters(hp);
  const epochs = checkEpochs(opts.epochs);
  const model = createSvdppModel(table, h, opts.seed);
  const orders = new UserGroupedOrders(table, opts.seed);
  const runner: EpochRunner<SvdppStep> = (opts.kernel ?? tsSvdppKernel)(model, table);
  return runSgdEpochs(model, { lr: h.lr, lrDecay: h.lrDecay, epochs }, runner, () => orders.next(), (lr) => ({ ...stepOf(h, lr), regY: h.regY }), opts.onEpoch);
}

/**
 * The biased-MF model that predicts as `model` does: P replaced by each user's
 * p_u + |N(u)|^-½ Σ y_j, computed once. Prediction, ranking and export read it.
 */
export function svdppAsMf(model: SvdppModel): MfModel {
  const { p, y, factors: k, users } = model;
  const { offsets, items } = model.implicit;
  const eff = new Float32Array(p.length);
  const z = new Float64Array(k);
  for (let u = 0; u < users; u++) {
    const a = offsets[u]!;
    const b = offsets[u + 1]!;
    z.fill(0);
    for (let x = a; x < b; x++) for (let f = 0, yj = items[x]! * k; f < k; f++) z[f] += y[yj + f]!;
    const norm = b > a ? 1 / Math.sqrt(b - a) : 0;
    for (let f = 0; f < k; f++) eff[u * k + f] = p[u * k + f]! + norm * z[f]!;
  }
  const { y: _y, implicit: _implicit, ...mf } = model;
  return { ...mf, p: eff };
}

/** `predictTable` of MF for SVD++: every rating of `table`, clamped; unseen ids from the biases. */
export function predictSvdppTable(model: SvdppModel, table: RatingsTable, out = new Float32Array(table.n)): Float32Array {
  return predictTable(svdppAsMf(model), table, out);
}

/** The model as a `Scorer` for top-K metrics. */
export function svdppScorer(model: SvdppModel): Scorer {
  const mf = svdppAsMf(model);
  return { items: mf.items, score: (u, out) => scoreItemsMf(mf, u, out) };
}
