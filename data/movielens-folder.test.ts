import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DataFormatError } from './errors.js';
import { MovieLensFolder } from './movielens-folder.js';
import type { Rating, Title } from './types.js';

const dir = mkdtempSync(join(tmpdir(), 'reel-folder-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const ml100k = join(import.meta.dirname, '..', '..', 'shared', 'datasets', 'ml-100k');

function folder(files: Record<string, string>): string {
  const d = mkdtempSync(join(dir, 'f-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(d, name), text);
  return d;
}

async function all<T>(it: AsyncIterable<T> | undefined): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it!) out.push(x);
  return out;
}

describe('MovieLens folders', () => {
  it('folder - the real ml-100k: its layout, files, splits, and readers for each', async () => {
    const ml = MovieLensFolder.at(ml100k)!;
    expect(ml.layout).toBe('ml-100k');
    expect(ml.describe()).toBe(
      'ml-100k layout (ratings 1–5 whole stars): ratings u.data, titles u.item, users u.user, genre names u.genre; splits u1, u2, u3, u4, u5, ua, ub',
    );
    expect(ml.splits[0]).toEqual({ name: 'u1', train: join(ml100k, 'u1.base'), test: join(ml100k, 'u1.test') });
    expect((await all(ml.titles()))[0]).toEqual({ id: '1', title: 'Toy Story (1995)', year: 1995, genres: ['Animation', "Children's", 'Comedy'] });
    expect(await all(ml.users())).toHaveLength(943);
    expect(ml.tags()).toBeUndefined();
  });

  it('folder - ml-1m: whole stars, movies.dat and users.dat', async () => {
    const d = folder({ 'ratings.dat': '1::1193::5::978300760\n1::661::3.5::978302109\n', 'movies.dat': '1193::One Flew Over the Cuckoo\'s Nest (1975)::Drama\n', 'users.dat': '1::F::1::10::48067\n' });
    const ml = MovieLensFolder.at(d)!;
    expect(ml.describe()).toBe('ml-1m layout (ratings 1–5 whole stars): ratings ratings.dat, titles movies.dat, users users.dat');
    await expect(all(ml.ratings())).rejects.toThrow(`${join(d, 'ratings.dat')}:2: rating 3.5 is off the file's scale (1–5 whole stars)`);
    expect(await all(ml.titles())).toEqual([{ id: '1193', title: "One Flew Over the Cuckoo's Nest (1975)", year: 1975, genres: ['Drama'] }]);
    expect(await all(ml.users())).toEqual([{ id: '1', gender: 'F', age: 1, occupation: 'K-12 student', zip: '48067' }]);
  });

  it('folder - ml-10m: the same .dat names without users.dat, half stars, tags.dat', async () => {
    const d = folder({ 'ratings.dat': '1::122::3.5::838985046\n', 'movies.dat': '122::Boomerang (1992)::Comedy|Romance\n', 'tags.dat': '15::4973::excellent!::1215184630\n' });
    const ml = MovieLensFolder.at(d)!;
    expect(ml.describe()).toBe('ml-10m layout (ratings 0.5–5 in half stars): ratings ratings.dat, titles movies.dat, tags tags.dat');
    expect(await all<Rating>(ml.ratings())).toEqual([{ user: '1', item: '122', rating: 3.5, time: 838985046 }]);
    expect(await all(ml.tags())).toEqual([{ user: '15', item: '4973', tag: 'excellent!', time: 1215184630 }]);
  });

  it('folder - ml-latest: titles with their links, one count of bad lines for both files', async () => {
    const d = folder({
      'ratings.csv': 'userId,movieId,rating,timestamp\n1,1,4.0,964982703\n1,3,0.5,964981247\n',
      'movies.csv': 'movieId,title,genres\n1,Toy Story (1995),Adventure|Animation\n3,"Grumpier Old Men, The (1995)",Comedy|Romance\n4,Broken,\n',
      'links.csv': 'movieId,imdbId,tmdbId\n1,0114709,862\n3,x,15602\n',
      'tags.csv': 'userId,movieId,tag,timestamp\n2,60756,funny,1445714994\n',
    });
    const ml = MovieLensFolder.at(d)!;
    expect(ml.describe()).toBe('ml-latest layout (ratings 0.5–5 in half stars): ratings ratings.csv, titles movies.csv, tags tags.csv, IMDb and TMDB links links.csv');
    expect(await all<Rating>(ml.ratings())).toHaveLength(2);
    const titles = ml.titles({ skipBad: true })!;
    expect(await all<Title>(titles)).toEqual([
      { id: '1', title: 'Toy Story (1995)', year: 1995, genres: ['Adventure', 'Animation'], imdbId: '0114709', tmdbId: '862' },
      { id: '3', title: 'Grumpier Old Men, The (1995)', year: 1995, genres: ['Comedy', 'Romance'] },
    ]);
    expect(titles.bad.examples.map((e) => `${e.file.slice(d.length + 1)}:${e.line}`)).toEqual(['links.csv:3', 'movies.csv:4']);
    await expect(all(ml.titles())).rejects.toThrow(DataFormatError);
  });

  it('folder - what is not a MovieLens folder is undefined', () => {
    expect(MovieLensFolder.at(join(dir, 'no-such-folder'))).toBeUndefined();
    expect(MovieLensFolder.at(join(ml100k, 'u.data'))).toBeUndefined();
    const empty = join(dir, 'empty');
    mkdirSync(empty);
    writeFileSync(join(empty, 'notes.txt'), 'hello\n');
    expect(MovieLensFolder.at(empty)).toBeUndefined();
  });
});
