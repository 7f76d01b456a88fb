import { ModelArgumentError } from './errors.js';
import type { RatingsTable } from './ratings.js';
import { TopK } from './top-k.js';

// ---- rating prediction ----

/** Root mean squared error of `predicted` against `actual` (NaN when both are empty). */
export function rmse(predicted: ArrayLike<number>, actual: ArrayLike<number>): number {
  sameLength(predicted, actual);
  let s = 0;
  for (let j = 0; j < actual.length; j++) {
    const e = predicted[j]! - actual[j]!;
    s += e * e;
  }
  return Math.sqrt(s / actual.length);
}

/** Mean absolute error of `predicted` against `actual` (NaN when both are empty). */
export function mae(predicted: ArrayLike<number>, actual: ArrayLike<number>): number {
  sameLength(predicted, actual);
  let s = 0;
  for (let j = 0; j < actual.length; j++) s += Math.abs(predicted[j]! - actual[j]!);
  return s / actual.length;
}

function sameLength(a: ArrayLike<number>, b: ArrayLike<number>): void {
  if (a.length !== b.length) throw new ModelArgumentError(`${a.length} predictions for ${b.length} ratings`, ['predicted']);
}

// ---- the items of each user ----

/**
 * Each user's distinct items, ascending, in compressed rows: user u's are
 * `items[offsets[u] .. offsets[u+1])`. For the items to exclude from a ranking (training,
 * validation) and the relevant ones (test): every interaction counts, whatever its rating.
 */
export interface UserItems {
  /** `users + 1` entries. */
  readonly offsets: Uint32Array;
  readonly items: Uint32Array;
  readonly users: number;
}

/** The distinct items of each user of `table`, for `users` users (default: the table's). */
export function userItemsOf(table: RatingsTable, users = table.userCount): UserItems {
  const offsets = new Uint32Array(users + 1);
  for (let j = 0; j < table.n; j++) offsets[table.users[j]! + 1]++;
  for (let u = 0; u < users; u++) offsets[u + 1] += offsets[u]!;
  const fill = offsets.slice(0, users);
  const all = new Uint32Array(table.n);
  for (let j = 0; j < table.n; j++) all[fill[table.users[j]!]!++] = table.items[j]!;
  // Sort each user's run and drop repeats, compacting in place.
  const out = new Uint32Array(table.n);
  const dedup = new Uint32Array(users + 1);
  let w = 0;
  for (let u = 0; u < users; u++) {
    const run = all.subarray(offsets[u]!, offsets[u + 1]!).sort();
    dedup[u] = w;
    for (let x = 0; x < run.length; x++) if (x === 0 || run[x] !== run[x - 1]) out[w++] = run[x]!;
  }
  dedup[users] = w;
  return { offsets: dedup, items: out.slice(0, w), users };
}

// ---- top-K ranking ----

/** Scores every item of a catalogue for one user: a model's ranking side. */
export interface Scorer {
  /** Items 0..items-1 are ranked; test items at or past it can never be hit. */
  readonly items: number;
  /** Writes user `u`'s score of every item into `out[0 .. items)`. */
  score(u: number, out: Float32Array): void;
}

export interface TopKOptions {
  /** Cut-offs, each a whole number ≥ 1 (e.g. [10, 20]); one ranking serves them all. */
  ks: number[];
  /** Training interactions: always left out of a user's ranking. */
  train: UserItems;
  /** More items to leave out (validation items, as RecBole's full-sort evaluation does). */
  exclude?: UserItems;
}

/** Top-K metrics at one cut-off, averaged over the users with test items. */
export interface TopKMetrics {
  k: number;
  /** Users evaluated: those with at least one test item. */
  users: number;
  /** Hits in the top k / the user's test items. */
  recall: number;
  /** DCG of the hits (binary relevance, 1/log2(rank+1)) / ideal DCG over min(test items, k). */
  ndcg: number;
  /** 1 / rank of the first hit in the top k, 0 without one. */
  mrr: number;
  /** Share of users with at least one hit. */
  hitRate: number;
  /** Distinct items recommended to anyone in a top k / the catalogue's items. */
  coverage: number;
}

