import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fixedColumns } from './columns.js';
import { DataFormatError } from './errors.js';
import { PIPES } from './fields.js';
import type { DataReader, ReadOptions } from './reader.js';
import { titleOf } from './rows.js';
import { tableReader } from './table.js';
import type { Title, UserInfo } from './types.js';

/** The 19 genres of ml-100k, in the order of `u.item`'s flags (as its `u.genre` lists them). */
export const ML100K_GENRES: readonly string[] = [
  'unknown', 'Action', 'Adventure', 'Animation', "Children's", 'Comedy', 'Crime', 'Documentary', 'Drama', 'Fantasy',
  'Film-Noir', 'Horror', 'Musical', 'Mystery', 'Romance', 'Sci-Fi', 'Thriller', 'War', 'Western',
];

/** Fields of `u.item` before its genre flags. */
const ITEM_FIELDS = 5;

export interface UItemOptions extends ReadOptions {
  /**
   * The genre of each flag, in order.
   * @default the `u.genre` beside the file if there is one, else `ML100K_GENRES`
   */
  genres?: readonly string[];
}

/**
 * ml-100k `u.genre`: one `name|index` per line, indices 0, 1, 2 … in any order. The genres in
 * index order. Every fault is an error (there is no `skipBad`): the list fixes what every
 * `u.item` flag means, and a gap would shift them all.
 */
export async function readUGenre(file: string): Promise<string[]> {
  const format = fixedColumns({ name: 0, index: 1 }, 2, 'genre | index');
  const rows = tableReader(
    file,
    {
      what: 'an ml-100k u.genre (genre|index)',
      separator: PIPES,
      columns: format,
      row: (fields) => {
        const [name, index] = fields.map((f) => f.trim()) as [string, string];
        const i = index === '' ? NaN : Number(index);
        if (!name) return 'empty genre name';
        if (!Number.isInteger(i) || i < 0) return `genre index '${index}' is not a whole number`;
        return { name, index: i };
      },
    },
    {},
    'latin1',
  );
  const genres: string[] = [];
  for await (const g of rows) {
    if (genres[g.index] !== undefined) throw new DataFormatError(file, undefined, `genre index ${g.index} is given twice ('${genres[g.index]}' and '${g.name}')`);
    genres[g.index] = g.name;
  }
  const gap = genres.findIndex((g) => g === undefined);
  if (gap >= 0) throw new DataFormatError(file, undefined, `no genre has index ${gap}`);
  return genres;
}

/**
 * ml-100k `u.item`, latin-1: `id | title | release date | video release date | IMDb URL`
 * then one 0/1 flag per genre. The year comes from the title ("Toy Story (1995)"); dates and
 * URL are not kept.
 */
export function readUItem(file: string, opts: UItemOptions = {}): DataReader<Title> {
  return tableReader(
    file,
    async () => {
      const beside = join(dirname(file), 'u.genre');
      const genres = opts.genres ?? (existsSync(beside) ? await readUGenre(beside) : ML100K_GENRES);
      return {
        what: `an ml-100k u.item (id|title|release date|video release date|IMDb URL|${genres.length} genre flags)`,
        separator: PIPES,
        columns: fixedColumns({ id: 0, title: 1 }, ITEM_FIELDS + genres.length, `id, title, release date, video release date, IMDb URL and ${genres.length} genre flags`),
        row: (fields) => {
          const named: string[] = [];
          for (const [g, genre] of genres.entries()) {
            const flag = fields[ITEM_FIELDS + g]!.trim();
            if (flag === '1') named.push(genre);
            else if (flag !== '0') return `genre flag ${g + 1} (${genre}) is '${flag}', not 0 or 1`;
          }
          return titleOf(fields[0]!.trim(), fields[1]!.trim(), named);
        },
      };
    },
    opts,
    'latin1',
  );
}

/** ml-100k `u.user`: `id | age | gender | occupation | zip code`, every field given. */
export function readUUser(file: string, opts: ReadOptions = {}): DataReader<UserInfo> {
  return tableReader(
    file,
    {
      what: 'an ml-100k u.user (id|age|gender|occupation|zip code)',
      separator: PIPES,
      columns: fixedColumns({ id: 0 }, 5, 'id, age, gender, occupation, zip code'),
      row: (fields) => {
        const [id, age, gender, occupation, zip] = fields.map((f) => f.trim()) as [string, string, string, string, string];
        if (!id) return 'empty user id';
        const years = age === '' ? NaN : Number(age);
        if (!Number.isInteger(years) || years < 1 || years > 120) return `age '${age}' is not a whole number of years from 1 to 120`;
        if (gender !== 'M' && gender !== 'F') return `gender '${gender}' is not M or F`;
        if (!occupation) return 'empty occupation';
        if (!zip) return 'empty zip code';
        return { id, age: years, gender, occupation, zip };
      },
    },
    opts,
    'latin1',
  );
}
