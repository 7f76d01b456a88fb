import { ML100K_GENRES } from './movielens-100k.js';
import { PlantedModel } from './planted-model.js';
import { gaussian, mulberry32 } from './random.js';
import { maxPerUser, parseSyntheticOptions, type SyntheticOptions } from './synthetic-options.js';
import type { Rating, Title } from './types.js';

/** The planted model's shape, near ml-100k's: mean 3.5 stars, spread of biases and of the factors' product. */
const PLANTED_MEAN_STARS = 3.5;
const USER_BIAS_SD_STARS = 0.35;
const ITEM_BIAS_SD_STARS = 0.45;
/** Standard deviation of a user's and a title's factors' dot product. */
const INTERACTION_SD_STARS = 0.6;
/** Seconds since the epoch of the first rating; each next one is a minute later. */
const FIRST_TIME_S = 1_700_000_000;

/** A generated ratings set and the model it was drawn from. */
export interface SyntheticSet {
  options: Required<SyntheticOptions>;
  model: PlantedModel;
  /** "Title 1 (1987)", with genres that follow the planted factors; ids "1", "2", … by popularity. */
  titles: Title[];
  /** The ratings as columns, in the order `ratings()` yields them: 0-based user and title indices (id − 1) and the rating. */
  user: Int32Array;
  item: Int32Array;
  rating: Float64Array;
  /**
   * The lowest RMSE any predictor can expect on these ratings: the planted model's own
   * prediction (`model.predict`), whose expected squared error is the noise left after
   * rounding. Continuous: exactly `noiseSigma`; whole stars: a little less (clamping at 1
   * and 5 removes noise) or more (rounding adds it), computed over these very pairs.
   */
  achievableRmse: number;
  /** The ratings as records, one a minute apart from 2023-11-14. */
  ratings(): Generator<Rating>;
}

/**
 * A seeded synthetic ratings set with the structure recommenders learn: Zipf popularity of
 * titles and activity of users, genres, and ratings drawn from a planted biased rank-`rank`
 * model plus Gaussian noise, so that the error a model should reach is known.
 */
export function syntheticSet(options: SyntheticOptions = {}): SyntheticSet {
  const o = parseSyntheticOptions(options);
  const rand = mulberry32(o.seed);
  const normal = gaussian(rand);
  const model = plant(o, normal);
  const titles = titlesOf(o, model, rand, normal);
  const { user, item } = drawPairs(o, rand);
  const rating = new Float64Array(o.ratings);
  let sumVariance = 0;
  for (let j = 0; j < o.ratings; j++) {
    const s = model.score(user[j]!, item[j]!);
    rating[j] = model.rate(s, normal());
    sumVariance += model.expected(s).variance;
  }
  return {
    options: o,
    model,
    titles,
    user,
    item,
    rating,
    achievableRmse: o.ratings === 0 ? 0 : Math.sqrt(sumVariance / o.ratings),
    *ratings() {
      for (let j = 0; j < rating.length; j++) yield { user: String(user[j]! + 1), item: String(item[j]! + 1), rating: rating[j]!, time: FIRST_TIME_S + j * 60 };
    },
  };
}

/** Ratings of `syntheticSet(opts)`, as records: what `reel start --synthetic` loads. */
export function* syntheticRatings(opts: SyntheticOptions = {}): Generator<Rating> {
  yield* syntheticSet(opts).ratings();
}

/** Draws the planted model: biases and factors, each factor entry N(0, f²) with rank·f⁴ the interaction variance. */
function plant(o: Required<SyntheticOptions>, normal: () => number): PlantedModel {
  const f = Math.pow((INTERACTION_SD_STARS * INTERACTION_SD_STARS) / o.rank, 0.25);
  const draw = (n: number, sd: number) => Float64Array.from({ length: n }, () => sd * normal());
  return new PlantedModel({
    rank: o.rank,
    mean: PLANTED_MEAN_STARS,
    userBias: draw(o.users, USER_BIAS_SD_STARS),
    itemBias: draw(o.items, ITEM_BIAS_SD_STARS),
    userFactors: draw(o.users * o.rank, f),
    itemFactors: draw(o.items * o.rank, f),
    noiseSigma: o.noiseSigma,
    scale: o.scale,
  });
}

