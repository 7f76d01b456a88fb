import { describe, expect, it } from 'vitest';
import { Packr } from 'msgpackr';
import { TitleInterner } from './node-params.js';
import { TYPE_UNSPECIFIED, typeCode, typeOfCode, UserHistory, type StoredHistory } from './user-history.js';

/** What a snapshot goes through between processes. */
const codec = new Packr({ moreTypes: true, useRecords: false });

describe('user history (the interaction log)', () => {
  it('history log - keeps the type, event time and event id of each interaction; a play keeps its value; training still reads titles and ratings', () => {
    const ti = new TitleInterner();
    const h = new UserHistory(1);
    h.log(ti.index('a'), 'RATING', 4.5, 1_000, 'e1');
    h.log(ti.index('b'), 'PLAY', 0.25, 2_000, 'e2');
    h.log(ti.index('c'), 'THUMBS_DOWN', 0, 3_000, '');
    h.log(ti.index('a'), 'IMPRESSION', 0, 4_000, 'e4');
    expect(h.length).toBe(4);
    expect(Array.from(h.titles, (i) => ti.key(i))).toEqual(['a', 'b', 'c', 'a']);
    expect([...h.values]).toEqual([4.5, NaN, NaN, NaN]);
    expect(Array.from(h.types, typeOfCode)).toEqual(['RATING', 'PLAY', 'THUMBS_DOWN', 'IMPRESSION']);
    expect([...h.times]).toEqual([1_000, 2_000, 3_000, 4_000]);
    expect([0, 1, 2, 3].map((j) => h.eventIdAt(j))).toEqual(['e1', 'e2', '', 'e4']);
    expect([0, 1, 2, 3].map((j) => h.valueAt(j))).toEqual([4.5, 0.25, 0, 0]);
    expect(typeCode('PLAY')).toBe(1);
    expect(typeCode('ADD_TO_LIST')).toBe(7);
    expect(typeCode('UNSPECIFIED')).toBe(TYPE_UNSPECIFIED);
  });

  it('history log - ratings without event ids (a MovieLens load) hold no string and no map: the stored form has no sparse parts', () => {
    const ti = new TitleInterner();
    const h = new UserHistory();
    for (let j = 0; j < 10_000; j++) h.log(ti.index(`t${j % 500}`), 'RATING', 1 + (j % 5), 1_000 * j, '');
    const sparse = h as unknown as { ids?: Map<number, string>; others?: Map<number, number> };
    expect(sparse.ids).toBeUndefined();
    expect(sparse.others).toBeUndefined();
    const stored = h.stored(ti);
    expect(Object.keys(stored).sort()).toEqual(['times', 'titles', 'types', 'values']);
    expect(stored.types).toBeInstanceOf(Uint8Array);
    expect(stored.times).toBeInstanceOf(Float64Array);
  });

  it('history log - round-trips through its stored form and the snapshot codec, on another node\'s title indices', () => {
    const a = new TitleInterner();
    const h = new UserHistory();
    h.log(a.index('x'), 'RATING', 3, 10, '');
    h.log(a.index('y'), 'PLAY', 0.75, 20, 'p-1');
    h.log(a.index('z'), 'ADD_TO_LIST', 0, 30, '');
    h.log(a.index('x'), 'COMPLETE', 2, 40, 'c-1');
    const b = new TitleInterner();
    b.index('z');
    const back = UserHistory.fromStored(codec.unpack(codec.pack(h.stored(a))) as StoredHistory, b);
    expect(back.length).toBe(4);
    expect(Array.from(back.titles, (i) => b.key(i))).toEqual(['x', 'y', 'z', 'x']);
    expect([...back.values]).toEqual([...h.values]);
    expect([...back.types]).toEqual([...h.types]);
    expect([...back.times]).toEqual([10, 20, 30, 40]);
    expect([0, 1, 2, 3].map((j) => back.eventIdAt(j))).toEqual(['', 'p-1', '', 'c-1']);
    expect([0, 1, 2, 3].map((j) => back.valueAt(j))).toEqual([3, 0.75, 0, 2]);
  });

  it('history log - a snapshot written before the log kept types and times restores: a value is a RATING, none is UNSPECIFIED, times 0, no ids', () => {
    const ti = new TitleInterner();
    const old: StoredHistory = { titles: ['a', 'b', 'c'], values: [4, null, NaN] };
    const h = UserHistory.fromStored(codec.unpack(codec.pack(old)) as StoredHistory, ti);
    expect(Array.from(h.types, typeOfCode)).toEqual(['RATING', 'UNSPECIFIED', 'UNSPECIFIED']);
    expect([...h.times]).toEqual([0, 0, 0]);
    expect([0, 1, 2].map((j) => h.eventIdAt(j))).toEqual(['', '', '']);
    expect([0, 1, 2].map((j) => h.valueAt(j))).toEqual([4, 0, 0]);
    // And it goes on: a new interaction is logged after them, and all are stored in the new form.
    h.log(ti.index('d'), 'THUMBS_UP', 0, 99, 'u-1');
    const again = UserHistory.fromStored(h.stored(ti), ti);
    expect(Array.from(again.types, typeOfCode)).toEqual(['RATING', 'UNSPECIFIED', 'UNSPECIFIED', 'THUMBS_UP']);
    expect(again.eventIdAt(3)).toBe('u-1');
  });

  it('history log - remove drops what it matches in place, keeps the order, and ids and values stay with their interactions', () => {
    const ti = new TitleInterner();
    const h = new UserHistory();
    const titles = ['a', 'b', 'c', 'd', 'e', 'f'];
    titles.forEach((t, j) => h.log(ti.index(t), j % 2 === 0 ? 'PLAY' : 'RATING', j % 2 === 0 ? 0.1 * (j + 1) : 3, 100 * j, j % 2 === 1 ? `id-${t}` : ''));
    const before = h.titles;
    expect(h.remove((j) => j === 0 || j === 3)).toBe(2);
    expect(h.titles.buffer).toBe(before.buffer);
    expect(Array.from(h.titles, (i) => ti.key(i))).toEqual(['b', 'c', 'e', 'f']);
    expect([...h.times]).toEqual([100, 200, 400, 500]);
    expect(Array.from(h.types, typeOfCode)).toEqual(['RATING', 'PLAY', 'PLAY', 'RATING']);
    expect([0, 1, 2, 3].map((j) => h.eventIdAt(j))).toEqual(['id-b', '', '', 'id-f']);
    expect(h.valueAt(1)).toBeCloseTo(0.3, 6);
    expect(h.valueAt(2)).toBeCloseTo(0.5, 6);
    expect(h.remove(() => false)).toBe(0);
    expect(h.remove(() => true)).toBe(4);
    expect(h.length).toBe(0);
    h.log(ti.index('g'), 'PLAY', 1, 7, 'id-g');
    expect(h.eventIdAt(0)).toBe('id-g');
  });
});
