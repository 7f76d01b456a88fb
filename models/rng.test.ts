import { describe, expect, it } from 'vitest';
import { Rng, identityOrder } from './rng.js';

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
});
