import { statSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { MovieLensFolder, ratingsFormatOf, readRatings, type DataReader, type MovieLensFileKind, type Rating, type ReadOptions, type Tag, type Title } from '../data/index.js';
import { CliError, ExitCode } from './exit-codes.js';
import { asUsage } from './ratings-input.js';

/** The readers of what `reel load` sends: ratings to users and titles, titles and tags to titles. */
export interface LoadReaders {
  titles?: DataReader<Title>;
  tags?: DataReader<Tag>;
  ratings?: DataReader<Rating>;
}

/** What `--data` names: said for people, and readers of it, made afresh for each pass. */
export interface LoadSources {
  describe: string;
  readers(opts: ReadOptions): LoadReaders;
}

/** Files a folder may hold that `reel load` does not send, and why. */
const NOT_LOADED: Partial<Record<MovieLensFileKind, string>> = {
  users: 'user actors keep no demographics yet',
  genres: "it names u.item's genre flags, which u.item is read with",
  links: 'it is read together with movies.csv: pass the folder',
};

function usage(message: string): CliError {
  return new CliError(message, ExitCode.Usage);
}

/** A folder: its ratings, titles (ml-latest: with links) and tags. */
function folderSources(folder: MovieLensFolder, path: string): LoadSources {
  const r = (o: ReadOptions): LoadReaders => ({ titles: folder.titles(o), tags: folder.tags(o), ratings: folder.ratings(o) });
  const empty = r({});
  if (!empty.ratings && !empty.titles && !empty.tags) throw usage(`--data ${path}: the folder holds no ratings, titles or tags (${folder.describe()})`);
  const users = folder.files.users;
  const note = users === undefined ? '' : `; ${basename(users)} is not loaded (${NOT_LOADED.users})`;
  return { describe: `${path}: ${folder.describe()}${note}`, readers: r };
}

/**
 * The sources `--data` names: a MovieLens folder (ml-100k, ml-1m, ml-10m, ml-latest and
 * kin), one of such a folder's titles or tags files, or a ratings file of any name (its
 * format recognised from its content). Anything else is a usage error (exit 2).
 */
export async function loadSources(path: string): Promise<LoadSources> {
  const stat = statSync(path, { throwIfNoEntry: false });
  if (!stat) throw usage(`--data ${path}: no such file or folder`);
  if (stat.isDirectory()) {
    const folder = MovieLensFolder.at(path);
    if (!folder) throw usage(`--data ${path}: not a MovieLens folder (no u.data, u.item, ratings.dat, movies.dat, ratings.csv, movies.csv or tags.csv)`);
    return folderSources(folder, path);
  }
  const folder = MovieLensFolder.at(dirname(path));
  const kind = folder && (Object.entries(folder.files) as [MovieLensFileKind, string][]).find(([, f]) => resolve(f) === resolve(path))?.[0];
  if (kind !== undefined && NOT_LOADED[kind]) throw usage(`--data ${path}: ${basename(path)} is not loaded: ${NOT_LOADED[kind]}`);
  if (folder && kind === 'titles') return { describe: `${path}: titles (${folder.layout})`, readers: (o) => ({ titles: folder.titles(o) }) };
  if (folder && kind === 'tags') return { describe: `${path}: tags (${folder.layout})`, readers: (o) => ({ tags: folder.tags(o) }) };
  // A ratings file of any name: refused before anything loads if it is not one.
  const format = await ratingsFormatOf(path).catch((err: unknown) => Promise.reject(asUsage(err)));
  if (folder && kind === 'ratings') return { describe: `${path}: ratings (${folder.layout}, ${format.name})`, readers: (o) => ({ ratings: folder.ratings(o) }) };
  return { describe: `${path}: ratings (${format.name})`, readers: (o) => ({ ratings: readRatings(path, o) }) };
}
