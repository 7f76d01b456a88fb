import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { TitleFeatures } from '../models/title-features.js';
import { InvalidArgument } from '../runtime/errors.js';
import { DataFormatError } from './errors.js';
import { readGenreYearFeatures } from './genre-year-features.js';
import { readKgFeatures } from './kg-features.js';
import { BadLines } from './reader.js';
import { normaliseTag, readTagFeatures } from './tag-features.js';
import { readTitleFeatures } from './title-features.js';

const dir = mkdtempSync(join(tmpdir(), 'reel-title-features-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const fixture = join(import.meta.dirname, '..', 'test', 'fixtures', 'movielens-titles');
const movies = join(fixture, 'movies.csv');
const tags = join(fixture, 'tags.csv');

let files = 0;
/** A file named `name` holding `text` (as latin-1 for `.dat`, as ml-1m's are). */
function file(name: string, text: string): string {
  const d = join(dir, String(files++));
  mkdirSync(d);
  writeFileSync(join(d, name), name.endsWith('.dat') ? Buffer.from(text, 'latin1') : text);
  return join(d, name);
}

/** A folder holding an MKR graph. */
function kgDir(entities: string, triples: string): string {
  const d = join(dir, String(files++));
  mkdirSync(d);
  writeFileSync(join(d, 'item_index2entity_id.txt'), entities);
  writeFileSync(join(d, 'kg.txt'), triples);
  return d;
}

/** Title `id`'s feature names, sorted. */
function of(f: TitleFeatures, id: string): string[] {
  return Array.from(f.byTitle.get(id) ?? [], (i) => f.names[i]!).sort();
}

/** Every title's feature names, sorted, by title. */
function all(f: TitleFeatures): Record<string, string[]> {
  return Object.fromEntries([...f.byTitle.keys()].map((id) => [id, of(f, id)]));
}

describe('title features', () => {
  it('movies.csv - genres and 5-year buckets by movie id, a quoted title read whole', async () => {
    const f = await readGenreYearFeatures(movies);
    expect(f.byTitle.size).toBe(12);
    expect(of(f, '2355')).toEqual(['genre:Adventure', 'genre:Animation', 'genre:Children', 'genre:Comedy', 'year:1995-1999']);
    expect(of(f, '6')).toEqual(['genre:Action', 'genre:Crime', 'genre:Thriller', 'year:1995-1999']);
    expect(f.names.filter((n) => n.startsWith('year:'))).toEqual(['year:1995-1999']);
  });

  it('movies.dat - ml-1m by its ending, latin-1; no genre listed and no year give no feature', async () => {
    const f = file('movies.dat', "1::Toy Story (1995)::Animation|Children's|Comedy\r\n2::Caf\u00e9 au Lait (M\u00e9tisse) (1993)::Comedy\r\n3::Babylon 5::(no genres listed)\r\n4::Untitled (2004)::(no genres listed)\r\n");
    expect(all(await readGenreYearFeatures(f, { yearBucketYears: 10 }))).toEqual({
      '1': ['genre:Animation', "genre:Children's", 'genre:Comedy', 'year:1990-1999'],
      '2': ['genre:Comedy', 'year:1990-1999'],
      '4': ['year:2000-2009'],
    });
  });

  it('tags - lower-cased, trimmed, inner whitespace collapsed', () => {
    expect(normaliseTag('  Computer \t Animation ')).toBe('computer animation');
    expect(normaliseTag('PIXAR')).toBe('pixar');
  });

  it('tags.csv - a tag is kept once minCount distinct users used it, across titles', async () => {
    expect(all(await readTagFeatures(tags))).toEqual({
      '1': ['tag:computer animation', 'tag:pixar'],
      '3114': ['tag:pixar'],
      '2355': ['tag:computer animation'],
      '10': ['tag:james bond, 007'],
    });
    // One user: a typo ("pixr"), a tag on two titles ("board game"), the same tag twice ("steve martin").
    const loose = await readTagFeatures(tags, { minCount: 1 });
    expect([...loose.names].sort()).toEqual(['tag:board game', 'tag:computer animation', 'tag:james bond, 007', 'tag:pixar', 'tag:pixr', 'tag:steve martin']);
    expect(of(loose, '10')).toEqual(['tag:board game', 'tag:james bond, 007']);
    expect((await readTagFeatures(tags, { minCount: 3 })).names).toEqual([]);
  });

  it('tags.dat - ml-10m by its ending', async () => {
    const f = file('tags.dat', '15::4973::excellent!::1215184630\n20::4973::Excellent! ::1215184700\n');
    expect(all(await readTagFeatures(f))).toEqual({ '4973': ['tag:excellent!'] });
  });

  it('kg - the real fixture: entities of two or more movies, relation kept', async () => {
    const f = await readKgFeatures(fixture);
    expect([...f.names].sort()).toEqual([
      'kg:film.film.country:2353',
      'kg:film.film.director:6285',
      'kg:film.film.genre:2350',
      'kg:film.film.genre:2369',
      'kg:film.film.genre:2373',
      'kg:film.film.genre:2380',
      'kg:film.film.genre:2392',
      'kg:film.film.genre:2410',
      'kg:film.film.genre:2471',
      'kg:film.film.language:2348',
      'kg:film.film.rating:2375',
      'kg:film.film.rating:2423',
      'kg:film.film.rating:2664',
      'kg:film.film.star:3086',
      'kg:film.film.writer:3516',
    ]);
    expect(of(f, '3')).toEqual(['kg:film.film.country:2353', 'kg:film.film.genre:2350', 'kg:film.film.language:2348', 'kg:film.film.rating:2375']);
  });

  it('kg - Toy Story, Toy Story 2 and A Bug\'s Life share their director', async () => {
    const f = await readKgFeatures(fixture);
    const directors = (id: string) => of(f, id).filter((n) => n.startsWith('kg:film.film.director:'));
    expect(directors('1')).toEqual(['kg:film.film.director:6285']);
    expect(directors('3114')).toContain('kg:film.film.director:6285');
    expect(directors('2355')).toContain('kg:film.film.director:6285');
    // Heat and Sudden Death have no entity, and Jumanji's director directed nothing else here.
    expect([f.byTitle.has('6'), f.byTitle.has('9'), directors('2')]).toEqual([false, false, []]);
  });

  it('kg - counted per feature: an entity that wrote three films and directed one gives the director feature to none', async () => {
    const f = await readKgFeatures(fixture);
    expect(of(f, '2355')).toContain('kg:film.film.writer:3516');
    expect(of(f, '2355')).not.toContain('kg:film.film.director:3516');
    expect(of(await readKgFeatures(fixture, { minMovies: 1 }), '2355')).toContain('kg:film.film.director:3516');
  });

  it('kg - a movie as a tail gets the head under the reversed relation', async () => {
    const d = kgDir('1\t0\n2\t1\n3\t2\n', '0\tfilm.film.sequel\t1\r\n2\tfilm.film.sequel\t1\r\n');
    expect(all(await readKgFeatures(d, { minMovies: 1 }))).toEqual({
      '1': ['kg:film.film.sequel:1'],
      '2': ['kg:~film.film.sequel:0', 'kg:~film.film.sequel:2'],
      '3': ['kg:film.film.sequel:1'],
    });
    expect(all(await readKgFeatures(d))).toEqual({ '1': ['kg:film.film.sequel:1'], '3': ['kg:film.film.sequel:1'] });
  });

  it('kg - a bad line of either file names that file and its line', async () => {
    const badTriple = kgDir('1\t0\r\n2\t1\r\n', '0\tfilm.film.genre\t7\r\n1\tfilm.film.genre\t7\r\n1\tfilm.film.genre\r\n');
    const err = await readKgFeatures(badTriple).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(DataFormatError);
    expect([(err as DataFormatError).file, (err as DataFormatError).line]).toEqual([join(badTriple, 'kg.txt'), 3]);
    const badMapping = kgDir('1\t0\r\n2\tone\r\n', '0\tfilm.film.genre\t7\r\n');
    await expect(readKgFeatures(badMapping)).rejects.toThrow(`${join(badMapping, 'item_index2entity_id.txt')}:2: entity id 'one' is not a whole number`);
  });

  it('merged - one set keyed by movie id, every family, ids ascending', async () => {
    const f = await readTitleFeatures({ movies, tags, kgDir: fixture });
    expect(of(f, '1')).toEqual([
      'genre:Adventure', 'genre:Animation', 'genre:Children', 'genre:Comedy', 'genre:Fantasy',
      'kg:film.film.country:2353', 'kg:film.film.director:6285', 'kg:film.film.genre:2350', 'kg:film.film.genre:2369',
      'kg:film.film.genre:2380', 'kg:film.film.genre:2392', 'kg:film.film.genre:2471', 'kg:film.film.language:2348',
      'kg:film.film.rating:2664', 'kg:film.film.star:3086', 'kg:film.film.writer:3516',
      'tag:computer animation', 'tag:pixar', 'year:1995-1999',
    ]);
    expect(of(f, '6')).toEqual(['genre:Action', 'genre:Crime', 'genre:Thriller', 'year:1995-1999']);
    expect(f.byTitle.size).toBe(12);
    const families = new Map<string, number>();
    for (const n of f.names) families.set(n.split(':')[0]!, (families.get(n.split(':')[0]!) ?? 0) + 1);
    expect(Object.fromEntries(families)).toEqual({ genre: 10, year: 1, tag: 3, kg: 15 });
    for (const ids of f.byTitle.values()) expect([...ids]).toEqual([...ids].sort((a, b) => a - b).filter((id, i, s) => i === 0 || id !== s[i - 1]));
  });

  it('merged - with skipBad, every file\'s bad lines are counted together', async () => {
    const badTags = file('tags.csv', 'userId,movieId,tag,timestamp\n1,1,pixar,1\n2,1,pixar,x\n3,1,pixar,3\n');
    const d = kgDir('1\t0\n2\t1\n', '0\tfilm.film.genre\t7\n1\tfilm.film.genre\t7\n0\tfilm.film.genre\n');
    const bad = new BadLines();
    const f = await readTitleFeatures({ tags: badTags, kgDir: d, skipBad: true, bad });
    expect(all(f)).toEqual({ '1': ['kg:film.film.genre:7', 'tag:pixar'], '2': ['kg:film.film.genre:7'] });
    expect(bad.examples.map((e) => `${e.file === badTags ? 'tags' : 'kg'}:${e.line}`).sort()).toEqual(['kg:3', 'tags:3']);
  });

  it.each([
    ['no source', {}, ['movies', 'tags', 'kgDir']],
    ['an empty path', { movies: '' }, ['movies']],
    ['minCount 0', { tags, minCount: 0 }, ['minCount']],
    ['fractions', { kgDir: fixture, minMovies: 1.5, yearBucketYears: 2.5 }, ['minMovies', 'yearBucketYears']],
  ])('options - %s is InvalidArgument naming the fields', async (_what, opts, fields) => {
    const err = await readTitleFeatures(opts).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidArgument);
    expect((err as InvalidArgument).fields).toEqual(fields);
  });
});
