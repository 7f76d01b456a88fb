import { RatingsTableBuilder, Rng, type RatingsTable } from '../../models/index.js';

/**
 * Implicit interactions with a planted taste structure: users fall in `groups` groups, each
 * group prefers its own slice of the items (90% of its interactions) over the rest, with
 * ratings 1..5. Factor models learn the groups; popularity cannot. Shared by the tests of the
 * implicit-feedback models (ALS, BPR).
 */
export function plantedInteractions(users: number, items: number, perUser: number, seed: number, groups = 4): RatingsTable {
  const rng = new Rng(seed);
  const b = new RatingsTableBuilder();
  const slice = Math.floor(items / groups);
  for (let u = 0; u < users; u++) {
    const g = u % groups;
    const seen = new Set<number>();
    while (seen.size < perUser) {
      const i = rng.next() < 0.9 ? g * slice + rng.below(slice) : rng.below(items);
      if (seen.has(i)) continue;
      seen.add(i);
      b.add(`u${u}`, `i${i}`, 1 + rng.below(5));
    }
  }
  return b.build();
}
