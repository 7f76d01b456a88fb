import { ModelArgumentError } from './errors.js';
import { userItemsOf, type UserItems } from './metrics.js';
import type { RatingsTable } from './ratings.js';

/**
 * Item-based k-nearest-neighbours with baselines (Koren 2010, "Factor in the neighbors";
 * Surprise's KNNBaseline): the baseline b_ui = mu + b_u + b_i, plus the user's own
 * residuals on the k items most similar to i,
 *
 *     r̂(u, i) = b_ui + Σ_{j ∈ N^k(i; u)} s_ij (r_uj − b_uj) / Σ_{j ∈ N^k(i; u)} s_ij,
 *
 * N^k(i; u) the k items u rated with the highest positive s_ij, and s the shrunk Pearson
 * correlation of baseline residuals over common raters. A different kind of model from MF,
 * whose errors differ: what a blend needs.
 */
export interface KnnBaselineOptions {
  /** Neighbours per prediction. @default 40 */
  k?: number;
  /** Shrinkage of a similarity towards 0: s · (n − 1) / (n − 1 + shrinkage), n the common raters. @default 100 */
  shrinkage?: number;
  /** Regularisation of the item baselines, in ratings. @default 10 */
  regItem?: number;
  /** Regularisation of the user baselines, in ratings. @default 15 */
  regUser?: number;
  /** Alternating passes fitting the baselines. @default 10 */
  baselineEpochs?: number;
}

export const DEFAULT_KNN_K = 40;
export const DEFAULT_KNN_SHRINKAGE = 100;
export const DEFAULT_KNN_REG_ITEM = 10;
export const DEFAULT_KNN_REG_USER = 15;
export const DEFAULT_KNN_BASELINE_EPOCHS = 10;

export function parseKnnBaselineOptions(o: KnnBaselineOptions = {}): Required<KnnBaselineOptions> {
  const out = {
    k: o.k ?? DEFAULT_KNN_K,
    shrinkage: o.shrinkage ?? DEFAULT_KNN_SHRINKAGE,
    regItem: o.regItem ?? DEFAULT_KNN_REG_ITEM,
    regUser: o.regUser ?? DEFAULT_KNN_REG_USER,
    baselineEpochs: o.baselineEpochs ?? DEFAULT_KNN_BASELINE_EPOCHS,
  };
  const bad: string[] = [];
  if (!Number.isInteger(out.k) || out.k < 1) bad.push('k');
  if (!Number.isInteger(out.baselineEpochs) || out.baselineEpochs < 1) bad.push('baselineEpochs');
  for (const f of ['shrinkage', 'regItem', 'regUser'] as const) if (!(Number.isFinite(out[f]) && out[f] >= 0)) bad.push(f);
  if (bad.length > 0) throw new ModelArgumentError(`bad kNN-baseline options: ${bad.join(', ')}`, bad);
  return out;
}

export interface KnnBaselineModel {
  readonly users: number;
  readonly items: number;
  readonly mu: number;
  readonly bu: Float32Array;
  readonly bi: Float32Array;
  /** items × items, row-major, symmetric: the shrunk similarities. */
  readonly sim: Float32Array;
  /** Each user's rated items and, aligned with them, the residuals r_uj − b_uj. */
  readonly rated: UserItems;
  readonly residuals: Float32Array;
  readonly k: number;
  readonly minRating: number;
  readonly maxRating: number;
}

