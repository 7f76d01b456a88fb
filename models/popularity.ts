import { countsOf, type RatingsTable } from './ratings.js';
import type { Scorer } from './metrics.js';

/**
 * The popularity baseline: every user gets the items with the most training interactions
 * (the same list for everyone, minus the user's own items), the floor any personalised model
 * must clear.
 */
export function popularityScorer(train: RatingsTable, items = train.itemCount): Scorer {
  const counts = Float32Array.from(countsOf(train.items, items));
  return { items, score: (_u, out) => out.set(counts) };
}
