import { fixedColumns } from './columns.js';
import { COLONS } from './fields.js';
import type { DataReader, ReadOptions } from './reader.js';
import { tagRow, titleRow } from './rows.js';
import { tableReader } from './table.js';
import type { Tag, Title, UserInfo } from './types.js';

/** ml-1m's occupation codes, as its README names them. */
export const ML1M_OCCUPATIONS: readonly string[] = [
  'other or not specified', 'academic/educator', 'artist', 'clerical/admin', 'college/grad student', 'customer service',
  'doctor/health care', 'executive/managerial', 'farmer', 'homemaker', 'K-12 student', 'lawyer', 'programmer', 'retired',
  'sales/marketing', 'scientist', 'self-employed', 'technician/engineer', 'tradesman/craftsman', 'unemployed', 'writer',
];

/** ml-1m's age groups, each the group's first year: 1 is "under 18", 18 is "18-24", … 56 is "56+". */
export const ML1M_AGE_GROUPS: readonly number[] = [1, 18, 25, 35, 45, 50, 56];

/**
 * ml-1m (and ml-10m) `movies.dat`, latin-1: `id::Title (Year)::Genre|Genre`. A title with
 * no genre says "(no genres listed)"; an empty genres field is an error.
 */
export function readMoviesDat(file: string, opts: ReadOptions = {}): DataReader<Title> {
  const format = {
    what: "a movies.dat (id::title::genres)",
    separator: COLONS,
    columns: fixedColumns({ id: 0, title: 1, genres: 2 }, 3, 'id, title, genres'),
    row: ([id, title, genres]: string[]) => titleRow(id!, title!, genres!),
  };
  return tableReader(file, format, opts, 'latin1');
}

/**
 * ml-1m `users.dat`: `id::gender::age group::occupation code::zip code`, every field given.
 * The age is the group's first year (see `ML1M_AGE_GROUPS`); the occupation, its name.
 */
export function readUsersDat(file: string, opts: ReadOptions = {}): DataReader<UserInfo> {
  const format = {
    what: 'an ml-1m users.dat (id::gender::age::occupation::zip code)',
    separator: COLONS,
    columns: fixedColumns({ id: 0 }, 5, 'id, gender, age, occupation, zip code'),
    row: (fields: string[]) => {
      const [id, gender, age, occupation, zip] = fields.map((f) => f.trim()) as [string, string, string, string, string];
      if (!id) return 'empty user id';
      if (gender !== 'M' && gender !== 'F') return `gender '${gender}' is not M or F`;
      const group = ML1M_AGE_GROUPS.find((a) => String(a) === age);
      if (group === undefined) return `age group '${age}' is none of ${ML1M_AGE_GROUPS.join(', ')}`;
      const job = /^\d+$/.test(occupation) ? ML1M_OCCUPATIONS[Number(occupation)] : undefined;
      if (job === undefined) return `occupation '${occupation}' is not a code from 0 to ${ML1M_OCCUPATIONS.length - 1}`;
      if (!zip) return 'empty zip code';
      return { id, gender, age: group, occupation: job, zip };
    },
  };
  return tableReader(file, format, opts, 'latin1');
}

/** ml-10m `tags.dat`: `user::item::tag::timestamp`. */
export function readTagsDat(file: string, opts: ReadOptions = {}): DataReader<Tag> {
  const format = {
    what: 'a tags.dat (user::item::tag::timestamp)',
    separator: COLONS,
    columns: fixedColumns({ user: 0, item: 1, tag: 2, time: 3 }, 4, 'user, item, tag, timestamp'),
    row: ([user, item, tag, time]: string[]) => tagRow(user!, item!, tag!, time!),
  };
  return tableReader(file, format, opts, 'latin1');
}
