import type { RatingsTable } from './ratings.js';

/** The baseline a day's residuals are taken against: mu + b_u + b_i (a kNN-baseline model's fit). */
export interface Baseline {
  readonly mu: number;
  readonly bu: ArrayLike<number>;
  readonly bi: ArrayLike<number>;
}

/** Shrinkage of a day's mean residual towards 0, in ratings. @default 5 */
export const DEFAULT_DAY_SHRINKAGE = 5;

/**
 * A time effect (Koren 2009, "Collaborative filtering with temporal dynamics": the
 * day-specific user bias b_{u,t}) as a per-rating feature for a blend: for each rating of
 * `target`, the mean baseline residual r − (mu + b_u + b_i) of the same user's training
 * ratings on the same day, shrunk: Σ residuals / (count + shrinkage); 0 on a day without
 * any. Days are whole days since the epoch, one per rating, beside each table.
 */
export function dayBiasFeature(
  train: RatingsTable,
  trainDays: ArrayLike<number>,
  baseline: Baseline,
  target: RatingsTable,
  targetDays: ArrayLike<number>,
  shrinkage = DEFAULT_DAY_SHRINKAGE,
): Float32Array {
  const sums = new Map<number, { sum: number; n: number }>();
  // u · 2^21 + day: days since 1970 stay below 2^21 until the year 7711, and u < 2^32 keeps the key exact.
  const key = (u: number, day: number) => u * 2097152 + day;
  for (let j = 0; j < train.n; j++) {
    const u = train.users[j]!;
    const k = key(u, trainDays[j]!);
    const s = sums.get(k) ?? { sum: 0, n: 0 };
    s.sum += train.ratings[j]! - baseline.mu - baseline.bu[u]! - baseline.bi[train.items[j]!]!;
    s.n++;
    sums.set(k, s);
  }
  const out = new Float32Array(target.n);
  for (let t = 0; t < target.n; t++) {
    const s = sums.get(key(target.users[t]!, targetDays[t]!));
    out[t] = s ? s.sum / (s.n + shrinkage) : 0;
  }
  return out;
}
