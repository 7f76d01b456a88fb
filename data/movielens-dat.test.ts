import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DataFormatError } from './errors.js';
import { readMoviesDat, readTagsDat, readUsersDat } from './movielens-dat.js';
import { formatFailure } from '../test/harness/data-errors.js';

const dir = mkdtempSync(join(tmpdir(), 'reel-dat-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
/** A file holding `text` encoded as latin-1, as ml-1m's are. */
function latin1(text: string): string {
  const f = join(dir, `${files++}.dat`);
  writeFileSync(f, Buffer.from(text, 'latin1'));
  return f;
}


describe('ml-1m and ml-10m readers', () => {
  it('movies.dat - id::Title (Year)::Genre|Genre, latin-1, CRLF; "(no genres listed)" and a missing year', async () => {
    const f = latin1(
      '1::Toy Story (1995)::Animation|Children\'s|Comedy\r\n' +
        '2::Caf\u00e9 au Lait (M\u00e9tisse) (1993)::Comedy\r\n' +
        '\r\n' +
        '3::City of Lost Children, The (1995)::Adventure|Sci-Fi\r\n' +
        '4::Babylon 5::(no genres listed)\r\n',
    );
    expect(await readMoviesDat(f).toArray()).toEqual([
      { id: '1', title: 'Toy Story (1995)', year: 1995, genres: ['Animation', "Children's", 'Comedy'] },
      { id: '2', title: 'Café au Lait (Métisse) (1993)', year: 1993, genres: ['Comedy'] },
      { id: '3', title: 'City of Lost Children, The (1995)', year: 1995, genres: ['Adventure', 'Sci-Fi'] },
      { id: '4', title: 'Babylon 5', genres: [] },
    ]);
  });

  it.each([
    ['an empty genres field', '7::Heat (1995)::', "empty genres (a title without any says '(no genres listed)')"],
    ['an empty genre name', '7::Heat (1995)::Action||Crime', "empty genre name in 'Action||Crime'"],
    ['an empty title', '7::::Action', 'empty title'],
    ['a missing field', '7::Heat (1995)', 'expected 3 fields (id, title, genres), got 2'],
  ])('movies.dat - %s is an error naming the file and line, or with skipBad a count', async (_what, bad, reason) => {
    const f = latin1(`1::Toy Story (1995)::Comedy\n${bad}\n9::Sabrina (1995)::Comedy|Romance\n`);
    expect((await formatFailure(readMoviesDat(f).toArray())).message).toBe(`${f}:2: ${reason}`);
    const reader = readMoviesDat(f, { skipBad: true });
    expect((await reader.toArray()).map((t) => t.id)).toEqual(['1', '9']);
    expect([reader.bad.count, reader.bad.examples[0]?.line]).toEqual([1, 2]);
  });

  it('users.dat - id::gender::age group::occupation code::zip; codes named, every field checked', async () => {
    const f = latin1('1::F::1::10::48067\n2::M::56::16::70072\n3::M::26::15::55117\n4::M::45::21::02460\n5::X::25::20::55455\n6::M::25::20::\n7::M::25::twenty::55455\n');
    const reader = readUsersDat(f, { skipBad: true });
    expect(await reader.toArray()).toEqual([
      { id: '1', gender: 'F', age: 1, occupation: 'K-12 student', zip: '48067' },
      { id: '2', gender: 'M', age: 56, occupation: 'self-employed', zip: '70072' },
    ]);
    expect(reader.bad.examples.map((e) => e.message.slice(f.length))).toEqual([
      ":3: age group '26' is none of 1, 18, 25, 35, 45, 50, 56",
      ":4: occupation '21' is not a code from 0 to 20",
      ":5: gender 'X' is not M or F",
      ':6: empty zip code',
      ":7: occupation 'twenty' is not a code from 0 to 20",
    ]);
    expect((await formatFailure(readUsersDat(f).toArray())).message).toBe(`${f}:3: age group '26' is none of 1, 18, 25, 35, 45, 50, 56`);
  });

  it('tags.dat - user::item::tag::timestamp (ml-10m)', async () => {
    const f = latin1('15::4973::excellent!::1215184630\n20::1747::politics::1188263867\n20::1747::::1188263867\n20::1747::satire::-5\n');
    const reader = readTagsDat(f, { skipBad: true });
    expect(await reader.toArray()).toEqual([
      { user: '15', item: '4973', tag: 'excellent!', time: 1215184630 },
      { user: '20', item: '1747', tag: 'politics', time: 1188263867 },
    ]);
    expect(reader.bad.examples.map((e) => e.message.slice(f.length))).toEqual([':3: empty tag', ":4: timestamp '-5' is not a whole number of seconds"]);
  });

  it('movies.dat - an empty file is an error, whatever skipBad says', async () => {
    const f = latin1('\n\n');
    expect((await formatFailure(readMoviesDat(f, { skipBad: true }).toArray())).message).toBe(`${f}: not a movies.dat (id::title::genres): the file holds only blank lines`);
  });
});
