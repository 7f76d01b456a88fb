import { genreYearFeatures, type TitleFeatures } from '../models/title-features.js';
import { readMoviesCsv } from './movielens-csv.js';
import { readMoviesDat } from './movielens-dat.js';
import type { DataReader, ReadOptions } from './reader.js';
import { parseTitleFeatureOptions, type TitleFeatureOptions } from './title-feature-options.js';
import type { Title } from './types.js';

/** The titles of ml-latest `movies.csv`, or of ml-1m / ml-10m `movies.dat` (named by its ending). */
export function readMovies(file: string, opts: ReadOptions = {}): DataReader<Title> {
  return file.toLowerCase().endsWith('.dat') ? readMoviesDat(file, opts) : readMoviesCsv(file, opts);
}

/**
 * `genre:<name>` (as the file spells it: `genre:Sci-Fi`) and `year:<bucket>` features of the
 * titles of a movies file, keyed by movie id (see `genreYearFeatures`). A title with neither
 * a genre nor a year has no entry. The titles are held whole: 87,000 in ml-32m.
 */
export async function readGenreYearFeatures(file: string, opts: TitleFeatureOptions = {}): Promise<TitleFeatures> {
  const o = parseTitleFeatureOptions(opts);
  return genreYearFeatures(await readMovies(file, o).toArray(), o.yearBucketYears);
}
