import { describe, expect, it } from 'vitest';
import { evaluateTopK, userItemsOf } from './metrics.js';
import { popularityScorer } from './popularity.js';
import { RatingsTableBuilder } from './ratings.js';

describe('popularity', () => {
  it("popularity - ranks by training counts, minus the user's own items", () => {
    const b = new RatingsTableBuilder();
    // Items: a 3 interactions, b 2, c 1, d 0 (known to the index only through the test part).
    for (const [u, i] of [['x', 'a'], ['y', 'a'], ['z', 'a'], ['x', 'b'], ['y', 'b'], ['z', 'c']]) b.add(u, i, 5);
    const train = b.build();
    const test = new RatingsTableBuilder(train);
    test.add('x', 'c', 1);
    test.add('z', 'b', 1);
    test.add('z', 'd', 1);
    const t = test.build();
    const s = popularityScorer(train, t.itemCount);
    const out = new Float32Array(4);
    s.score(0, out);
    expect([...out]).toEqual([3, 2, 1, 0]);
    // x has a and b: its top 1 is c (a hit); z has a and c: its top 1 is b (a hit), d never ranks above.
    const [at1] = evaluateTopK(s, userItemsOf(t, t.userCount), { ks: [1], train: userItemsOf(train, t.userCount) });
    expect(at1!.hitRate).toBe(1);
    expect(at1!.recall).toBeCloseTo((1 + 1 / 2) / 2, 12);
  });
});
