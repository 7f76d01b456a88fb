import { InvalidArgument } from '../runtime/errors.js';
import type { SyntheticScale } from './planted-model.js';

/** Shape of a synthetic ratings set. Every field is optional. */
export interface SyntheticOptions {
  /** @default 1000 */
  users?: number;
  /** Titles. @default 500 */
  items?: number;
  /** Ratings, at most one per (user, title); a user rates at most half the titles. @default 50000 */
  ratings?: number;
  /** The same seed gives the same set everywhere. @default 42 */
  seed?: number;
  /** Rank of the planted user and title factors. @default 8 */
  rank?: number;
  /** Standard deviation of the Gaussian noise on each planted score, in stars. @default 0.5 */
  noiseSigma?: number;
  /**
   * Zipf exponent of title popularity: title k (ids are popularity ranks) is drawn with
   * weight 1/k^s, so a few titles get most ratings, as in MovieLens. In [0, 2].
   * @default 1
   */
  popularityExponent?: number;
  /** Zipf exponent of user activity: user k rates in proportion to 1/k^s. In [0, 2]. @default 0.5 */
  activityExponent?: number;
  /**
   * `stars`: the noisy score rounded to whole stars and clamped to 1–5, as ml-100k;
   * `continuous`: the noisy score as it is, so that the achievable RMSE is exactly the noise.
   * @default 'stars'
   */
  scale?: SyntheticScale;
}

export const DEFAULT_SYNTHETIC_USERS = 1000;
export const DEFAULT_SYNTHETIC_ITEMS = 500;
export const DEFAULT_SYNTHETIC_RATINGS = 50_000;
export const DEFAULT_SYNTHETIC_SEED = 42;
export const DEFAULT_SYNTHETIC_RANK = 8;
export const DEFAULT_SYNTHETIC_NOISE_STARS = 0.5;

export function defaultSyntheticOptions(): Required<SyntheticOptions> {
  return {
    users: DEFAULT_SYNTHETIC_USERS,
    items: DEFAULT_SYNTHETIC_ITEMS,
    ratings: DEFAULT_SYNTHETIC_RATINGS,
    seed: DEFAULT_SYNTHETIC_SEED,
    rank: DEFAULT_SYNTHETIC_RANK,
    noiseSigma: DEFAULT_SYNTHETIC_NOISE_STARS,
    popularityExponent: 1,
    activityExponent: 0.5,
    scale: 'stars',
  };
}

/** The caller's options over the defaults; `InvalidArgument` naming every field out of range. */
export function parseSyntheticOptions(opts: SyntheticOptions = {}): Required<SyntheticOptions> {
  const o = { ...defaultSyntheticOptions(), ...Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) } as Required<SyntheticOptions>;
  const bad: string[] = [];
  const whole = (f: keyof SyntheticOptions, min: number) => {
    if (!Number.isSafeInteger(o[f]) || (o[f] as number) < min) bad.push(`${f} must be a whole number ≥ ${min} (got ${String(o[f])})`);
  };
  whole('users', 1);
  whole('items', 1);
  whole('ratings', 0);
  whole('seed', 0);
  whole('rank', 1);
  if (!(o.noiseSigma >= 0 && Number.isFinite(o.noiseSigma))) bad.push(`noiseSigma must be a finite number ≥ 0 (got ${o.noiseSigma})`);
  for (const f of ['popularityExponent', 'activityExponent'] as const) {
    if (!(o[f] >= 0 && o[f] <= 2)) bad.push(`${f} must be in [0, 2] (got ${o[f]})`);
  }
  if (o.scale !== 'stars' && o.scale !== 'continuous') bad.push(`scale must be 'stars' or 'continuous' (got ${String(o.scale)})`);
  if (bad.length === 0 && o.ratings > o.users * maxPerUser(o.items)) {
    bad.push(`ratings must be at most users × ⌈items / 2⌉ = ${o.users * maxPerUser(o.items)} (got ${o.ratings})`);
  }
  if (bad.length > 0) throw new InvalidArgument(`synthetic ratings: ${bad.join('; ')}`, { fields: bad.map((b) => b.split(' ')[0]!) });
  return o;
}

/** Ratings a user may give: half the titles, so that drawing distinct titles by popularity stays quick. */
export function maxPerUser(items: number): number {
  return Math.ceil(items / 2);
}
