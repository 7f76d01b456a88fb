import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DataFormatError } from './errors.js';
import { MKR_ITEM_ENTITIES_FILE, MKR_TRIPLES_FILE, readItemEntities, readKgTriples } from './mkr-kg.js';
import { formatFailure } from '../test/harness/data-errors.js';

const dir = mkdtempSync(join(tmpdir(), 'reel-kg-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const fixture = join(import.meta.dirname, '..', 'test', 'fixtures', 'movielens-titles');
const shipped = join(import.meta.dirname, '..', '..', 'shared', 'datasets', 'mkr-movielens-1m-kg');

let files = 0;
function txt(text: string): string {
  const f = join(dir, `${files++}.txt`);
  writeFileSync(f, text);
  return f;
}


describe('MKR knowledge-graph readers', () => {
  it('kg - the fixture keeps the published CRLF, and no field carries a CR', async () => {
    for (const name of [MKR_ITEM_ENTITIES_FILE, MKR_TRIPLES_FILE]) expect(readFileSync(join(fixture, name), 'latin1')).toMatch(/^[^\r]*\r\n/);
    const mapped = await readItemEntities(join(fixture, MKR_ITEM_ENTITIES_FILE)).toArray();
    expect(mapped.map((m) => `${m.item}>${m.entity}`)).toEqual(['1>0', '2>1', '3>2', '4>3', '5>4', '8>5', '10>6', '2355>1349', '3114>1808']);
    const triples = await readKgTriples(join(fixture, MKR_TRIPLES_FILE)).toArray();
    expect(triples).toHaveLength(108);
    expect(triples[0]).toEqual({ head: '4', relation: 'film.film.language', tail: '2348' });
    expect(triples.filter((t) => /\r/.test(t.head + t.relation + t.tail))).toEqual([]);
  });

  it('kg - the shipped MovieLens-1M graph reads whole, as its README counts it', async () => {
    expect(await readItemEntities(join(shipped, MKR_ITEM_ENTITIES_FILE)).toArray()).toHaveLength(2347);
    const relations = new Map<string, number>();
    for await (const t of readKgTriples(join(shipped, MKR_TRIPLES_FILE))) relations.set(t.relation, (relations.get(t.relation) ?? 0) + 1);
    expect(Object.fromEntries(relations)).toEqual({
      'film.film.genre': 5271,
      'film.film.writer': 3476,
      'film.film.language': 3135,
      'film.film.director': 2581,
      'film.film.country': 2256,
      'film.film.star': 2164,
      'film.film.rating': 1899,
    });
  });

  it.each([
    ['a missing entity', '7', 'expected 2 fields (movie id, entity id), got 1'],
    ['a third field', '7\t6\t5', 'expected 2 fields (movie id, entity id), got 3'],
    ['a movie id that is no number', 'm7\t6', "movie id 'm7' is not a whole number"],
    ['an entity id that is no number', '7\tfilm.film.star', "entity id 'film.film.star' is not a whole number"],
    ['a movie mapped twice', '1\t6', 'movie 1 is mapped again (to entity 6, after entity 0)'],
  ])('item_index2entity_id.txt - %s is an error naming the file and line, or with skipBad a count', async (_what, bad, reason) => {
    // The blank line is counted: line numbers are the file's.
    const f = txt(`1\t0\r\n\r\n${bad}\r\n2\t1\r\n`);
    const err = await formatFailure(readItemEntities(f).toArray());
    expect([err.file, err.line, err.message]).toEqual([f, 3, `${f}:3: ${reason}`]);
    const reader = readItemEntities(f, { skipBad: true });
    expect((await reader.toArray()).map((m) => m.item)).toEqual(['1', '2']);
    expect(reader.bad.count).toBe(1);
  });

  it('item_index2entity_id.txt - an entity shared by two movies is allowed', async () => {
    expect(await readItemEntities(txt('1\t0\n2\t0\n')).toArray()).toEqual([{ item: '1', entity: '0' }, { item: '2', entity: '0' }]);
  });

  it.each([
    ['a missing tail', '0\tfilm.film.genre', 'expected 3 fields (head entity, relation, tail entity), got 2'],
    ['spaces for tabs', '0 film.film.genre 2392', 'expected 3 fields (head entity, relation, tail entity), got 1'],
    ['a head that is no number', 'Toy Story\tfilm.film.genre\t2392', "head entity 'Toy Story' is not a whole number"],
    ['a tail that is no number', '0\tfilm.film.genre\tAnimation', "tail entity 'Animation' is not a whole number"],
    ['an empty relation', '0\t\t2392', "relation '' is empty, holds a space or ':', or starts with '~'"],
    ['a relation with a colon', '0\tfilm:genre\t2392', "relation 'film:genre' is empty, holds a space or ':', or starts with '~'"],
  ])('kg.txt - %s is an error naming the file and line', async (_what, bad, reason) => {
    const f = txt(`0\tfilm.film.director\t6285\r\n1\tfilm.film.genre\t2380\r\n${bad}\r\n`);
    const err = await formatFailure(readKgTriples(f).toArray());
    expect([err.file, err.line, err.message]).toEqual([f, 3, `${f}:3: ${reason}`]);
  });

  it('kg.txt - an empty file fails the file, whatever skipBad says', async () => {
    const f = txt('');
    const err = await formatFailure(readKgTriples(f, { skipBad: true }).toArray());
    expect([err.line, err.message]).toEqual([undefined, `${f}: not an MKR kg.txt (head entity, relation, tail entity): the file is empty`]);
  });
});
