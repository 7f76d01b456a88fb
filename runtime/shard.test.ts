import { describe, expect, it } from 'vitest';
import { addressHash, parseShardList, shardOf } from './shard.js';

describe('shard function', () => {
  it('shard - is stable: pinned values never change between runs, nodes or releases', () => {
    // Changing these breaks every existing cluster: snapshots would be looked up on the wrong shard.
    expect([shardOf('user', '42', 128), shardOf('title', '42', 128), shardOf('user', '', 128), shardOf('user', 'ü', 128)]).toEqual([40, 45, 64, 76]);
    expect(addressHash('ab', 'c')).not.toBe(addressHash('a', 'bc'));
  });

  it('shard - spreads keys evenly over the shards', () => {
    const counts = new Array(128).fill(0);
    for (let i = 0; i < 128_000; i++) counts[shardOf('user', String(i), 128)]++;
    expect(Math.min(...counts)).toBeGreaterThan(850);
    expect(Math.max(...counts)).toBeLessThan(1150);
  });

  it('shard - parses shard lists and refuses bad ones', () => {
    expect(parseShardList('0-3,7,5-5', 8)).toEqual([0, 1, 2, 3, 5, 7]);
    expect(() => parseShardList('0-8', 8)).toThrow(/outside 0-7/);
    expect(() => parseShardList('x', 8)).toThrow(/not N or N-M/);
  });
});
