import { ModelArgumentError } from './errors.js';
import { evaluateTopK, type Scorer, type UserItems } from './metrics.js';
import { Rng } from './rng.js';

/** What the cold-start protocol needs of a title: its id, genres and release year (when known). */
export interface ColdTitle {
  id: string;
  genres: readonly string[];
  year?: number;
}

/** One interaction, by ids. */
export interface ColdInteraction {
  user: string;
  item: string;
}

/**
 * The cold-start protocol's split: a seeded share of the catalogue's titles held out entirely,
 * every interaction with one of them going to test, the rest to training.
 */
export interface ColdStartSplit {
  seed: number;
  fraction: number;
  /** Held-out titles, in the order their scores are indexed (0 .. heldOut.length). */
  heldOut: ColdTitle[];
  train: ColdInteraction[];
  /** Users with at least one held-out title in test, in the order of `test`. */
  users: string[];
  /** Each of `users`' held-out titles (indices into `heldOut`). */
  test: UserItems;
}

/** Years per release-year bucket of the year prior. */
export const YEAR_BUCKET = 5;

/**
 * Holds out `fraction` of `titles` (chosen by a generator seeded with `seed`, over the titles
 * sorted by id, so the same seed holds out the same titles every run) and splits
 * `interactions` into training (titles kept) and test (titles held out), by user.
 */
export function coldStartSplit(titles: readonly ColdTitle[], interactions: readonly ColdInteraction[], opts: { fraction?: number; seed: number }): ColdStartSplit {
  const fraction = opts.fraction ?? 0.1;
  if (!(fraction > 0 && fraction < 1)) throw new ModelArgumentError(`the held-out share must be between 0 and 1, got ${fraction}`, ['fraction']);
  const sorted = [...titles].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  // A seed names one held-out set: the project's generator shuffles the sorted titles.
  const order = new Rng(opts.seed).shuffle(Uint32Array.from(sorted, (_, i) => i));
  const count = Math.max(1, Math.round(fraction * sorted.length));
  const heldOut = Array.from(order.subarray(0, count))
    .sort((a, b) => a - b)
    .map((i) => sorted[i]!);
  const at = new Map(heldOut.map((t, i) => [t.id, i]));
  const train: ColdInteraction[] = [];
  const byUser = new Map<string, Set<number>>();
  for (const it of interactions) {
    const h = at.get(it.item);
    if (h === undefined) train.push(it);
    else {
      let s = byUser.get(it.user);
      if (s === undefined) byUser.set(it.user, (s = new Set()));
      s.add(h);
    }
  }
  const users = [...byUser.keys()].sort();
  const offsets = new Uint32Array(users.length + 1);
  const items: number[] = [];
  users.forEach((u, x) => {
    const s = [...byUser.get(u)!].sort((a, b) => a - b);
    items.push(...s);
    offsets[x + 1] = items.length;
  });
  return { seed: opts.seed, fraction, heldOut, train, users, test: { offsets, items: Uint32Array.from(items), users: users.length } };
}

/** A cold-start ranking: scores every held-out title (by its index) for the split's user `u`. */
export type ColdScorer = (u: number, out: Float32Array) => void;

/** Recall and NDCG at `k`, over the split's users, of ranking every held-out title against each other. */
export function evaluateColdStart(split: ColdStartSplit, score: ColdScorer, k = 20): { recall: number; ndcg: number; users: number } {
  const scorer: Scorer = { items: split.heldOut.length, score };
  const none: UserItems = { offsets: new Uint32Array(split.test.users + 1), items: new Uint32Array(0), users: split.test.users };
  const [m] = evaluateTopK(scorer, split.test, { ks: [k], train: none });
  return { recall: m!.recall, ndcg: m!.ndcg, users: m!.users };
}

/** Titles in a random order per user (a generator seeded with `seed` and the user's index): the floor any model must clear. */
export function randomColdScorer(seed: number): ColdScorer {
  return (u, out) => {
    const rng = new Rng((seed ^ Math.imul(u + 1, 0x9e3779b1)) >>> 0);
    for (let i = 0; i < out.length; i++) out[i] = rng.next();
  };
}

/** Each user's share of training interactions with a title of each genre (a title with two genres counts for both). */
function genreShares(split: ColdStartSplit, titles: ReadonlyMap<string, ColdTitle>): Array<Map<string, number>> {
  const index = new Map(split.users.map((u, i) => [u, i]));
  const counts = split.users.map(() => new Map<string, number>());
  const totals = new Float64Array(split.users.length);
  for (const it of split.train) {
    const u = index.get(it.user);
    if (u === undefined) continue;
    totals[u]++;
    for (const g of titles.get(it.item)?.genres ?? []) counts[u]!.set(g, (counts[u]!.get(g) ?? 0) + 1);
  }
  return counts.map((c, u) => new Map([...c].map(([g, n]) => [g, n / Math.max(1, totals[u]!)])));
}

/**
 * Genre affinity: score(u, t) = the mean over t's genres g of the share of u's training
 * interactions whose title has genre g (0 for a title without genres).
 */
export function genreColdScorer(split: ColdStartSplit, titles: readonly ColdTitle[]): ColdScorer {
  const shares = genreShares(split, new Map(titles.map((t) => [t.id, t])));
  return (u, out) => {
    const s = shares[u]!;
    split.heldOut.forEach((t, i) => {
      let sum = 0;
      for (const g of t.genres) sum += s.get(g) ?? 0;
      out[i] = t.genres.length === 0 ? 0 : sum / t.genres.length;
    });
  };
}

/**
 * Genre affinity × year prior: `genreColdScorer`'s score times the share of all training
 * interactions whose title falls in t's release-year bucket (`YEAR_BUCKET` years; 0 for a
 * title without a year).
 */
export function genreYearColdScorer(split: ColdStartSplit, titles: readonly ColdTitle[]): ColdScorer {
  const byId = new Map(titles.map((t) => [t.id, t]));
  const buckets = new Map<number, number>();
  for (const it of split.train) {
    const y = byId.get(it.item)?.year;
    if (y !== undefined) buckets.set(Math.floor(y / YEAR_BUCKET), (buckets.get(Math.floor(y / YEAR_BUCKET)) ?? 0) + 1);
  }
  const prior = split.heldOut.map((t) => (t.year === undefined ? 0 : (buckets.get(Math.floor(t.year / YEAR_BUCKET)) ?? 0) / Math.max(1, split.train.length)));
  const genre = genreColdScorer(split, titles);
  return (u, out) => {
    genre(u, out);
    for (let i = 0; i < out.length; i++) out[i] = out[i]! * prior[i]!;
  };
}