/** Fits the baselines (alternating least squares), the residuals and the similarities. */
export function trainKnnBaseline(table: RatingsTable, options: KnnBaselineOptions = {}): KnnBaselineModel {
  const o = parseKnnBaselineOptions(options);
  if (table.n === 0) throw new ModelArgumentError('cannot train on an empty ratings table', ['table']);
  const { userCount: users, itemCount: items, n } = table;
  const { users: us, items: is, ratings: rs } = table;
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let j = 0; j < n; j++) {
    sum += rs[j]!;
    min = Math.min(min, rs[j]!);
    max = Math.max(max, rs[j]!);
  }
  const mu = sum / n;
  const bu = new Float64Array(users);
  const bi = new Float64Array(items);
  const cu = new Float64Array(users);
  const ci = new Float64Array(items);
  for (let j = 0; j < n; j++) {
    cu[us[j]!]++;
    ci[is[j]!]++;
  }
  const acc = new Float64Array(Math.max(users, items));
  for (let e = 0; e < o.baselineEpochs; e++) {
    acc.fill(0);
    for (let j = 0; j < n; j++) acc[is[j]!] += rs[j]! - mu - bu[us[j]!]!;
    for (let i = 0; i < items; i++) bi[i] = acc[i]! / (o.regItem + ci[i]!);
    acc.fill(0);
    for (let j = 0; j < n; j++) acc[us[j]!] += rs[j]! - mu - bi[is[j]!]!;
    for (let u = 0; u < users; u++) bu[u] = acc[u]! / (o.regUser + cu[u]!);
  }

  // Each user's items with their residuals (a repeated rating of a pair: the mean of its residuals).
  const rated = userItemsOf(table, users);
  const residuals = new Float32Array(rated.items.length);
  const counts = new Uint32Array(rated.items.length);
  for (let j = 0; j < n; j++) {
    const u = us[j]!;
    const x = findItem(rated, u, is[j]!);
    residuals[x] += rs[j]! - mu - bu[u]! - bi[is[j]!]!;
    counts[x]++;
  }
  for (let x = 0; x < residuals.length; x++) residuals[x] /= counts[x]!;

  // Pearson of residuals over common raters: Σ xy / √(Σ x² Σ y²), sums over the pairs of
  // each user's items (upper triangle), then shrunk by the number of common raters.
  const xy = new Float64Array(items * items);
  const xx = new Float64Array(items * items);
  const yy = new Float64Array(items * items);
  const common = new Uint32Array(items * items);
  for (let u = 0; u < users; u++) {
    const a = rated.offsets[u]!;
    const b = rated.offsets[u + 1]!;
    for (let x = a; x < b; x++) {
      const i = rated.items[x]!;
      const ri = residuals[x]!;
      const row = i * items;
      for (let w = x + 1; w < b; w++) {
        const rj = residuals[w]!;
        const c = row + rated.items[w]!;
        xy[c] += ri * rj;
        xx[c] += ri * ri;
        yy[c] += rj * rj;
        common[c]++;
      }
    }
  }
  const sim = new Float32Array(items * items);
  for (let i = 0; i < items; i++) {
    for (let j = i + 1; j < items; j++) {
      const c = i * items + j;
      const m = common[c]!;
      const den = Math.sqrt(xx[c]! * yy[c]!);
      if (m < 2 || den === 0) continue;
      const s = (xy[c]! / den) * ((m - 1) / (m - 1 + o.shrinkage));
      sim[c] = s;
      sim[j * items + i] = s;
    }
  }
  return {
    users, items, mu, bu: Float32Array.from(bu), bi: Float32Array.from(bi), sim, rated, residuals, k: o.k, minRating: min, maxRating: max,
  };
}

/** Position of item i in user u's ascending run of `ui` (it is there). */
function findItem(ui: UserItems, u: number, i: number): number {
  let lo = ui.offsets[u]!;
  let hi = ui.offsets[u + 1]! - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ui.items[mid]! < i) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Every rating of `table` predicted (read against the model's indices), clamped to the
 * training range: an unseen user or item gets its baseline, without neighbours.
 */
export function predictKnnTable(model: KnnBaselineModel, table: RatingsTable, out = new Float32Array(table.n)): Float32Array {
  const { items, sim, rated, residuals, k } = model;
  // Scratch for one prediction's candidate neighbours.
  let cap = 64;
  let sims = new Float64Array(cap);
  let res = new Float64Array(cap);
  for (let t = 0; t < table.n; t++) {
    const u = table.users[t]!;
    const i = table.items[t]!;
    const ku = u < model.users;
    const ki = i < items;
    let r = model.mu + (ku ? model.bu[u]! : 0) + (ki ? model.bi[i]! : 0);
    if (ku && ki) {
      const a = rated.offsets[u]!;
      const b = rated.offsets[u + 1]!;
      if (b - a > cap) {
        cap = b - a;
        sims = new Float64Array(cap);
        res = new Float64Array(cap);
      }
      let m = 0;
      const row = i * items;
      for (let x = a; x < b; x++) {
        const s = sim[row + rated.items[x]!]!;
        if (s <= 0) continue;
        sims[m] = s;
        res[m] = residuals[x]!;
        m++;
      }
      r += neighbourhood(sims, res, m, k);
    }
    out[t] = r < model.minRating ? model.minRating : r > model.maxRating ? model.maxRating : r;
  }
  return out;
}

/** Σ s r / Σ s over the k largest s of `sims[0 .. m)` (partial selection in place); 0 without any. */
function neighbourhood(sims: Float64Array, res: Float64Array, m: number, k: number): number {
  if (m > k) {
    // Selection of the k largest to the front (m is a few hundred at most).
    for (let x = 0; x < k; x++) {
      let best = x;
      for (let w = x + 1; w < m; w++) if (sims[w]! > sims[best]!) best = w;
      if (best !== x) {
        const s = sims[x]!;
        sims[x] = sims[best]!;
        sims[best] = s;
        const q = res[x]!;
        res[x] = res[best]!;
        res[best] = q;
      }
    }
    m = k;
  }
  let num = 0;
  let den = 0;
  for (let x = 0; x < m; x++) {
    num += sims[x]! * res[x]!;
    den += sims[x]!;
  }
  return den > 0 ? num / den : 0;
}

/**
 * `table` with users and items swapped: `trainKnnBaseline` on it is user-based kNN (the
 * neighbours of a user among the raters of the item). Predict a swapped table with it too.
 */
export function transposeTable(table: RatingsTable): RatingsTable {
  return {
    ...table,
    users: table.items, items: table.users, userCount: table.itemCount, itemCount: table.userCount, userIds: table.itemIds, itemIds: table.userIds,
  };
}
