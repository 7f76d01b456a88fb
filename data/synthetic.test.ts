import { describe, expect, it } from 'vitest';
import { InvalidArgument } from '../runtime/errors.js';
import { ML100K_GENRES } from './movielens-100k.js';
import { syntheticRatings, syntheticSet, type SyntheticSet } from './synthetic.js';

/** RMSE over the set of a prediction of (user index, title index). */
function rmse(s: SyntheticSet, predict: (u: number, i: number) => number): number {
  let se = 0;
  for (let j = 0; j < s.rating.length; j++) se += (predict(s.user[j]!, s.item[j]!) - s.rating[j]!) ** 2;
  return Math.sqrt(se / s.rating.length);
}

describe('synthetic ratings', () => {
  it('synthetic - the same seed gives the same set, another seed another', () => {
    const a = syntheticSet({ ratings: 20_000, seed: 7 });
    const b = syntheticSet({ ratings: 20_000, seed: 7 });
    expect([...b.ratings()]).toEqual([...a.ratings()]);
    expect(b.titles).toEqual(a.titles);
    expect(b.model.params).toEqual(a.model.params);
    expect(b.achievableRmse).toBe(a.achievableRmse);
    const c = syntheticSet({ ratings: 20_000, seed: 8 });
    expect(c.rating).not.toEqual(a.rating);
  });

  it('synthetic - continuous: the planted model\'s own RMSE on its data is the noise sigma, recorded as the achievable error', () => {
    for (const noiseSigma of [0.3, 0.8]) {
      const s = syntheticSet({ scale: 'continuous', noiseSigma, seed: 3 });
      expect(s.achievableRmse).toBeCloseTo(noiseSigma, 12);
      expect(rmse(s, (u, i) => s.model.score(u, i)) / noiseSigma).toBeGreaterThan(0.98);
      expect(rmse(s, (u, i) => s.model.score(u, i)) / noiseSigma).toBeLessThan(1.02);
    }
  });

  it('synthetic - whole stars: ratings are 1–5, and the planted model\'s best prediction reaches the recorded achievable RMSE', () => {
    const s = syntheticSet({ seed: 5 });
    expect(s.rating.every((r) => Number.isInteger(r) && r >= 1 && r <= 5)).toBe(true);
    expect(new Set(s.rating).size).toBe(5);
    const planted = rmse(s, (u, i) => s.model.predict(u, i));
    expect(Math.abs(planted - s.achievableRmse) / s.achievableRmse).toBeLessThan(0.02);
    // Rounding to whole stars adds about 1/12 of variance; clamping at 1 and 5 takes some away.
    expect(s.achievableRmse).toBeGreaterThan(0.45);
    expect(s.achievableRmse).toBeLessThan(Math.sqrt(0.5 ** 2 + 1 / 12));
  });

  it('synthetic - the low-rank part carries signal: biases alone, or the mean, do clearly worse than the planted model', () => {
    const s = syntheticSet({ scale: 'continuous', seed: 11, rank: 4 });
    const { mean, userBias, itemBias } = s.model.params;
    const biasesOnly = rmse(s, (u, i) => mean + userBias[u]! + itemBias[i]!);
    const average = s.rating.reduce((a, b) => a + b, 0) / s.rating.length;
    const meanOnly = rmse(s, () => average);
    expect(biasesOnly).toBeGreaterThan(s.achievableRmse + 0.2);
    expect(meanOnly).toBeGreaterThan(biasesOnly + 0.1);
  });

  it('synthetic - power-law popularity, distinct (user, title) pairs, every user capped at half the titles', () => {
    const s = syntheticSet({ users: 2000, items: 1000, ratings: 100_000, seed: 2 });
    const perItem = new Int32Array(1000);
    for (const i of s.item) perItem[i]!++;
    const top = [...perItem].sort((a, b) => b - a);
    const share = top.slice(0, 100).reduce((a, b) => a + b, 0) / 100_000;
    expect(share).toBeGreaterThan(0.35);
    expect(perItem[0]!).toBeGreaterThan(10 * perItem[399]!);
    expect(perItem[9]!).toBeGreaterThan(perItem[99]!);
    const pairs = new Set<number>();
    const perUser = new Int32Array(2000);
    for (let j = 0; j < s.user.length; j++) {
      pairs.add(s.user[j]! * 1000 + s.item[j]!);
      perUser[s.user[j]!]!++;
    }
    expect(pairs.size).toBe(100_000);
    expect(Math.max(...perUser)).toBeLessThanOrEqual(500);
    expect(perUser[0]!).toBeGreaterThan(5 * perUser[1999]!);
  });

  it('synthetic - each title has one to three MovieLens genres that follow its planted factors', () => {
    const s = syntheticSet({ items: 2000, ratings: 1000, seed: 4 });
    const names = new Set(ML100K_GENRES);
    for (const t of s.titles) {
      expect(t.genres.length).toBeGreaterThanOrEqual(1);
      expect(t.genres.length).toBeLessThanOrEqual(3);
      for (const g of t.genres) expect(names.has(g) && g !== 'unknown').toBe(true);
      expect(t.title).toBe(`Title ${t.id} (${t.year})`);
    }
    // Titles sharing their first genre point the same way in factor space; others do not.
    const { itemFactors: q, rank } = s.model.params;
    const cos = (a: number, b: number) => {
      let d = 0, na = 0, nb = 0;
      for (let k = 0; k < rank; k++) {
        d += q[a * rank + k]! * q[b * rank + k]!;
        na += q[a * rank + k]! ** 2;
        nb += q[b * rank + k]! ** 2;
      }
      return d / Math.sqrt(na * nb);
    };
    let same = 0, nSame = 0, other = 0, nOther = 0;
    for (let a = 0; a < 400; a++) {
      for (let b = a + 1; b < 400; b++) {
        if (s.titles[a]!.genres[0] === s.titles[b]!.genres[0]) (same += cos(a, b)), nSame++;
        else (other += cos(a, b)), nOther++;
      }
    }
    expect(same / nSame).toBeGreaterThan(other / nOther + 0.2);
  });

  it('synthetic - options out of range are an InvalidArgument naming each field', () => {
    const err = (() => {
      try {
        syntheticSet({ users: 0, rank: 1.5, noiseSigma: -1, popularityExponent: 3 });
      } catch (e) {
        return e;
      }
    })() as InvalidArgument;
    expect(err).toBeInstanceOf(InvalidArgument);
    expect(err.fields).toEqual(['users', 'rank', 'noiseSigma', 'popularityExponent']);
    expect(() => syntheticSet({ users: 10, items: 10, ratings: 51 })).toThrow('ratings must be at most users × ⌈items / 2⌉ = 50 (got 51)');
    expect(syntheticSet({ users: 10, items: 10, ratings: 50 }).rating).toHaveLength(50);
  });

  it('synthetic - syntheticRatings, what reel start --synthetic loads, yields the default set as records a minute apart', () => {
    const rs = [...syntheticRatings()];
    expect(rs).toHaveLength(50_000);
    expect(new Set(rs.map((r) => r.user)).size).toBe(1000);
    expect(rs[0]).toMatchObject({ time: 1_700_000_000 });
    expect(rs[1]!.time - rs[0]!.time).toBe(60);
    expect(rs.every((r) => /^\d+$/.test(r.user) && /^\d+$/.test(r.item))).toBe(true);
  });
});
