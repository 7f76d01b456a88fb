import type { HeaderSchema } from './columns.js';
import { COMMAS } from './fields.js';
import type { DataReader, ReadOptions } from './reader.js';
import { tagRow, titleRow } from './rows.js';
import { tableReader } from './table.js';
import type { Link, Tag, Title } from './types.js';

/*
 * ml-latest (and ml-20m, ml-25m, ml-32m) CSVs: UTF-8, a header line, fields with commas
 * quoted ("American President, The (1995)"), LF or CRLF. Columns are found by the header's
 * names, in any order, as for ratings.
 */

const MOVIES: HeaderSchema<'id' | 'title' | 'genres'> = {
  names: new Map([['movieid', 'id'], ['title', 'title'], ['genres', 'genres']]),
  meant: { id: 'movieId column', title: 'title column', genres: 'genres column' },
};

const TAGS: HeaderSchema<'user' | 'item' | 'tag' | 'time'> = {
  names: new Map([['userid', 'user'], ['movieid', 'item'], ['tag', 'tag'], ['timestamp', 'time']]),
  meant: { user: 'userId column', item: 'movieId column', tag: 'tag column', time: 'timestamp column' },
};

const LINKS: HeaderSchema<'item' | 'imdb' | 'tmdb'> = {
  names: new Map([['movieid', 'item'], ['imdbid', 'imdb'], ['tmdbid', 'tmdb']]),
  meant: { item: 'movieId column', imdb: 'imdbId column', tmdb: 'tmdbId column' },
};

export interface MoviesCsvOptions extends ReadOptions {
  /** IMDb and TMDB ids to give the titles (`readLinksCsv`), read whole before the first title. */
  links?: AsyncIterable<Link>;
}

/** `movies.csv`: `movieId,title,genres`, genres separated by '|' or "(no genres listed)". */
export function readMoviesCsv(file: string, opts: MoviesCsvOptions = {}): DataReader<Title> {
  return tableReader(
    file,
    async () => {
      const links = new Map<string, Link>();
      if (opts.links) for await (const l of opts.links) links.set(l.item, l);
      return {
        what: 'a movies.csv (movieId,title,genres)',
        separator: COMMAS,
        columns: MOVIES,
        row: (f, at) => {
          const t = titleRow(f[at.id]!, f[at.title]!, f[at.genres]!);
          const l = typeof t === 'string' ? undefined : links.get(t.id);
          if (typeof t === 'string' || !l) return t;
          t.imdbId = l.imdbId;
          if (l.tmdbId !== undefined) t.tmdbId = l.tmdbId;
          return t;
        },
      };
    },
    opts,
  );
}

/** `tags.csv`: `userId,movieId,tag,timestamp`. */
export function readTagsCsv(file: string, opts: ReadOptions = {}): DataReader<Tag> {
  return tableReader(
    file,
    {
      what: 'a tags.csv (userId,movieId,tag,timestamp)',
      separator: COMMAS,
      columns: TAGS,
      row: (f, at) => tagRow(f[at.user]!, f[at.item]!, f[at.tag]!, f[at.time]!),
    },
    opts,
  );
}

/** `links.csv`: `movieId,imdbId,tmdbId`; a few titles have no tmdbId. */
export function readLinksCsv(file: string, opts: ReadOptions = {}): DataReader<Link> {
  return tableReader(
    file,
    {
      what: 'a links.csv (movieId,imdbId,tmdbId)',
      separator: COMMAS,
      columns: LINKS,
      row: (f, at) => {
        const [item, imdb, tmdb] = [f[at.item]!.trim(), f[at.imdb]!.trim(), f[at.tmdb]!.trim()];
        if (!item) return 'empty movieId';
        if (!/^\d+$/.test(imdb)) return `imdbId '${imdb}' is not a number`;
        if (tmdb !== '' && !/^\d+$/.test(tmdb)) return `tmdbId '${tmdb}' is not a number`;
        return tmdb === '' ? { item, imdbId: imdb } : { item, imdbId: imdb, tmdbId: tmdb };
      },},
    opts,
  );
}
