import { describe, expect, it } from 'vitest';
import { fingerprint } from './fingerprint.js';
import { IdIndex } from './id-index.js';
import { RatingsTableBuilder, ratingsTableFrom, splitRatings, type RatingLike } from './ratings.js';

async function* stream(rs: RatingLike[]): AsyncGenerator<RatingLike> {
  yield* rs;
}

describe('ratings table', () => {
  it('ratings - ids get dense indices in order of first appearance; 42 and "42" are one id', async () => {
    const t = await ratingsTableFrom(stream([
      { user: 'a', item: 42, rating: 4 },
      { user: 'b', item: '42', rating: 3 },
      { user: 'a', item: 'x', rating: 5 },
    ]));
    expect(t.n).toBe(3);
    expect([...t.users]).toEqual([0, 1, 0]);
    expect([...t.items]).toEqual([0, 0, 1]);
    expect([...t.ratings]).toEqual([4, 3, 5]);
    expect([t.userCount, t.itemCount]).toEqual([2, 2]);
    expect(t.itemIds.idOf(0)).toBe('42');
    expect(t.userIds.get('b')).toBe(1);
    expect(t.userIds.get('zzz')).toBeUndefined();
  });

  it('ratings - a test table read against a training table shares its indices; unseen ids come after', async () => {
    const train = await ratingsTableFrom([{ user: 'a', item: 'x', rating: 4 }, { user: 'b', item: 'y', rating: 2 }]);
    const test = await ratingsTableFrom([{ user: 'b', item: 'x', rating: 3 }, { user: 'c', item: 'z', rating: 1 }], train);
    expect([...test.users]).toEqual([1, 2]);
    expect([...test.items]).toEqual([0, 2]);
    expect([train.userCount, train.itemCount]).toEqual([2, 2]);
    expect([test.userCount, test.itemCount]).toEqual([3, 3]);
  });

  it('ratings - the builder grows past its first capacity and keeps every rating', () => {
    const b = new RatingsTableBuilder();
    for (let j = 0; j < 40_000; j++) b.add(j % 1000, j % 7, 1 + (j % 5));
    const t = b.build();
    expect(t.n).toBe(40_000);
    expect(t.users[39_999]).toBe(999);
    expect(t.items[39_999]).toBe(39_999 % 7);
    expect(t.ratings[39_999]).toBe(1 + (39_999 % 5));
  });

  it('ratings - a rating that is not a finite number is refused, naming user and item', () => {
    expect(() => new RatingsTableBuilder().add('u1', 'i9', Number.NaN)).toThrow(/rating NaN of user u1, item i9/);
  });

  it('ratings - a seeded split is disjoint, complete, of the asked size, and the same for the same seed', () => {
    const b = new RatingsTableBuilder();
    for (let j = 0; j < 1000; j++) b.add(j, j % 13, j % 5);
    const t = b.build();
    const { kept, held } = splitRatings(t, 0.1, 7);
    expect([kept.n, held.n]).toEqual([900, 100]);
    const rows = (x: typeof t) => [...x.users]; // user j holds rating j alone
    expect(new Set([...rows(kept), ...rows(held)]).size).toBe(1000);
    expect(rows(held)).toEqual(rows(splitRatings(t, 0.1, 7).held));
    expect(rows(held)).not.toEqual(rows(splitRatings(t, 0.1, 8).held));
    expect(held.userIds).toBe(t.userIds);
    expect(held.userCount).toBe(t.userCount);
  });

  it('ratings - the fingerprint is 64-bit FNV-1a of the lines user TAB item TAB rating, in order', async () => {
    // Reference values from an independent FNV-1a 64 (Python) over the same UTF-8 text.
    const t = await ratingsTableFrom([{ user: '196', item: '242', rating: 3 }, { user: '186', item: '302', rating: 3.5 }]);
    expect(fingerprint(t)).toBe('0602b12a8373c544');
    expect(fingerprint(await ratingsTableFrom([{ user: 'Zoë', item: '🎬', rating: 4 }]))).toBe('7e6df432d0988921');
    const swapped = await ratingsTableFrom([{ user: '186', item: '302', rating: 3.5 }, { user: '196', item: '242', rating: 3 }]);
    expect(fingerprint(swapped)).not.toBe(fingerprint(t));
    expect(fingerprint(await ratingsTableFrom([]))).toBe('cbf29ce484222325');
  });

  it('ratings - an index refuses an index it never gave out', () => {
    const ix = new IdIndex();
    ix.intern('a');
    expect(() => ix.idOf(1)).toThrow(RangeError);
  });
});
