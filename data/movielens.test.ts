import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DataFormatError, NotRatingsFileError } from './errors.js';
import { HALF_STARS, WHOLE_STARS } from './rating-scale.js';
import { ratingsFileAt, ratingsFormatOf, readRatings, type Rating, type RatingsReadOptions } from './movielens.js';
import { syntheticRatings } from './synthetic.js';

const dir = mkdtempSync(join(tmpdir(), 'reel-data-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const ml100k = join(import.meta.dirname, '..', '..', 'shared', 'datasets', 'ml-100k');

async function all(file: string, opts?: RatingsReadOptions): Promise<Rating[]> {
  const out: Rating[] = [];
  for await (const r of readRatings(file, opts)) out.push(r);
  return out;
}

/** `name` holding `text`, alone in a folder of its own: its neighbours set a ratings file's scale. */
function fixture(name: string, text: string): string {
  const f = join(mkdtempSync(join(dir, 'f-')), name);
  writeFileSync(f, text);
  return f;
}

/** The same three ratings, written in every format below. */
const three: Rating[] = [
  { user: '196', item: '242', rating: 3, time: 881250949 },
  { user: '186', item: '302', rating: 3.5, time: 891717742 },
  { user: '22', item: '377', rating: 1, time: 878887116 },
];

describe('movielens reader', () => {
  it.each([
    ['tab-separated (ml-100k u.data) under any name', 'u1.base', '196\t242\t3\t881250949\n186\t302\t3.5\t891717742\n\n22\t377\t1\t878887116\n', 'tab-separated'],
    ["'::'-separated (ml-1m ratings.dat)", 'ratings.dat', '196::242::3::881250949\n186::302::3.5::891717742\n22::377::1::878887116\n', "'::'-separated"],
    ['CSV with a header (ml-latest ratings.csv)', 'ratings.csv', 'userId,movieId,rating,timestamp\n196,242,3.0,881250949\n186,302,3.5,891717742\n22,377,1.0,878887116\n', 'comma-separated with a header'],
    ['CSV with its columns in another order and other names', 'export.csv', 'timestamp,rating,movie_id,user_id\n881250949,3,242,196\n891717742,3.5,302,186\n878887116,1,377,22\n', 'comma-separated with a header'],
    ['quoted CSV with an extra column and a header (R write.csv)', 'r.csv', '"","User","ItemId","Rating","Time"\n"1","196","242",3,881250949\n"2","186","302",3.5,891717742\n"3","22","377",1,878887116\n', 'comma-separated with a header'],
    ['headerless CSV: user, item, rating, timestamp', 'plain.csv', '196,242,3,881250949\n186,302,3.5,891717742\n22,377,1,878887116\n', 'comma-separated'],
    ['tab-separated with a header', 'ratings.tsv', 'user_id\titem_id\trating\ttimestamp\n196\t242\t3\t881250949\n186\t302\t3.5\t891717742\n22\t377\t1\t878887116\n', 'tab-separated with a header'],
    ['whitespace-separated', 'ratings.txt', '196  242 3 881250949\n 186 302 3.5   891717742\n22 377 1 878887116', 'whitespace-separated'],
    ['CRLF line endings, a UTF-8 BOM and blank lines', 'windows.csv', '\uFEFFuserId,movieId,rating,timestamp\r\n\r\n196,242,3,881250949\r\n186,302,3.5,891717742\r\n22,377,1,878887116\r\n\r\n', 'comma-separated with a header'],
    ["CRLF '::'", 'crlf.dat', '196::242::3::881250949\r\n186::302::3.5::891717742\r\n22::377::1::878887116\r\n', "'::'-separated"],
  ])('data - reads %s, the format recognised from the content', async (_what, name, text, format) => {
    const f = fixture(name, text);
    expect(await all(f)).toEqual(three);
    expect((await ratingsFormatOf(f)).name).toContain(format);
  });

  it.each([
    ['a line with a missing field', 'short.data', '1\t2\t3\t4\n1\t2\t3\t4\n1\t2\t3\n', 3, 'expected 4 fields (user, item, rating, timestamp), got 3'],
    ['a rating that is not a number', 'bad.data', '1\t2\t3\t4\n1\t2\tfive\t4\n', 2, "rating 'five' is not a number"],
    ['an empty rating', 'empty-rating.dat', '1::2::3::4\r\n1::2::::4\r\n', 2, "rating '' is not a number"],
    ['a fractional timestamp', 'frac.csv', 'userId,movieId,rating,timestamp\n1,2,3,4\n\n1,2,3,4.5\n', 4, "timestamp '4.5' is not a whole number of seconds"],
    ['an empty user', 'nouser.csv', 'movieId,userId,rating,timestamp\n2,1,3,4\n2,,3,4\n', 3, 'empty user or item id'],
    ['a line with more fields than the header names', 'long.csv', 'userId,movieId,rating,timestamp\n1,2,3,4\n1,2,3,4,5\n', 3, 'expected 4 fields as the header names, got 5'],
  ])('data - %s is an error naming the file, the line and what is wrong', async (_what, name, text, line, reason) => {
    const f = fixture(name, text);
    const err = await all(f).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DataFormatError);
    expect(err).not.toBeInstanceOf(NotRatingsFileError);
    expect(err).toMatchObject({ file: f, line });
    expect((err as Error).message).toBe(`${f}:${line}: ${reason}`);
  });

  it.each([
    ['ml-100k u.item', 'u.item', '1|Toy Story (1995)|01-Jan-1995||http://us.imdb.com/M/title-exact?Toy%20Story%20(1995)|0|0|0|1|1|1|0|0|0|0|0|0|0|0|0|0|0|0|0\n', 'line 1 is neither a rating nor a header'],
    ['ml-100k u.info', 'u.info', '943 users\n1682 items\n100000 ratings\n', 'line 1 is neither a rating nor a header'],
    ['a one-line file whose line has three fields', 'three.data', '1\t2\t3\n', 'line 1 is neither a rating nor a header'],
    ['ml-latest tags.csv (a header without a rating column)', 'tags.csv', 'userId,movieId,tag,timestamp\n2,60756,funny,1445714994\n', 'the header names no rating column (rating)'],
    ['a file of blank lines', 'blank.csv', '\n\r\n', 'the file holds only blank lines'],
    ['an empty file', 'empty.csv', '', 'the file is empty'],
    ['a header naming one column twice', 'twice.csv', 'userId,user_id,rating,timestamp\n', "the header names two user columns ('userId' and 'user_id')"],
  ])('data - %s is refused as not a ratings file, saying which formats are', async (_what, name, text, reason) => {
    const f = fixture(name, text);
    for (const attempt of [() => all(f), () => ratingsFormatOf(f)]) {
      const err = await attempt().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NotRatingsFileError);
      expect((err as Error).message).toContain(`${f}`);
      expect((err as Error).message).toContain(`not a ratings file: ${reason}`);
      expect((err as Error).message).toContain("accepted: one rating per line (user, item, rating, timestamp) separated by tabs, '::', commas or spaces");
    }
  });

  it.each([
    ['beside ml-100k files (whole stars)', 'u.item', 'u1.base', '1\t2\t3\t4\n1\t2\t6\t4\n', 2, "rating 6 is off the file's scale (1–5 whole stars)"],
    ['a half star beside ml-100k files', 'u.item', 'u1.base', '1\t2\t3\t4\n1\t2\t3\t4\n1\t2\t3.5\t4\n', 3, "rating 3.5 is off the file's scale (1–5 whole stars)"],
    ['a zero beside ml-1m files', 'users.dat', 'ratings.dat', '1::2::3::4\n1::2::0::4\n', 2, "rating 0 is off the file's scale (1–5 whole stars)"],
    ['beside ml-latest files (half stars)', 'movies.csv', 'ratings.csv', 'userId,movieId,rating,timestamp\n1,2,0.5,4\n1,2,5.5,4\n', 3, "rating 5.5 is off the file's scale (0.5–5 in half stars)"],
    ['a quarter star in a file alone', '', 'any.data', '1 2 4.5 4\n1 2 3.25 4\n', 2, "rating 3.25 is off the file's scale (0.5–5 in half stars)"],
    ['a negative rating in a file alone', '', 'any.csv', '1,2,3,4\n1,2,-1,4\n', 2, "rating -1 is off the file's scale (0.5–5 in half stars)"],
  ])('data - a rating off the file\'s scale, %s, is an error naming the file and the line', async (_what, neighbour, name, text, line, reason) => {
    const f = fixture(name, text);
    if (neighbour) writeFileSync(join(dirname(f), neighbour), '');
    const err = await all(f).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DataFormatError);
    expect((err as Error).message).toBe(`${f}:${line}: ${reason}`);
  });

  it('data - a first rating off the scale is a bad line, not a file of another kind', async () => {
    const f = fixture('first.data', '1\t2\t9\t4\n1\t2\t3\t4\n');
    const err = await all(f).catch((e: unknown) => e);
    expect(err).not.toBeInstanceOf(NotRatingsFileError);
    expect((err as Error).message).toBe(`${f}:1: rating 9 is off the file's scale (0.5–5 in half stars)`);
    expect((await ratingsFormatOf(f)).name).toBe('tab-separated');
    expect(await all(f, { skipBad: true })).toEqual([{ user: '1', item: '2', rating: 3, time: 4 }]);
  });

  it('data - a scale given explicitly overrides the folder\'s', async () => {
    const f = fixture('u.data', '1\t2\t3.5\t4\n1\t2\t10\t4\n');
    writeFileSync(join(dirname(f), 'u.item'), '');
    await expect(all(f)).rejects.toThrow(`${f}:1: rating 3.5 is off the file's scale (1–5 whole stars)`);
    await expect(all(f, { scale: HALF_STARS })).rejects.toThrow(`${f}:2: rating 10 is off the file's scale (0.5–5 in half stars)`);
    const tenPoint = { name: '1–10', min: 1, max: 10, step: 0.5 };
    expect((await all(f, { scale: tenPoint })).map((r) => r.rating)).toEqual([3.5, 10]);
    expect(WHOLE_STARS).toMatchObject({ min: 1, max: 5, step: 1 });
  });

  it('data - with skipBad, bad lines are counted with the first few as file:line examples, and the good ones read', async () => {
    const lines = ['1\t1\t3\t4', '1\t2\t7\t4', '', '1\t3\tx\t4', '1\t4\t2\t4', '1\t5\t3', ...Array.from({ length: 6 }, (_, i) => `1\t${6 + i}\t0\t4`), '1\t99\t5\t4'];
    const f = fixture('u.data', lines.join('\n'));
    writeFileSync(join(dirname(f), 'u.item'), '');
    const reader = readRatings(f, { skipBad: true });
    const read: string[] = [];
    for await (const r of reader) read.push(r.item);
    expect(read).toEqual(['1', '4', '99']);
    expect(reader.records).toBe(3);
    expect(reader.bad.count).toBe(9);
    expect(reader.bad.examples.map((e) => [e.file, e.line])).toEqual([[f, 2], [f, 4], [f, 6], [f, 7], [f, 8]]);
    expect(reader.bad.examples[0]!.message).toBe(`${f}:2: rating 7 is off the file's scale (1–5 whole stars)`);
    expect(String(reader.bad)).toBe(
      `9 bad lines skipped: ${f}:2: rating 7 is off the file's scale (1–5 whole stars); ${f}:4: rating 'x' is not a number; ` +
        `${f}:6: expected 4 fields (user, item, rating, timestamp), got 3; ${f}:7: rating 0 is off the file's scale (1–5 whole stars); ` +
        `${f}:8: rating 0 is off the file's scale (1–5 whole stars); 4 more`,
    );
  });

  it('data - skipBad does not make a file that is not a ratings file readable', async () => {
    const f = fixture('u.item', '1|Toy Story (1995)|01-Jan-1995||http://x|0|0|0|1|1|1|0|0|0|0|0|0|0|0|0|0|0|0|0\n');
    await expect(all(f, { skipBad: true })).rejects.toThrow(NotRatingsFileError);
    await expect(all(fixture('empty.csv', ''), { skipBad: true })).rejects.toThrow(NotRatingsFileError);
  });

  it('data - the real ml-100k u.item is refused as not a ratings file', async () => {
    await expect(all(join(ml100k, 'u.item'))).rejects.toThrow(NotRatingsFileError);
  });

  it('data - a ratings path is a file of any name or a MovieLens folder with u.data, ratings.dat or ratings.csv', () => {
    for (const name of ['u.data', 'ratings.dat', 'ratings.csv']) {
      const d = join(dir, `folder-${name}`);
      mkdirSync(d);
      writeFileSync(join(d, name), '1\t2\t3\t4\n');
      expect(ratingsFileAt(d)).toBe(join(d, name));
    }
    const f = fixture('anything.base', '1\t2\t3\t4\n');
    expect(ratingsFileAt(f)).toBe(f);
    expect(ratingsFileAt(join(dir, 'no-such-file'))).toBeUndefined();
    const none = join(dir, 'folder-without-ratings');
    mkdirSync(none);
    writeFileSync(join(none, 'u.item'), '1|Toy Story (1995)\n');
    expect(ratingsFileAt(none)).toBeUndefined();
    expect(ratingsFileAt(ml100k)).toBe(join(ml100k, 'u.data'));
  });

  it('data - the real ml-100k u.data has 100,000 ratings from 943 users on 1,682 items, and u1.base 80,000', async () => {
    const rs = await all(join(ml100k, 'u.data'));
    expect(rs).toHaveLength(100_000);
    expect(new Set(rs.map((r) => r.user)).size).toBe(943);
    expect(new Set(rs.map((r) => r.item)).size).toBe(1682);
    expect(await all(join(ml100k, 'u1.base'))).toHaveLength(80_000);
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
