import type { Tag, Title } from './types.js';

/**
 * The year in a title's trailing "(1995)", which may be followed by IMDb's markers (ml-100k's
 * "Land Before Time III: … (1995) (V)"). ml-latest writes series as "(1975-1979)" or
 * "(2007-)": their first year. Titles without one ("Babylon 5", ml-100k's "unknown") have none.
 */
export function yearOf(title: string): number | undefined {
  const m = /\((\d{4})(?:[-–]\d{0,4})?\)(?:\s*\([^()]*\))*$/.exec(title);
  return m ? Number(m[1]) : undefined;
}

/**
 * Genre names that say "none": ml-latest's and ml-10m's "(no genres listed)", and ml-100k's
 * "unknown" flag (set on a handful of titles with no other genre). Kept out of `genres`, so
 * that every format says "no genre" the same way, as an empty list.
 */
const NO_GENRE = new Set(['(no genres listed)', 'unknown']);

/** A title from its trimmed fields, or what is wrong with them. */
export function titleOf(id: string, title: string, genres: string[]): Title | string {
  if (!id) return 'empty title id';
  if (!title) return 'empty title';
  const t: Title = { id, title, genres: genres.filter((g) => !NO_GENRE.has(g)) };
  const year = yearOf(title);
  if (year !== undefined) t.year = year;
  return t;
}

/** A title of ml-1m `movies.dat` or ml-latest `movies.csv`: genres separated by '|'. */
export function titleRow(id: string, title: string, genres: string): Title | string {
  const g = genres.trim();
  if (!g) return "empty genres (a title without any says '(no genres listed)')";
  const names = g.split('|').map((s) => s.trim());
  if (names.includes('')) return `empty genre name in '${g}'`;
  return titleOf(id.trim(), title.trim(), names);
}

/** Whole seconds since the epoch in `t` (trimmed), or undefined. */
export function seconds(t: string): number | undefined {
  // Number('') is 0: an empty field must not become the epoch.
  const time = t === '' ? NaN : Number(t);
  return Number.isInteger(time) && time >= 0 ? time : undefined;
}

/** A tag of ml-latest `tags.csv` or ml-10m `tags.dat`, or what is wrong with its fields. */
export function tagRow(user: string, item: string, tag: string, time: string): Tag | string {
  const [u, i, g, t] = [user.trim(), item.trim(), tag.trim(), time.trim()];
  if (!u || !i) return 'empty user or item id';
  if (!g) return 'empty tag';
  const s = seconds(t);
  if (s === undefined) return `timestamp '${t}' is not a whole number of seconds`;
  return { user: u, item: i, tag: g, time: s };
}