/**
 * Ranks the whole catalogue for every user with test items, leaving out the user's training
 * items and `exclude`'s, and scores the top k against the test items (each relevant, binary).
 * A test item that is also excluded (a repeat of a training interaction) or unknown to the
 * scorer stays in the user's count: it is a miss the model cannot avoid, never dropped.
 */
export function evaluateTopK(scorer: Scorer, test: UserItems, opts: TopKOptions): TopKMetrics[] {
  const ks = opts.ks;
  if (ks.length === 0 || ks.some((k) => !Number.isInteger(k) || k < 1)) throw new ModelArgumentError(`cut-offs must be whole numbers ≥ 1, got [${ks.join(', ')}]`, ['ks']);
  const n = scorer.items;
  const maxK = Math.max(...ks);
  const top = new TopK(maxK);
  const scores = new Float32Array(n);
  const skip = new Uint8Array(n);
  const relevant = new Uint8Array(n);
  const recommended = ks.map(() => new Uint8Array(n));
  // 1/log2(r+2) for rank r = 0..maxK-1, and its running sums (the ideal DCGs).
  const gain = Float64Array.from({ length: maxK }, (_, r) => 1 / Math.log2(r + 2));
  const idealDcg = new Float64Array(maxK + 1);
  for (let r = 0; r < maxK; r++) idealDcg[r + 1] = idealDcg[r]! + gain[r]!;
  const sums = ks.map(() => ({ recall: 0, ndcg: 0, mrr: 0, hits: 0 }));
  let users = 0;

  for (let u = 0; u < test.users; u++) {
    const t0 = test.offsets[u]!;
    const t1 = test.offsets[u + 1]!;
    const nTest = t1 - t0;
    if (nTest === 0) continue;
    users++;
    mark(skip, opts.train, u, n, 1);
    if (opts.exclude) mark(skip, opts.exclude, u, n, 1);
    for (let x = t0; x < t1; x++) if (test.items[x]! < n) relevant[test.items[x]!] = 1;
    scorer.score(u, scores);
    const got = top.select(scores, n, skip);
    for (let c = 0; c < ks.length; c++) {
      const k = ks[c]!;
      const s = sums[c]!;
      let hits = 0;
      let dcg = 0;
      let firstHit = -1;
      for (let r = 0; r < Math.min(k, got); r++) {
        const item = top.items[r]!;
        recommended[c]![item] = 1;
        if (relevant[item] === 0) continue;
        hits++;
        dcg += gain[r]!;
        if (firstHit < 0) firstHit = r;
      }
      s.recall += hits / nTest;
      s.ndcg += dcg / idealDcg[Math.min(nTest, k)]!;
      s.mrr += firstHit < 0 ? 0 : 1 / (firstHit + 1);
      s.hits += hits > 0 ? 1 : 0;
    }
    mark(skip, opts.train, u, n, 0);
    if (opts.exclude) mark(skip, opts.exclude, u, n, 0);
    for (let x = t0; x < t1; x++) if (test.items[x]! < n) relevant[test.items[x]!] = 0;
  }

  return ks.map((k, c) => {
    const s = sums[c]!;
    let covered = 0;
    for (let i = 0; i < n; i++) covered += recommended[c]![i]!;
    const per = (x: number) => (users === 0 ? NaN : x / users);
    return { k, users, recall: per(s.recall), ndcg: per(s.ndcg), mrr: per(s.mrr), hitRate: per(s.hits), coverage: n === 0 ? NaN : covered / n };
  });
}

/** Sets `flags[i] = v` for user u's items in `ui` (those below n). */
function mark(flags: Uint8Array, ui: UserItems, u: number, n: number, v: number): void {
  if (u >= ui.users) return;
  for (let x = ui.offsets[u]!; x < ui.offsets[u + 1]!; x++) if (ui.items[x]! < n) flags[ui.items[x]!] = v;
}
