import { parseAlsHyperparameters, type AlsHyperparameters } from './als-options.js';
import { ModelArgumentError } from './errors.js';
import { interactionRows, type InteractionRows } from './interactions.js';
import type { Scorer } from './metrics.js';
import { scoreDots } from './factor-scores.js';
import { checkEpochs } from './mf-options.js';
import type { RatingsTable } from './ratings.js';
import { Rng } from './rng.js';

/**
 * Implicit-feedback ALS (Hu, Koren and Volinsky 2008) with the conjugate-gradient row solve
 * of Takács, Pilászy and Tikk (2011) and frequency-scaled regularisation (Rendle et al.
 * 2022); the loss is spelled out in `als-options.ts`. Factors sit in flat `Float32Array`s:
 * user u's are `x[u*factors .. (u+1)*factors)`, item i's `y[i*factors ..)`.
 */
export interface AlsModel {
  readonly users: number;
  readonly items: number;
  readonly factors: number;
  /** users × factors, row-major. */
  readonly x: Float32Array;
  /** items × factors, row-major. */
  readonly y: Float32Array;
}

/**
 * One side's half of a sweep, fixed for a training run: its rows' interactions, each
 * entry's confidence c (aligned with `rows.cols`) and each row's regularisation λ_row.
 */
export interface AlsSide {
  readonly rows: InteractionRows;
  readonly conf: Float32Array;
  readonly reg: Float32Array;
}

/** What a training run's sweeps read: both sides, α0 and the CG steps per row. */
export interface AlsProblem {
  readonly user: AlsSide;
  readonly item: AlsSide;
  readonly unobservedWeight: number;
  readonly cgSteps: number;
}

/** The problem `hp` poses on `table` for a model of `users` × `items` rows. */
export function alsProblem(table: RatingsTable, hp: AlsHyperparameters, users = table.userCount, items = table.itemCount): AlsProblem {
  const h = parseAlsHyperparameters(hp);
  const side = (by: 'user' | 'item', rowCount: number, otherCount: number): AlsSide => {
    const rows = interactionRows(table, by, rowCount);
    const conf = new Float32Array(rows.values.length);
    for (let e = 0; e < conf.length; e++) {
      const r = h.useRatings ? rows.values[e]! : 1;
      conf[e] = h.confidence === 'linear' ? 1 + h.alpha * r : 1 + h.alpha * Math.log(1 + r / h.epsilon);
    }
    const reg = new Float32Array(rowCount);
    for (let r = 0; r < rowCount; r++) {
      reg[r] = h.reg * Math.pow(rows.offsets[r + 1]! - rows.offsets[r]! + h.unobservedWeight * otherCount, h.regExponent);
    }
    return { rows, conf, reg };
  };
  return { user: side('user', users, items), item: side('item', items, users), unobservedWeight: h.unobservedWeight, cgSteps: h.cgSteps };
}

/**
 * A new model for `table`: factors normal with standard deviation `initStd` from `seed`,
 * users first then items; rows without interactions start (and stay near) 0.
 */
export function createAlsModel(table: RatingsTable, hp: AlsHyperparameters, seed: number): AlsModel {
  const { factors: k, initStd } = parseAlsHyperparameters(hp);
  if (table.n === 0) throw new ModelArgumentError('cannot train on an empty interactions table', ['table']);
  const { userCount: users, itemCount: items } = table;
  const rng = new Rng(seed);
  const x = Float32Array.from({ length: users * k }, () => rng.normal() * initStd);
  const y = Float32Array.from({ length: items * k }, () => rng.normal() * initStd);
  const seen = (idx: Uint32Array, n: number) => {
    const s = new Uint8Array(n);
    for (const i of idx) s[i] = 1;
    return s;
  };
  const su = seen(table.users, users);
  const si = seen(table.items, items);
  for (let u = 0; u < users; u++) if (!su[u]) x.fill(0, u * k, (u + 1) * k);
  for (let i = 0; i < items; i++) if (!si[i]) y.fill(0, i * k, (i + 1) * k);
  return { users, items, factors: k, x, y };
}

