import type { LoggedType } from '../messages.js';
import { DEFAULT_INTERACTION_WEIGHTS, type InteractionWeights } from './interaction-weights.js';
import type { TitleMatrix } from './title-matrix.js';

/** History entries a fold-in looks at, the newest (its cost grows with them: entries × (factors + 1)²). */
export const FOLD_IN_HISTORY = 500;

/**
 * The rating an interaction without one stands for, in a fold-in (on the 1–5 scale of explicit
 * models): a thumbs-down, or any interaction with a title the user dislikes, a low one; any
 * other (a play, a completion, a thumbs-up, a list add) a good one. Its weight is its type's
 * (`InteractionWeights`).
 */
export const IMPLIED = { liked: { rating: 4 }, disliked: { rating: 1 } } as const;

/**
 * One entry of a user's history for a fold-in: the title, its rating (NaN when it has none), its
 * type (UNSPECIFIED: kept before types were, counted as a RATING when it has a rating, else as a
 * PLAY), and whether the user dislikes the title now.
 */
export interface FoldEntry {
  titleId: string;
  rating: number;
  type: LoggedType;
  disliked: boolean;
}

/**
 * The rating an entry stands for and its weight; weight 0 when it does not count. A rating is
 * itself; an interaction with a disliked title stands for the disliked rating with THUMBS_DOWN's
 * weight (negative feedback pulls the row away from the title, hence from its neighbours);
 * a thumbs-down taken back by a later thumbs-up counts as a thumbs-up; any other interaction
 * stands for the liked rating with its type's weight. A type of weight 0 never counts.
 */
export function impliedBy(e: FoldEntry, weights: InteractionWeights): { rating: number; weight: number } {
  const type = e.type !== 'UNSPECIFIED' ? e.type : Number.isNaN(e.rating) ? 'PLAY' : 'RATING';
  const own = weights[type];
  if (!(own > 0)) return { rating: 0, weight: 0 };
  if (type === 'RATING' && !Number.isNaN(e.rating)) return { rating: e.rating, weight: own };
  if (e.disliked) return { rating: IMPLIED.disliked.rating, weight: weights.THUMBS_DOWN };
  if (type === 'THUMBS_DOWN') return { rating: IMPLIED.liked.rating, weight: weights.THUMBS_UP };
  return { rating: IMPLIED.liked.rating, weight: own };
}

/**
 * The user's row (factors, then bias) that best explains its history against the version's
 * fixed title rows: the regularised weighted least squares
 *
 *   minimise Σ w_i (y_i − p·q_i − b_u)² + λ n (|p|² + b_u²),  y_i = r_i − μ − b_i,
 *
 * solved exactly ((f+1)×(f+1) normal equations, Cholesky), λ the version's regularisation and n
 * the entries used (frequency scaling, as in "Revisiting iALS"); w_i and y_i by `impliedBy` with
 * the node's `weights` (entries of weight 0 are not used at all). Explicit models (`mf`, `svdpp`)
 * take the ratings as they are; a ranking model (`bpr`) has no rating scale, and takes +1 for a
 * liked title and −1 for a disliked one around a mean of 0. Entries whose title has no row in
 * the version are left out; undefined when none has one.
 */
export function foldIn(m: TitleMatrix, history: readonly FoldEntry[], weights: InteractionWeights = DEFAULT_INTERACTION_WEIGHTS): Float32Array | undefined {
  const f = m.factors;
  const n = f + 1;
  const ranking = m.fit.model === 'bpr';
  const a = new Float64Array(n * n);
  const b = new Float64Array(n);
  const z = new Float64Array(n);
  let used = 0;
  for (const e of history) {
    const r = m.rowOf(e.titleId);
    if (r === undefined) continue;
    const { rating: implied, weight } = impliedBy(e, weights);
    if (!(weight > 0)) continue;
    const rating = ranking ? (e.disliked || implied < 3 ? -1 : 1) : implied;
    const q = m.rows.subarray(r * n, r * n + n);
    const y = rating - (ranking ? 0 : m.fit.mean) - q[f]!;
    for (let x = 0; x < f; x++) z[x] = q[x]!;
    z[f] = 1;
    for (let i = 0; i < n; i++) {
      const wz = weight * z[i]!;
      b[i] += wz * y;
      for (let j = 0; j <= i; j++) a[i * n + j] += wz * z[j]!;
    }
    used++;
  }
  if (used === 0) return undefined;
  const lambda = Math.max(1e-6, m.fit.reg) * used;
  for (let i = 0; i < n; i++) a[i * n + i] += lambda;
  const x = choleskySolve(a, b, n);
  return Float32Array.from(x);
}

/** Solves A x = b for a symmetric positive definite A given by its lower triangle (row-major, overwritten). */
function choleskySolve(a: Float64Array, b: Float64Array, n: number): Float64Array {
  for (let j = 0; j < n; j++) {
    let d = a[j * n + j]!;
    for (let k = 0; k < j; k++) d -= a[j * n + k]! ** 2;
    const l = Math.sqrt(Math.max(d, 1e-12));
    a[j * n + j] = l;
    for (let i = j + 1; i < n; i++) {
      let s = a[i * n + j]!;
      for (let k = 0; k < j; k++) s -= a[i * n + k]! * a[j * n + k]!;
      a[i * n + j] = s / l;
    }
  }
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = b[i]!;
    for (let k = 0; k < i; k++) s -= a[i * n + k]! * y[k]!;
    y[i] = s / a[i * n + i]!;
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = y[i]!;
    for (let k = i + 1; k < n; k++) s -= a[k * n + i]! * x[k]!;
    x[i] = s / a[i * n + i]!;
  }
  return x;
}
