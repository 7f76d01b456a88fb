import { describe, expect, it } from 'vitest';
import { plantedInteractions } from '../test/harness/planted-interactions.js';
import { splitByUserRatio, splitCounts } from './split.js';
import { countsOf } from './ratings.js';

describe('split', () => {
  it("split - per-user counts round as RecBole's _calcu_split_ids does", () => {
    const r = [0.8, 0.1, 0.1];
    expect(splitCounts(20, r)).toEqual([16, 2, 2]);
    expect(splitCounts(25, r)).toEqual([21, 2, 2]); // later parts rounded down, the first takes the rest
    expect(splitCounts(29, r)).toEqual([25, 2, 2]);
    expect(splitCounts(30, r)).toEqual([24, 3, 3]);
    expect(splitCounts(5, r)).toEqual([3, 1, 1]); // a share in (0, 1) takes one from the first part
    expect(splitCounts(2, r)).toEqual([1, 0, 1]); // ... while the first keeps more than one
    expect(splitCounts(1, r)).toEqual([1, 0, 0]);
    expect(splitCounts(10, [8, 1, 1])).toEqual([8, 1, 1]); // ratios need not sum to 1
  });

  it('split - each user is cut 80/10/10 with nothing lost or shared; the same seed gives the same split', () => {
    const table = plantedInteractions(40, 60, 23, 1);
    const s = splitByUserRatio(table, [0.8, 0.1, 0.1], 7);
    expect(s.train.n + s.valid.n + s.test.n).toBe(table.n);
    const per = (t: typeof s.train) => countsOf(t.users, table.userCount);
    const [tr, va, te] = [per(s.train), per(s.valid), per(s.test)];
    for (let u = 0; u < table.userCount; u++) expect([tr[u], va[u], te[u]]).toEqual(splitCounts(23, [0.8, 0.1, 0.1]));
    const key = (t: typeof s.train) => Array.from({ length: t.n }, (_, j) => `${t.users[j]},${t.items[j]}`);
    expect(new Set([...key(s.train), ...key(s.valid), ...key(s.test)]).size).toBe(table.n);
    const again = splitByUserRatio(table, [0.8, 0.1, 0.1], 7);
    expect(key(again.test)).toEqual(key(s.test));
    expect(key(splitByUserRatio(table, [0.8, 0.1, 0.1], 8).test)).not.toEqual(key(s.test));
    expect(() => splitByUserRatio(table, [0.8, -0.1, 0.3], 1)).toThrow(/split ratios/);
  });
});
