import { parseBprHyperparameters, type BprHyperparameters } from './bpr-options.js';
import { BprSampler, type BprTriples } from './bpr-sampler.js';
import { ModelArgumentError, TrainingDiverged } from './errors.js';
import type { Scorer } from './metrics.js';
import { scoreDots } from './factor-scores.js';
import { checkEpochs } from './mf-options.js';
import type { RatingsTable } from './ratings.js';
import { Rng } from './rng.js';

/**
 * BPR-MF: x_ui = b_i + p_u · q_i, trained on triples (u, i, j) to rank u's items above the
 * others. Layout as in `mf.ts`: p is users × factors, q items × factors, row-major.
 */
export interface BprModel {
  readonly users: number;
  readonly items: number;
  readonly factors: number;
  readonly p: Float32Array;
  readonly q: Float32Array;
  /** Item biases. */
  readonly b: Float32Array;
}

/** One epoch's scalars. */
export interface BprStep {
  lr: number;
  reg: number;
  regBias: number;
}

/** A new model: factors normal with standard deviation `initStd` from `seed` (users then items), biases 0. */
export function createBprModel(users: number, items: number, hp: BprHyperparameters, seed: number): BprModel {
  const { factors: k, initStd } = parseBprHyperparameters(hp);
  const rng = new Rng(seed);
  const p = Float32Array.from({ length: users * k }, () => rng.normal() * initStd);
  const q = Float32Array.from({ length: items * k }, () => rng.normal() * initStd);
  return { users, items, factors: k, p, q, b: new Float32Array(items) };
}

/** ln(1 + e^z) without overflow. */
export function softplus(z: number): number {
  return z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
}

/**
 * SGD over the triples `t[0 .. t.n)` in order, updating `model` in place: the contract the
 * WebAssembly kernel implements. For each (u, i, j):
 *
 *     x   = (b_i − b_j) + p_u · (q_i − q_j)      (the dot in four lanes f mod 4, the tail to
 *                                               lane 0, summed (l0 + l1) + (l2 + l3))
 *     g   = σ(−x) = 1 / (1 + e^x)                (the gradient of ln σ(x) in x)
 *     p_u += lr (g (q_i − q_j) − reg p_u)     }
 *     q_i += lr (g p_u − reg q_i)             } all from the values before this triple
 *     q_j += lr (−g p_u − reg q_j)            }
 *     b_i += lr (g − regBias b_i),  b_j += lr (−g − regBias b_j)
 *
 * Returns Σ −ln σ(x) = Σ softplus(−x) over the triples, each x before its update. The
 * reference computes in doubles and stores floats.
 */
export function bprEpoch(model: BprModel, t: BprTriples, step: BprStep): number {
  const { p, q, b, factors: k } = model;
  return bprAt({ p, pu: (u) => u * k, q, qi: (i) => i * k, b, b_: (i) => i }, model.users, model.items, k, t, step);
}

/**
 * Where `bprAt` finds a run's parameters: the arrays of user factors, item factors and item
 * biases, and the offset of each row in them (one array may hold all: rows of factors then
 * bias, trained in place, `mf-rows.ts`).
 */
export interface BprParamsAt {
  p: Float32Array;
  pu(u: number): number;
  q: Float32Array;
  qi(i: number): number;
  b: Float32Array;
  b_(i: number): number;
}

