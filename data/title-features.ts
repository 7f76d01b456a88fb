import { mergeTitleFeatures, type TitleFeatures } from '../models/title-features.js';
import { readGenreYearFeatures } from './genre-year-features.js';
import { readKgFeatures } from './kg-features.js';
import { readTagFeatures } from './tag-features.js';
import { parseTitleFeatureOptions, parseTitleFeatureSources, type TitleFeatureOptions, type TitleFeatureSources } from './title-feature-options.js';

/**
 * Every feature the given files hold for titles in the MovieLens id space (ml-1m, ml-10m,
 * ml-latest: the ids the MKR knowledge graph maps), merged and keyed by movie id: genres
 * and release-year buckets from `movies`, tags from `tags`, knowledge-graph entities from
 * `kgDir`. Not for ml-100k, whose ids are its own. The files are read concurrently; with
 * `skipBad` their skipped lines are counted together in `bad`.
 */
export async function readTitleFeatures(sources: TitleFeatureSources & TitleFeatureOptions): Promise<TitleFeatures> {
  const { movies, tags, kgDir, ...opts } = sources;
  parseTitleFeatureSources({ movies, tags, kgDir });
  const o = parseTitleFeatureOptions(opts);
  const sets = await Promise.all([
    movies === undefined ? undefined : readGenreYearFeatures(movies, o),
    tags === undefined ? undefined : readTagFeatures(tags, o),
    kgDir === undefined ? undefined : readKgFeatures(kgDir, o),
  ]);
  return mergeTitleFeatures(...sets.filter((s): s is TitleFeatures => s !== undefined));
}
