import type { Rating } from './types.js';

/** Shape of a synthetic ratings set. */
export interface SyntheticOptions {
  /** @default 1000 */
  users?: number;
  /** @default 500 */
  items?: number;
  /** Ratings to generate. @default 50000 */
  ratings?: number;
  /** @default 42 */
  seed?: number;
}

/** A small deterministic PRNG (mulberry32): the same seed gives the same data everywhere. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Ratings with a popularity skew (items drawn from a power law) and per-item quality,
 * so that popular and well-rated titles exist as in real catalogues.
 */
export function* syntheticRatings(opts: SyntheticOptions = {}): Generator<Rating> {
  const users = opts.users ?? 1000;
  const items = opts.items ?? 500;
  const n = opts.ratings ?? 50_000;
  const rand = mulberry32(opts.seed ?? 42);
  const quality = Array.from({ length: items }, () => 2 + rand() * 2.5);
  const t0 = 1_700_000_000;
  for (let i = 0; i < n; i++) {
    const user = 1 + Math.floor(rand() * users);
    const item = 1 + Math.min(items - 1, Math.floor(items * Math.pow(rand(), 2.5)));
    const noisy = quality[item - 1]! + (rand() - 0.5) * 2;
    const rating = Math.max(1, Math.min(5, Math.round(noisy)));
    yield { user: String(user), item: String(item), rating, time: t0 + i * 60 };
  }
}
