import { ModelArgumentError } from './errors.js';

/**
 * A linear blend of predictions (and other per-rating features): r̂ = w_0 + Σ_f w_f x_f,
 * clamped. Its weights are fit by ridge least squares on a validation part, never on the
 * test ratings; `crossFitRmse` estimates its error there without fitting and scoring on the
 * same ratings.
 */
export interface LinearBlend {
  /** Intercept first, then one weight per feature. */
  readonly weights: Float64Array;
  readonly min: number;
  readonly max: number;
}

/** Ridge added to the normal equations, per rating: enough to keep them solvable, too small to bias. */
export const DEFAULT_BLEND_RIDGE = 1e-3;

/**
 * Fits a blend of `features` (each one value per rating) to `target` over the ratings `rows`
 * (all by default): the normal equations with `ridge · rows` on the diagonal, solved by
 * Gaussian elimination with partial pivoting.
 */
export function fitLinearBlend(
  features: ArrayLike<number>[],
  target: ArrayLike<number>,
  opts: { min: number; max: number; ridge?: number; rows?: ArrayLike<number> },
): LinearBlend {
  const n = target.length;
  for (const f of features) if (f.length !== n) throw new ModelArgumentError(`a feature has ${f.length} values for ${n} ratings`, ['features']);
  const rows = opts.rows ?? Uint32Array.from({ length: n }, (_, t) => t);
  const d = features.length + 1;
  const a = new Float64Array(d * d);
  const b = new Float64Array(d);
  const x = new Float64Array(d);
  x[0] = 1;
  for (let r = 0; r < rows.length; r++) {
    const t = rows[r]!;
    for (let f = 1; f < d; f++) x[f] = features[f - 1]![t]!;
    for (let i = 0; i < d; i++) {
      b[i] += x[i]! * target[t]!;
      for (let j = 0; j < d; j++) a[i * d + j] += x[i]! * x[j]!;
    }
  }
  for (let i = 0; i < d; i++) a[i * d + i] += (opts.ridge ?? DEFAULT_BLEND_RIDGE) * rows.length;
  return { weights: solve(a, b, d), min: opts.min, max: opts.max };
}

/** Solves a x = b (a d×d, row-major; both overwritten). */
function solve(a: Float64Array, b: Float64Array, d: number): Float64Array {
  for (let c = 0; c < d; c++) {
    let p = c;
    for (let r = c + 1; r < d; r++) if (Math.abs(a[r * d + c]!) > Math.abs(a[p * d + c]!)) p = r;
    if (a[p * d + c] === 0) throw new ModelArgumentError('the blend features are linearly dependent', ['features']);
    if (p !== c) {
      for (let j = 0; j < d; j++) [a[c * d + j], a[p * d + j]] = [a[p * d + j]!, a[c * d + j]!];
      [b[c], b[p]] = [b[p]!, b[c]!];
    }
    for (let r = 0; r < d; r++) {
      if (r === c) continue;
      const m = a[r * d + c]! / a[c * d + c]!;
      if (m === 0) continue;
      for (let j = c; j < d; j++) a[r * d + j] -= m * a[c * d + j]!;
      b[r] -= m * b[c]!;
    }
  }
  return Float64Array.from(b, (v, i) => v / a[i * d + i]!);
}

/** The blend's prediction of every rating, clamped to [min, max]. */
export function applyLinearBlend(blend: LinearBlend, features: ArrayLike<number>[], out = new Float32Array(features[0]?.length ?? 0)): Float32Array {
  const w = blend.weights;
  if (features.length + 1 !== w.length) throw new ModelArgumentError(`${features.length} features for a blend of ${w.length - 1}`, ['features']);
  for (let t = 0; t < out.length; t++) {
    let r = w[0]!;
    for (let f = 0; f < features.length; f++) r += w[f + 1]! * features[f]![t]!;
    out[t] = r < blend.min ? blend.min : r > blend.max ? blend.max : r;
  }
  return out;
}

/**
 * The blend's RMSE on `target` by two-fold cross-fitting: weights fit on the even ratings
 * score the odd ones and the other way round, so that no rating scores weights fit on it.
 */
export function crossFitRmse(features: ArrayLike<number>[], target: ArrayLike<number>, opts: { min: number; max: number; ridge?: number }): number {
  const n = target.length;
  const halves = [0, 1].map((h) => Uint32Array.from({ length: (n + 1 - h) >> 1 }, (_, x) => 2 * x + h));
  let se = 0;
  for (const [fitOn, scoreOn] of [[halves[0]!, halves[1]!], [halves[1]!, halves[0]!]] as const) {
    const blend = fitLinearBlend(features, target, { ...opts, rows: fitOn });
    const picked = features.map((f) => Float64Array.from(scoreOn, (t) => f[t]!));
    const p = applyLinearBlend(blend, picked);
    for (let x = 0; x < scoreOn.length; x++) se += (p[x]! - target[scoreOn[x]!]!) ** 2;
  }
  return Math.sqrt(se / n);
}