/** G = Mᵀ M of the `n` × `k` row-major matrix m (k × k, symmetric), in doubles. */
export function gramian(m: Float32Array, n: number, k: number): Float64Array {
  const g = new Float64Array(k * k);
  for (let r = 0; r < n; r++) {
    const o = r * k;
    for (let a = 0; a < k; a++) {
      const ma = m[o + a]!;
      if (ma === 0) continue;
      for (let b = 0; b < k; b++) g[a * k + b] += ma * m[o + b]!;
    }
  }
  return g;
}

/** Below this squared residual a row's CG stops: it has converged (and p·Ap would be 0/0). */
export const CG_RESIDUAL_FLOOR = 1e-30;

/**
 * One half-sweep: re-solves every row of `solve` (rows × k) against the fixed `fixed`, by
 * `cgSteps` steps of conjugate gradients on the row's normal equations A x = b, started from
 * the row's current value:
 *
 *     A = α0 G + Σ_e (c_e − α0) f_e f_eᵀ + λ_row I,   b = Σ_e c_e f_e,   G = fixedᵀ fixed,
 *
 * e over the row's entries, f_e the fixed row of its column. A·v is formed without A: α0 G v
 * plus one dot and one axpy per entry, O(k² + n_row k) per CG step. Each step is exact line
 * search along a conjugate direction, so the loss never rises (in exact arithmetic). The
 * contract the WebAssembly kernel implements; this reference computes in doubles.
 */
export function alsHalfSweep(solve: Float32Array, fixed: Float32Array, fixedRows: number, side: AlsSide, k: number, unobservedWeight: number, cgSteps: number): void {
  const g = gramian(fixed, fixedRows, k);
  const { offsets, cols } = side.rows;
  const a0 = unobservedWeight;
  const x = new Float64Array(k);
  const r = new Float64Array(k);
  const p = new Float64Array(k);
  const ap = new Float64Array(k);
  // A v into out.
  const times = (row: number, v: Float64Array, out: Float64Array) => {
    for (let a = 0; a < k; a++) {
      let s = 0;
      for (let b = 0; b < k; b++) s += g[a * k + b]! * v[b]!;
      out[a] = a0 * s + side.reg[row]! * v[a]!;
    }
    for (let e = offsets[row]!; e < offsets[row + 1]!; e++) {
      const f = cols[e]! * k;
      let d = 0;
      for (let a = 0; a < k; a++) d += fixed[f + a]! * v[a]!;
      d *= side.conf[e]! - a0;
      for (let a = 0; a < k; a++) out[a] += d * fixed[f + a]!;
    }
  };
  for (let row = 0; row < side.rows.rows; row++) {
    const o = row * k;
    for (let a = 0; a < k; a++) x[a] = solve[o + a]!;
    // r = b − A x
    times(row, x, ap);
    for (let a = 0; a < k; a++) r[a] = -ap[a]!;
    for (let e = offsets[row]!; e < offsets[row + 1]!; e++) {
      const f = cols[e]! * k;
      const c = side.conf[e]!;
      for (let a = 0; a < k; a++) r[a] += c * fixed[f + a]!;
    }
    p.set(r);
    let rs = dot(r, r, k);
    for (let s = 0; s < cgSteps && rs > CG_RESIDUAL_FLOOR; s++) {
      times(row, p, ap);
      const step = rs / dot(p, ap, k);
      for (let a = 0; a < k; a++) {
        x[a] += step * p[a]!;
        r[a] -= step * ap[a]!;
      }
      const rsNew = dot(r, r, k);
      const beta = rsNew / rs;
      for (let a = 0; a < k; a++) p[a] = r[a]! + beta * p[a]!;
      rs = rsNew;
    }
    for (let a = 0; a < k; a++) solve[o + a] = x[a]!;
  }
}

function dot(a: Float64Array, b: Float64Array, k: number): number {
  let s = 0;
  for (let i = 0; i < k; i++) s += a[i]! * b[i]!;
  return s;
}

