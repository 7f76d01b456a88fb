import { describe, expect, it } from 'vitest';
import { genreYearFeatures } from './title-features.js';

describe('title features', () => {
  it('title features - genres and a release-year bucket per title; buckets align to multiples of their size; no year, no year feature', () => {
    const f = genreYearFeatures([
      { id: 'a', genres: ['Comedy', 'Drama'], year: 1994 },
      { id: 'b', genres: ['Comedy'], year: 1995 },
      { id: 'c', genres: [] },
    ]);
    const names = (id: string) => Array.from(f.byTitle.get(id) ?? [], (x) => f.names[x]);
    expect(names('a')).toEqual(['genre:Comedy', 'genre:Drama', 'year:1990-1994']);
    expect(names('b')).toEqual(['genre:Comedy', 'year:1995-1999']);
    expect(f.byTitle.has('c')).toBe(false);
    const yearly = genreYearFeatures([{ id: 'a', genres: [], year: 1994 }], 1);
    expect(yearly.names).toEqual(['year:1994']);
    expect(() => genreYearFeatures([{ id: 'a', genres: [], year: 1994 }], 0)).toThrow(/year bucket/);
  });
});