/**
 * Titles with a year and one to three genres. Each genre is a random direction in factor
 * space, and a title takes the genres its factors point along most, so genre carries signal
 * about taste, as in real catalogues.
 */
function titlesOf(o: Required<SyntheticOptions>, model: PlantedModel, rand: () => number, normal: () => number): Title[] {
  const genres = ML100K_GENRES.filter((g) => g !== 'unknown');
  const directions = genres.map(() => Array.from({ length: o.rank }, normal));
  const q = model.params.itemFactors;
  return Array.from({ length: o.items }, (_, i) => {
    const along = directions.map((d, g) => ({ g, dot: d.reduce((a, x, k) => a + x * q[i * o.rank + k]!, 0) }));
    along.sort((a, b) => b.dot - a.dot);
    const count = 1 + Math.floor(rand() * 3);
    const year = 1930 + Math.floor(rand() * 91);
    const id = String(i + 1);
    return { id, title: `Title ${id} (${year})`, year, genres: along.slice(0, count).map((a) => genres[a.g]!) };
  });
}

/**
 * The (user, title) pairs, distinct, in a shuffled order. Each user's count follows the
 * activity power law (capped at half the titles, the excess spread over the others); each
 * user's titles are drawn by popularity, without repeats.
 */
function drawPairs(o: Required<SyntheticOptions>, rand: () => number): { user: Int32Array; item: Int32Array } {
  const counts = perUser(o);
  const cdf = zipfCdf(o.items, o.popularityExponent);
  const user = new Int32Array(o.ratings);
  const item = new Int32Array(o.ratings);
  // taken[i] === u + 1 while user u draws: no Set per user.
  const taken = new Int32Array(o.items);
  let j = 0;
  for (let u = 0; u < o.users; u++) {
    for (let c = counts[u]!; c > 0; ) {
      const i = lowerBound(cdf, rand());
      if (taken[i] === u + 1) continue;
      taken[i] = u + 1;
      user[j] = u;
      item[j++] = i;
      c--;
    }
  }
  // Interleave the users, as a log of ratings would: Fisher–Yates over both columns.
  for (let k = o.ratings - 1; k > 0; k--) {
    const m = Math.floor(rand() * (k + 1));
    const u = user[k]!;
    user[k] = user[m]!;
    user[m] = u;
    const i = item[k]!;
    item[k] = item[m]!;
    item[m] = i;
  }
  return { user, item };
}

/** Ratings per user: proportional to 1/(u+1)^s, at most half the titles each, summing to `ratings`. */
function perUser(o: Required<SyntheticOptions>): Int32Array {
  const cap = maxPerUser(o.items);
  const w = Array.from({ length: o.users }, (_, u) => Math.pow(u + 1, -o.activityExponent));
  const total = w.reduce((a, b) => a + b, 0);
  const counts = Int32Array.from(w, (x) => Math.min(cap, Math.floor((o.ratings * x) / total)));
  let left = o.ratings - counts.reduce((a, b) => a + b, 0);
  // What flooring and the cap left out, one at a time to users below the cap, the most active first.
  for (let u = 0; left > 0; u = (u + 1) % o.users) {
    if (counts[u]! < cap) {
      counts[u] = counts[u]! + 1;
      left--;
    }
  }
  return counts;
}

/** Cumulative Zipf weights of `n` ranks, normalised to end at 1. */
function zipfCdf(n: number, s: number): Float64Array {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let k = 0; k < n; k++) cdf[k] = sum += Math.pow(k + 1, -s);
  for (let k = 0; k < n; k++) cdf[k] = cdf[k]! / sum;
  cdf[n - 1] = 1;
  return cdf;
}

/** The first index whose cumulative weight exceeds `x` in [0, 1). */
function lowerBound(cdf: Float64Array, x: number): number {
  let lo = 0;
  let hi = cdf.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cdf[mid]! > x) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