/**
 * The loss of `als-options.ts` for `model`, in O(users k² + interactions k): the unobserved
 * term taken over all pairs through the Gramian (α0 Σ_u x_uᵀ G x_u), then corrected entry by
 * entry to c (1 − ŷ)² on the observed ones.
 */
export function alsLoss(model: AlsModel, problem: AlsProblem): number {
  const { x, y, factors: k, users, items } = model;
  const a0 = problem.unobservedWeight;
  const g = gramian(y, items, k);
  let loss = 0;
  for (let u = 0; u < users; u++) {
    for (let a = 0; a < k; a++) {
      let s = 0;
      for (let b = 0; b < k; b++) s += g[a * k + b]! * x[u * k + b]!;
      loss += a0 * x[u * k + a]! * s;
    }
  }
  const { offsets, cols } = problem.user.rows;
  for (let u = 0; u < users; u++) {
    for (let e = offsets[u]!; e < offsets[u + 1]!; e++) {
      let yhat = 0;
      for (let a = 0, i = cols[e]! * k; a < k; a++) yhat += x[u * k + a]! * y[i + a]!;
      loss += problem.user.conf[e]! * (1 - yhat) ** 2 - a0 * yhat * yhat;
    }
  }
  const norms = (m: Float32Array, reg: Float32Array) => {
    let s = 0;
    for (let r = 0; r < reg.length; r++) for (let a = 0; a < k; a++) s += reg[r]! * m[r * k + a]! ** 2;
    return s;
  };
  return loss + norms(x, problem.user.reg) + norms(y, problem.item.reg);
}

/** Sweeps of a training run, whatever computes them (the reference in place, or a WebAssembly session). */
export interface AlsSweepRunner {
  /** Users against the items, then items against the new users. */
  sweep(): void;
  /** Brings the model up to date with the sweeps run so far. */
  readBack(): void;
}

export type AlsKernel = (model: AlsModel, problem: AlsProblem) => AlsSweepRunner;

/** The plain-TypeScript reference, in place. */
export const tsAlsKernel: AlsKernel = (model, problem) => ({
  sweep: () => {
    const { x, y, users, items, factors: k } = model;
    alsHalfSweep(x, y, items, problem.user, k, problem.unobservedWeight, problem.cgSteps);
    alsHalfSweep(y, x, users, problem.item, k, problem.unobservedWeight, problem.cgSteps);
  },
  readBack: () => undefined,
});

export interface AlsTrainOptions {
  /** Sweeps to run (a whole number ≥ 1). */
  epochs: number;
  /** Seeds the initial factors. */
  seed: number;
  /** Called after each sweep with the model as it stands; returning false stops there. */
  onEpoch?: (epoch: number, model: AlsModel) => boolean | void;
  /** `tsAlsKernel` (the default) or `wasmAlsKernel` of `als-wasm.ts`. */
  kernel?: AlsKernel;
}

/** Trains implicit ALS on the interactions of `table` (each row one positive; its rating read only with `useRatings`). */
export function trainAls(table: RatingsTable, hp: AlsHyperparameters, opts: AlsTrainOptions): AlsModel {
  const epochs = checkEpochs(opts.epochs);
  const model = createAlsModel(table, hp, opts.seed);
  const problem = alsProblem(table, hp);
  const runner = (opts.kernel ?? tsAlsKernel)(model, problem);
  for (let epoch = 1; epoch <= epochs; epoch++) {
    runner.sweep();
    if (opts.onEpoch) {
      runner.readBack();
      if (opts.onEpoch(epoch, model) === false) return model;
    }
  }
  runner.readBack();
  return model;
}

/** The model as a `Scorer`: x_u · y_i for every item (an unseen user scores 0 everywhere). */
export function alsScorer(model: AlsModel): Scorer {
  return { items: model.items, score: (u, out) => scoreDots(model.x, model.y, u, model.users, model.items, model.factors, out) };
}
