import { describe, expect, it } from 'vitest';
import { assignShards } from './placement-rendezvous.js';

const nodes = (ids: string[], w = 1) => ids.map((id) => ({ id, weight: w }));

describe('rendezvous placement', () => {
  it('placement - is deterministic and covers every shard', () => {
    const a = assignShards(128, nodes(['a', 'b', 'c']));
    const b = assignShards(128, nodes(['c', 'a', 'b']));
    expect([...a]).toEqual([...b]);
    expect(a.size).toBe(128);
  });

  it('placement - a joining node takes about 1/(N+1) of the shards and nothing else moves', () => {
    const before = assignShards(1024, nodes(['a', 'b', 'c']));
    const after = assignShards(1024, nodes(['a', 'b', 'c', 'd']));
    let moved = 0;
    for (let s = 0; s < 1024; s++) {
      if (before.get(s) !== after.get(s)) {
        moved++;
        expect(after.get(s)).toBe('d');
      }
    }
    expect(moved).toBeGreaterThan(1024 * 0.18);
    expect(moved).toBeLessThan(1024 * 0.32);
  });

  it('placement - a leaving node hands its shards out and nothing else moves', () => {
    const before = assignShards(512, nodes(['a', 'b', 'c', 'd']));
    const after = assignShards(512, nodes(['a', 'b', 'd']));
    for (let s = 0; s < 512; s++) if (before.get(s) !== 'c') expect(after.get(s)).toBe(before.get(s));
  });

  it('placement - weights skew the share', () => {
    const a = assignShards(4096, [{ id: 'big', weight: 3 }, { id: 'small', weight: 1 }]);
    const big = [...a.values()].filter((n) => n === 'big').length / 4096;
    expect(big).toBeGreaterThan(0.7);
    expect(big).toBeLessThan(0.8);
  });

  it('placement - overrides win while their node is live', () => {
    const a = assignShards(8, nodes(['a', 'b']), new Map([[3, 'b'], [4, 'gone']]));
    expect(a.get(3)).toBe('b');
    expect(['a', 'b']).toContain(a.get(4));
  });
});