/** `bprEpoch`'s contract over parameters found through `at`, for `users` × `items`. */
export function bprAt(at: BprParamsAt, users: number, items: number, k: number, t: BprTriples, step: BprStep): number {
  const { p, q, b } = at;
  const { lr, reg, regBias } = step;
  const k4 = k & ~3;
  for (let s = 0; s < t.n; s++) {
    const u = t.u[s]!;
    const i = t.i[s]!;
    const j = t.j[s]!;
    if (u >= users || i >= items || j >= items) throw new ModelArgumentError(`triple ${s} (${u}, ${i}, ${j}) is past the model's ${users} users or ${items} items`, ['triples']);
  }
  let loss = 0;
  for (let s = 0; s < t.n; s++) {
    const i = t.i[s]!;
    const j = t.j[s]!;
    const pu = at.pu(t.u[s]!);
    const qi = at.qi(i);
    const qj = at.qi(j);
    const bi = at.b_(i);
    const bj = at.b_(j);
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    let f = 0;
    for (; f < k4; f += 4) {
      s0 += p[pu + f]! * (q[qi + f]! - q[qj + f]!);
      s1 += p[pu + f + 1]! * (q[qi + f + 1]! - q[qj + f + 1]!);
      s2 += p[pu + f + 2]! * (q[qi + f + 2]! - q[qj + f + 2]!);
      s3 += p[pu + f + 3]! * (q[qi + f + 3]! - q[qj + f + 3]!);
    }
    for (; f < k; f++) s0 += p[pu + f]! * (q[qi + f]! - q[qj + f]!);
    const x = b[bi]! - b[bj]! + ((s0 + s1) + (s2 + s3));
    loss += softplus(-x);
    const g = 1 / (1 + Math.exp(x));
    b[bi] = b[bi]! + lr * (g - regBias * b[bi]!);
    b[bj] = b[bj]! + lr * (-g - regBias * b[bj]!);
    for (f = 0; f < k; f++) {
      const pf = p[pu + f]!;
      const qif = q[qi + f]!;
      const qjf = q[qj + f]!;
      p[pu + f] = pf + lr * (g * (qif - qjf) - reg * pf);
      q[qi + f] = qif + lr * (g * pf - reg * qif);
      q[qj + f] = qjf + lr * (-g * pf - reg * qjf);
    }
  }
  return loss;
}

/** Epochs of `bprEpoch`'s contract on one model, whatever computes them. */
export interface BprEpochRunner {
  epoch(t: BprTriples, step: BprStep): number;
  /** Brings the model up to date with the epochs run so far. */
  readBack(): void;
  /** Takes the model's parameters as they are now (changed outside, e.g. pulled from a parameter server). */
  reload(): void;
}

export type BprKernel = (model: BprModel) => BprEpochRunner;

/** The plain-TypeScript reference, in place. */
export const tsBprKernel: BprKernel = (model) => ({ epoch: (t, step) => bprEpoch(model, t, step), readBack: () => undefined, reload: () => undefined });

export interface BprTrainOptions {
  /** Epochs to run (a whole number ≥ 1): each one triple per training interaction. */
  epochs: number;
  /** Seeds the initial factors and the sampler. */
  seed: number;
  /** After each epoch, with its mean loss per triple; returning false stops there. */
  onEpoch?: (epoch: number, meanLoss: number, model: BprModel) => boolean | void;
  /** `tsBprKernel` (the default) or `wasmBprKernel` of `bpr-wasm.ts`. */
  kernel?: BprKernel;
}

/**
 * Trains BPR-MF on the interactions of `table` (every row a positive, whatever its rating):
 * per epoch the sampler draws the triples in TypeScript and the kernel applies them.
 */
export function trainBpr(table: RatingsTable, hp: BprHyperparameters, opts: BprTrainOptions): BprModel {
  const h = parseBprHyperparameters(hp);
  const epochs = checkEpochs(opts.epochs);
  if (table.n === 0) throw new ModelArgumentError('cannot train on an empty interactions table', ['table']);
  const model = createBprModel(table.userCount, table.itemCount, h, opts.seed);
  const sampler = new BprSampler(table, h.negatives, h.popularityExponent, opts.seed);
  const runner = (opts.kernel ?? tsBprKernel)(model);
  let lr = h.lr;
  for (let epoch = 1; epoch <= epochs; epoch++) {
    const triples = sampler.next();
    const loss = runner.epoch(triples, { lr, reg: h.reg, regBias: h.regBias });
    if (!Number.isFinite(loss)) throw new TrainingDiverged(epoch, h.lr);
    if (opts.onEpoch) {
      runner.readBack();
      if (opts.onEpoch(epoch, loss / Math.max(1, triples.n), model) === false) return model;
    }
    lr *= h.lrDecay;
  }
  runner.readBack();
  return model;
}

/** The model as a `Scorer`: b_i + p_u · q_i (an unseen user ranks by bias alone). */
export function bprScorer(model: BprModel): Scorer {
  return {
    items: model.items,
    score: (u, out) => {
      scoreDots(model.p, model.q, u, model.users, model.items, model.factors, out);
      for (let i = 0; i < model.items; i++) out[i] += model.b[i]!;
    },
  };
}
