// The data folder's public surface: MovieLens readers, the folder helper, synthetic ratings.
export { ACCEPTED_RATINGS_FORMATS, DataFormatError, NotRatingsFileError } from './errors.js';
export { BAD_LINE_EXAMPLES, BadLines, DataReader } from './reader.js';
export { HALF_STARS, WHOLE_STARS } from './rating-scale.js';
export { RATINGS_FILE_NAMES, ratingsFileAt, ratingsFormatOf, readItemTitles, readRatings } from './movielens.js';
export { ML100K_GENRES, readUGenre, readUItem, readUUser } from './movielens-100k.js';
export { ML1M_AGE_GROUPS, ML1M_OCCUPATIONS, readMoviesDat, readTagsDat, readUsersDat } from './movielens-dat.js';
export { readLinksCsv, readMoviesCsv, readTagsCsv } from './movielens-csv.js';
export { MovieLensFolder } from './movielens-folder.js';
export { scaleOfFile } from './movielens-layout.js';
export { PlantedModel, normalCdf } from './planted-model.js';
export { mulberry32 } from './random.js';
export { defaultSyntheticOptions, parseSyntheticOptions } from './synthetic-options.js';
export { syntheticRatings, syntheticSet } from './synthetic.js';

export type { Link, Rating, RatingScale, Tag, Title, UserInfo } from './types.js';
export type { ReadOptions } from './reader.js';
export type { TextEncoding } from './lines.js';
export type { RatingsFormat } from './ratings-format.js';
export type { RatingsReadOptions } from './movielens.js';
export type { UItemOptions } from './movielens-100k.js';
export type { MoviesCsvOptions } from './movielens-csv.js';
export type { MovieLensFileKind, MovieLensLayout, MovieLensSplit } from './movielens-layout.js';
export type { Expected, PlantedParams, SyntheticScale } from './planted-model.js';
export type { SyntheticOptions } from './synthetic-options.js';
export type { SyntheticSet } from './synthetic.js';
