import { InvalidArgument } from '../runtime/errors.js';
import { BadLines } from './reader.js';

/** How title side information becomes features. Every field is optional. */
export interface TitleFeatureOptions {
  /**
   * Distinct users who must have used a tag (once normalised) for it to become a feature,
   * so that one user's typo or private label gets no node.
   * @default 2
   */
  minCount?: number;
  /**
   * Distinct movies a knowledge-graph feature (a relation and an entity) must reach to be
   * kept: a feature of one title links it to no other.
   * @default 2
   */
  minMovies?: number;
  /** Years per release-year bucket: 5 makes `year:1995-1999`. @default 5 */
  yearBucketYears?: number;
  /**
   * Skip lines that cannot be read, counting them in `bad`, instead of throwing
   * `DataFormatError` at the first (see `ReadOptions`).
   * @default false
   */
  skipBad?: boolean;
  /** Where every file's skipped lines are counted. @default a new one per call */
  bad?: BadLines;
}

/** The files title features are read from; at least one must be given. */
export interface TitleFeatureSources {
  /** ml-latest `movies.csv`, or ml-1m / ml-10m `movies.dat` (by its `.dat` ending): genres and years. */
  movies?: string;
  /** ml-latest `tags.csv`, or ml-10m `tags.dat`: tags. */
  tags?: string;
  /** A folder holding an MKR knowledge graph (`item_index2entity_id.txt`, `kg.txt`). */
  kgDir?: string;
}

export const DEFAULT_TAG_MIN_USERS = 2;
export const DEFAULT_KG_MIN_MOVIES = 2;
export const DEFAULT_YEAR_BUCKET_YEARS = 5;

export function defaultTitleFeatureOptions(): Required<TitleFeatureOptions> {
  return {
    minCount: DEFAULT_TAG_MIN_USERS,
    minMovies: DEFAULT_KG_MIN_MOVIES,
    yearBucketYears: DEFAULT_YEAR_BUCKET_YEARS,
    skipBad: false,
    bad: new BadLines(),
  };
}

/** The caller's options over the defaults; `InvalidArgument` naming every field out of range. */
export function parseTitleFeatureOptions(opts: TitleFeatureOptions = {}): Required<TitleFeatureOptions> {
  const given = Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined));
  const o = { ...defaultTitleFeatureOptions(), ...given } as Required<TitleFeatureOptions>;
  const bad = (['minCount', 'minMovies', 'yearBucketYears'] as const).filter((f) => !Number.isSafeInteger(o[f]) || o[f] < 1);
  if (bad.length > 0) {
    const why = bad.map((f) => `${f} must be a whole number ≥ 1 (got ${String(o[f])})`);
    throw new InvalidArgument(`title features: ${why.join('; ')}`, { fields: [...bad] });
  }
  return o;
}

/** The sources as given; `InvalidArgument` if none is, or one is not a non-empty path. */
export function parseTitleFeatureSources(sources: TitleFeatureSources): TitleFeatureSources {
  const fields = ['movies', 'tags', 'kgDir'] as const;
  const empty = fields.filter((f) => sources[f] !== undefined && (typeof sources[f] !== 'string' || sources[f] === ''));
  if (empty.length > 0) throw new InvalidArgument(`title features: ${empty.join(', ')} must be a path`, { fields: [...empty] });
  if (fields.every((f) => sources[f] === undefined)) {
    throw new InvalidArgument('title features: give at least one of movies, tags, kgDir', { fields: [...fields] });
  }
  return sources;
}
