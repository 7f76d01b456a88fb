import { describe, expect, it } from 'vitest';
import { BUCKETED_SHUFFLE_ROWS, EpochOrders, Rng, bucketedShuffle, identityOrder } from './rng.js';

describe('rng', () => {
  it('rng - the same seed gives the same stream, another seed another', () => {
    const a = new Rng(1);
    const b = new Rng(1);
    const c = new Rng(2);
    const xs = Array.from({ length: 5 }, () => a.nextU32());
    expect(Array.from({ length: 5 }, () => b.nextU32())).toEqual(xs);
    expect(Array.from({ length: 5 }, () => c.nextU32())).not.toEqual(xs);
    expect(xs.every((x) => Number.isInteger(x) && x >= 0 && x < 2 ** 32)).toBe(true);
  });

  it('rng - below(n) stays in [0, n) and covers it; normals have mean 0 and variance 1', () => {
    const r = new Rng(3);
    const seen = new Uint32Array(10);
    for (let j = 0; j < 10_000; j++) seen[r.below(10)]++;
    expect([...seen].every((c) => c > 850 && c < 1150)).toBe(true);
    let s = 0;
    let s2 = 0;
    const n = 20_000;
    for (let j = 0; j < n; j++) {
      const x = r.normal();
      s += x;
      s2 += x * x;
    }
    expect(Math.abs(s / n)).toBeLessThan(0.03);
    expect(Math.abs(s2 / n - 1)).toBeLessThan(0.05);
  });

  it('rng - shuffle is a permutation, and seeded', () => {
    const a = new Rng(4).shuffle(identityOrder(100));
    expect([...a].sort((x, y) => x - y)).toEqual([...identityOrder(100)]);
    expect([...a]).not.toEqual([...identityOrder(100)]);
    expect([...new Rng(4).shuffle(identityOrder(100))]).toEqual([...a]);
  });

  it('rng - the bucketed shuffle makes every order equally likely (all 24 orders of 4 rows, 24,000 draws)', () => {
    const rng = new Rng(5);
    const seen = new Map<string, number>();
    const dst = new Uint32Array(4);
    const tags = new Uint8Array(4);
    for (let d = 0; d < 24_000; d++) {
      const key = [...bucketedShuffle(rng, identityOrder(4), dst, tags)].join('');
      seen.set(key, (seen.get(key) ?? 0) + 1);
    }
    expect(seen.size).toBe(24);
    for (const [, c] of seen) expect(c).toBeGreaterThan(850), expect(c).toBeLessThan(1150);
  });

  it('rng - epoch orders of millions of rows (bucketed) are permutations, fresh each epoch and seeded', () => {
    const n = BUCKETED_SHUFFLE_ROWS + 3;
    const a = new EpochOrders(n, 1);
    const first = a.next().slice();
    const second = a.next();
    const isPermutation = (o: Uint32Array) => {
      const hit = new Uint8Array(n);
      for (const x of o) hit[x] = 1;
      return o.length === n && hit.every((h) => h === 1);
    };
    const same = (x: Uint32Array, y: Uint32Array) => {
      let k = 0;
      for (let i = 0; i < n; i++) if (x[i] === y[i]) k++;
      return k;
    };
    expect(isPermutation(first)).toBe(true);
    expect(isPermutation(second)).toBe(true);
    // Far from the identity and from each other: a few rows in the same place at most.
    expect(same(first, identityOrder(n))).toBeLessThan(20);
    expect(same(first, second)).toBeLessThan(20);
    expect(same(new EpochOrders(n, 1).next(), first)).toBe(n);
  });
});
