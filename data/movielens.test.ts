import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DataFormatError, readRatings, type Rating } from './movielens.js';
import { syntheticRatings } from './synthetic.js';

const dir = mkdtempSync(join(tmpdir(), 'reel-data-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function all(file: string): Promise<Rating[]> {
  const out: Rating[] = [];
  for await (const r of readRatings(file)) out.push(r);
  return out;
}

describe('movielens reader', () => {
  it('data - reads ml-100k tab-separated and ml-1m :: ratings', async () => {
    const a = join(dir, 'u.data');
    writeFileSync(a, '196\t242\t3\t881250949\n186\t302\t3\t891717742\n\n');
    expect(await all(a)).toEqual([
      { user: '196', item: '242', rating: 3, time: 881250949 },
      { user: '186', item: '302', rating: 3, time: 891717742 },
    ]);
    const b = join(dir, 'ratings.dat');
    writeFileSync(b, '1::1193::5::978300760\n');
    expect(await all(b)).toEqual([{ user: '1', item: '1193', rating: 5, time: 978300760 }]);
  });

  it('data - a malformed line is an error naming the file and the line', async () => {
    const f = join(dir, 'bad.data');
    writeFileSync(f, '1\t2\t3\t4\n1\t2\tfive\t4\n');
    const err = await all(f).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DataFormatError);
    expect((err as Error).message).toBe(`${f}:2: rating 'five' is not a number`);
    writeFileSync(f, '1\t2\t3\n');
    await expect(all(f)).rejects.toThrow(`${f}:1: expected 4 fields`);
  });

  it('data - the real ml-100k u.data has 100,000 ratings from 943 users on 1,682 items', async () => {
    const rs = await all(join(import.meta.dirname, '..', '..', 'shared', 'datasets', 'ml-100k', 'u.data'));
    expect(rs).toHaveLength(100_000);
    expect(new Set(rs.map((r) => r.user)).size).toBe(943);
    expect(new Set(rs.map((r) => r.item)).size).toBe(1682);
  });

  it('data - synthetic ratings are deterministic and skewed towards popular items', () => {
    const a = [...syntheticRatings({ ratings: 5000, seed: 7 })];
    const b = [...syntheticRatings({ ratings: 5000, seed: 7 })];
    expect(a).toEqual(b);
    const item1 = a.filter((r) => r.item === '1').length;
    const item400 = a.filter((r) => r.item === '400').length;
    expect(item1).toBeGreaterThan(10 * Math.max(1, item400));
  });
});
