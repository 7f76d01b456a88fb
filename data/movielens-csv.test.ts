import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DataFormatError } from './errors.js';
import { readLinksCsv, readMoviesCsv, readTagsCsv } from './movielens-csv.js';
import { formatFailure } from '../test/harness/data-errors.js';

const dir = mkdtempSync(join(tmpdir(), 'reel-csv-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
/** A UTF-8 file holding `text`, as ml-latest's are. */
function csv(text: string): string {
  const f = join(dir, `${files++}.csv`);
  writeFileSync(f, text);
  return f;
}


const MOVIES = [
  'movieId,title,genres',
  '1,Toy Story (1995),Adventure|Animation|Children|Comedy|Fantasy',
  '11,"American President, The (1995)",Comedy|Drama|Romance',
  '29,"City of Lost Children, The (Cité des enfants perdus, La) (1995)",Adventure|Drama|Fantasy|Mystery|Sci-Fi',
  '',
  '114,"Great ""Big"" Day, A (2001)",Drama',
  '149532,Babylon 5,(no genres listed)',
  '171749,Death Note: Desu nôto (2006–2007),(no genres listed)',
];
const EXPECTED = [
  { id: '1', title: 'Toy Story (1995)', year: 1995, genres: ['Adventure', 'Animation', 'Children', 'Comedy', 'Fantasy'] },
  { id: '11', title: 'American President, The (1995)', year: 1995, genres: ['Comedy', 'Drama', 'Romance'] },
  { id: '29', title: 'City of Lost Children, The (Cité des enfants perdus, La) (1995)', year: 1995, genres: ['Adventure', 'Drama', 'Fantasy', 'Mystery', 'Sci-Fi'] },
  { id: '114', title: 'Great "Big" Day, A (2001)', year: 2001, genres: ['Drama'] },
  { id: '149532', title: 'Babylon 5', genres: [] },
  { id: '171749', title: 'Death Note: Desu nôto (2006–2007)', year: 2006, genres: [] },
];

describe('ml-latest readers', () => {
  it.each([
    ['LF', '\n'],
    ['CRLF', '\r\n'],
  ])('movies.csv - quoted titles with commas and quotes, UTF-8, "(no genres listed)", a missing year; %s', async (_what, eol) => {
    expect(await readMoviesCsv(csv(MOVIES.join(eol) + eol)).toArray()).toEqual(EXPECTED);
  });

  it('movies.csv - columns are found by the header, in any order, after a byte order mark', async () => {
    const f = csv('\uFEFFgenres,movieId,title\nComedy,1,"Toy Story, Again (1995)"\n');
    expect(await readMoviesCsv(f).toArray()).toEqual([{ id: '1', title: 'Toy Story, Again (1995)', year: 1995, genres: ['Comedy'] }]);
  });

  it.each([
    ['a quoted title left open', '5,"Father of the Bride Part II (1995),Comedy', 'a quoted field opened at column 3 is not closed on this line'],
    ['an unquoted title with a comma', '11,American President, The (1995),Comedy', 'expected 3 fields as the header names, got 4'],
    ['empty genres', '5,Father of the Bride Part II (1995),', "empty genres (a title without any says '(no genres listed)')"],
    ['an empty id', ',Father of the Bride Part II (1995),Comedy', 'empty title id'],
  ])('movies.csv - %s is an error naming the file and line, or with skipBad a count', async (_what, bad, reason) => {
    const f = csv(`movieId,title,genres\n1,Toy Story (1995),Comedy\n${bad}\n6,Heat (1995),Action\n`);
    const err = await formatFailure(readMoviesCsv(f).toArray());
    expect(err.message).toBe(`${f}:3: ${reason}`);
    const reader = readMoviesCsv(f, { skipBad: true });
    expect((await reader.toArray()).map((t) => t.id)).toEqual(['1', '6']);
    expect(String(reader.bad)).toBe(`1 bad line skipped: ${f}:3: ${reason}`);
  });

  it.each([
    ['no header', '1,Toy Story (1995),Comedy\n', ':1: not a movies.csv (movieId,title,genres): the first line is not a header naming its columns'],
    ['a header without genres', 'movieId,title\n1,Toy Story (1995)\n', ':1: not a movies.csv (movieId,title,genres): the header names no genres column'],
    ['an empty file', '', ': not a movies.csv (movieId,title,genres): the file is empty'],
  ])('movies.csv - %s fails the file, whatever skipBad says', async (_what, text, reason) => {
    const f = csv(text);
    expect((await formatFailure(readMoviesCsv(f, { skipBad: true }).toArray())).message).toBe(`${f}${reason}`);
  });

  it('tags.csv - userId,movieId,tag,timestamp with quoted tags', async () => {
    const f = csv('userId,movieId,tag,timestamp\r\n2,60756,funny,1445714994\r\n2,89774,"Tom Hardy, boxing",1445715205\r\n7,48516,"""great"" ending",1169687325\r\n7,48516,,1169687325\r\n');
    const reader = readTagsCsv(f, { skipBad: true });
    expect(await reader.toArray()).toEqual([
      { user: '2', item: '60756', tag: 'funny', time: 1445714994 },
      { user: '2', item: '89774', tag: 'Tom Hardy, boxing', time: 1445715205 },
      { user: '7', item: '48516', tag: '"great" ending', time: 1169687325 },
    ]);
    expect(reader.bad.examples.map((e) => [e.line, e.reason])).toEqual([[5, 'empty tag']]);
  });

  it('links.csv - movieId,imdbId,tmdbId, tmdbId sometimes empty, ids kept as written', async () => {
    const f = csv('movieId,imdbId,tmdbId\n1,0114709,862\n791,0113610,\n2,tt0113497,8844\n');
    const reader = readLinksCsv(f, { skipBad: true });
    expect(await reader.toArray()).toEqual([
      { item: '1', imdbId: '0114709', tmdbId: '862' },
      { item: '791', imdbId: '0113610' },
    ]);
    expect(reader.bad.examples.map((e) => [e.line, e.reason])).toEqual([[4, "imdbId 'tt0113497' is not a number"]]);
  });

  it('movies.csv - links given are attached to their titles', async () => {
    const movies = csv('movieId,title,genres\n1,Toy Story (1995),Comedy\n791,"Last Klezmer, The (1994)",Documentary\n5,Heat (1995),Action\n');
    const links = readLinksCsv(csv('movieId,imdbId,tmdbId\n1,0114709,862\n791,0113610,\n'));
    expect(await readMoviesCsv(movies, { links }).toArray()).toEqual([
      { id: '1', title: 'Toy Story (1995)', year: 1995, genres: ['Comedy'], imdbId: '0114709', tmdbId: '862' },
      { id: '791', title: 'Last Klezmer, The (1994)', year: 1994, genres: ['Documentary'], imdbId: '0113610' },
      { id: '5', title: 'Heat (1995)', year: 1995, genres: ['Action'] },
    ]);
  });
});
