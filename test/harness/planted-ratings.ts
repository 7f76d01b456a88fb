import { RatingsTableBuilder, Rng, type RatingsTable } from '../../models/index.js';

/**
 * Ratings from a planted rank-3 model plus noise, rounded to 1..5 stars: a known structure
 * that factorization can learn and a global mean cannot. Shared by the tests of every MF kernel.
 */
export function planted(users: number, items: number, n: number, seed: number): RatingsTable {
  const rng = new Rng(seed);
  const k = 3;
  const pu = Float64Array.from({ length: users * k }, () => rng.normal());
  const qi = Float64Array.from({ length: items * k }, () => rng.normal());
  const b = new RatingsTableBuilder();
  for (let j = 0; j < n; j++) {
    const u = rng.below(users);
    const i = rng.below(items);
    let r = 3;
    for (let f = 0; f < k; f++) r += 0.6 * pu[u * k + f]! * qi[i * k + f]!;
    r += 0.3 * rng.normal();
    b.add(u, i, Math.max(1, Math.min(5, Math.round(r))));
  }
  return b.build();
}
