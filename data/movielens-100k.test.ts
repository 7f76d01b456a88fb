import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DataFormatError } from './errors.js';
import { ML100K_GENRES, readUGenre, readUItem, readUUser } from './movielens-100k.js';
import { formatFailure } from '../test/harness/data-errors.js';

const dir = mkdtempSync(join(tmpdir(), 'reel-100k-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const ml100k = join(import.meta.dirname, '..', '..', 'shared', 'datasets', 'ml-100k');

/** `files` written in a folder of their own (a `u.genre` beside a `u.item` sets its genres); latin-1 unless given as bytes. */
function folder(files: Record<string, string | Buffer>): string {
  const d = mkdtempSync(join(dir, 'f-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(d, name), typeof text === 'string' ? Buffer.from(text, 'latin1') : text);
  return d;
}

/** A u.item line with the standard 19 flags, `on` naming the flags set (0-based). */
function item(id: string, title: string, on: number[], date = '01-Jan-1995'): string {
  const flags = ML100K_GENRES.map((_, g) => (on.includes(g) ? '1' : '0'));
  return [id, title, date, '', `http://us.imdb.com/M/title-exact?${encodeURIComponent(title)}`, ...flags].join('|');
}


describe('ml-100k readers', () => {
  it('u.item - titles, years from the title, genres from the flags, latin-1 decoded; "unknown" and a missing year kept out', async () => {
    const d = folder({
      'u.item': [
        item('1', 'Toy Story (1995)', [3, 4, 5]),
        item('1322', 'Metisse (Caf\u00e9 au Lait) (1993)', [5]),
        '',
        item('267', 'unknown', [0], ''),
        item('9', 'Some Series (1975-1979)', [8, 16]),
        item('1412', 'Land Before Time III: The Time of the Great Giving (1995) (V)', [3, 4]),
      ].join('\r\n') + '\r\n',
    });
    expect(await readUItem(join(d, 'u.item')).toArray()).toEqual([
      { id: '1', title: 'Toy Story (1995)', year: 1995, genres: ['Animation', "Children's", 'Comedy'] },
      { id: '1322', title: 'Metisse (Café au Lait) (1993)', year: 1993, genres: ['Comedy'] },
      { id: '267', title: 'unknown', genres: [] },
      { id: '9', title: 'Some Series (1975-1979)', year: 1975, genres: ['Drama', 'Thriller'] },
      { id: '1412', title: 'Land Before Time III: The Time of the Great Giving (1995) (V)', year: 1995, genres: ['Animation', "Children's"] },
    ]);
    // The latin-1 byte itself, not a UTF-8 encoding of it.
    expect(Buffer.from('Caf\u00e9', 'latin1')).toEqual(Buffer.from([0x43, 0x61, 0x66, 0xe9]));
  });

  it('u.item - the genres are the u.genre beside it, in index order, when there is one', async () => {
    const d = folder({ 'u.genre': 'Thriller|1\nComedy|0\nCafé|2\n\n', 'u.item': '5|Odd One (2001)|||x|1|0|1\n6|Another (2002)|||x|0|1|0\n' });
    expect(await readUGenre(join(d, 'u.genre'))).toEqual(['Comedy', 'Thriller', 'Café']);
    expect(await readUItem(join(d, 'u.item')).toArray()).toEqual([
      { id: '5', title: 'Odd One (2001)', year: 2001, genres: ['Comedy', 'Café'] },
      { id: '6', title: 'Another (2002)', year: 2002, genres: ['Thriller'] },
    ]);
    expect(await readUItem(join(d, 'u.item'), { genres: ['A', 'B', 'C'] }).toArray()).toMatchObject([{ genres: ['A', 'C'] }, { genres: ['B'] }]);
  });

  it.each([
    ['a missing genre flag', item('1', 'Toy Story (1995)', [3]).slice(0, -2), 1, 'expected 24 fields (id, title, release date, video release date, IMDb URL and 19 genre flags), got 23'],
    ['a flag that is not 0 or 1', item('1', 'Toy Story (1995)', [3]).replace(/\|0$/, '|2'), 1, "genre flag 19 (Western) is '2', not 0 or 1"],
    ['an empty title', item('1', '', [3]), 1, 'empty title'],
    ['an empty id', item('', 'Toy Story (1995)', [3]), 1, 'empty title id'],
  ])('u.item - %s is an error naming the file and line, or with skipBad a count', async (_what, bad, _line, reason) => {
    const d = folder({ 'u.item': `${item('2', 'GoldenEye (1995)', [1])}\n\n${bad}\n${item('3', 'Four Rooms (1995)', [16])}\n` });
    const f = join(d, 'u.item');
    const err = await formatFailure(readUItem(f).toArray());
    expect(err.message).toBe(`${f}:3: ${reason}`);
    expect(err).toMatchObject({ file: f, line: 3 });
    const reader = readUItem(f, { skipBad: true });
    expect((await reader.toArray()).map((t) => t.id)).toEqual(['2', '3']);
    expect(reader.bad.count).toBe(1);
    expect(reader.bad.examples[0]!.message).toBe(`${f}:3: ${reason}`);
  });

  it.each([
    ['a gap in the indices', 'unknown|0\nAction|2\n', 'no genre has index 1'],
    ['an index given twice', 'unknown|0\nAction|0\n', "genre index 0 is given twice ('unknown' and 'Action')"],
    ['an index that is not a number', 'unknown|0\nAction|one\n', ":2: genre index 'one' is not a whole number"],
    ['an empty file', '', 'not an ml-100k u.genre (genre|index): the file is empty'],
  ])('u.genre - %s is an error, also for the u.item beside it', async (_what, text, reason) => {
    const d = folder({ 'u.genre': text, 'u.item': item('1', 'Toy Story (1995)', [3]) });
    expect((await formatFailure(readUGenre(join(d, 'u.genre')))).message).toContain(reason);
    expect((await formatFailure(readUItem(join(d, 'u.item'), { skipBad: true }).toArray())).message).toContain(reason);
  });

  it('u.user - id, age, gender, occupation and zip; every field required', async () => {
    const d = folder({ 'u.user': '1|24|M|technician|85711\n2|53|F|other|T8H1N\n3|x|M|writer|32067\n4|30|X|writer|32067\n5|30|M||32067\n6|30|M|writer|\n7|30|M|writer\n' });
    const f = join(d, 'u.user');
    expect((await formatFailure(readUUser(f).toArray())).message).toBe(`${f}:3: age 'x' is not a whole number of years from 1 to 120`);
    const reader = readUUser(f, { skipBad: true });
    expect(await reader.toArray()).toEqual([
      { id: '1', age: 24, gender: 'M', occupation: 'technician', zip: '85711' },
      { id: '2', age: 53, gender: 'F', occupation: 'other', zip: 'T8H1N' },
    ]);
    expect(reader.bad.examples.map((e) => e.message.slice(f.length))).toEqual([
      ":3: age 'x' is not a whole number of years from 1 to 120",
      ":4: gender 'X' is not M or F",
      ':5: empty occupation',
      ':6: empty zip code',
      ':7: expected 5 fields (id, age, gender, occupation, zip code), got 4',
    ]);
  });

  it('u.item and u.user - the real ml-100k: 1,682 titles and 943 users, item 1 Toy Story', async () => {
    const titles = await readUItem(join(ml100k, 'u.item')).toArray();
    expect(titles).toHaveLength(1682);
    expect(titles[0]).toEqual({ id: '1', title: 'Toy Story (1995)', year: 1995, genres: ['Animation', "Children's", 'Comedy'] });
    expect(titles.find((t) => t.id === '1322')?.title).toBe('Metisse (Café au Lait) (1993)');
    expect(titles.find((t) => t.id === '267')).toEqual({ id: '267', title: 'unknown', genres: [] });
    expect(titles.filter((t) => t.year === undefined).map((t) => t.id)).toEqual(['267']);
    expect(await readUGenre(join(ml100k, 'u.genre'))).toEqual(ML100K_GENRES);
    const users = await readUUser(join(ml100k, 'u.user')).toArray();
    expect(users).toHaveLength(943);
    expect(users[0]).toEqual({ id: '1', age: 24, gender: 'M', occupation: 'technician', zip: '85711' });
  });
});
