/**
 * Rating files reel can read, for messages that refuse a file: the same words as the
 * `--data` help, so a user told "not a ratings file" learns what would be one.
 */
export const ACCEPTED_RATINGS_FORMATS =
  "one rating per line (user, item, rating, timestamp) separated by tabs, '::', commas or spaces, " +
  'as in MovieLens u.data, ratings.dat and ratings.csv; a first line of column names ' +
  '(userId/user_id/user, movieId/item_id/title_id/item, rating, timestamp/time) may give them in any order, among others';

/** A line of a data file that could not be read; names the file and the line (1-based). */
export class DataFormatError extends Error {
  constructor(
    readonly file: string,
    /** The 1-based line; undefined when the fault is the file as a whole (an empty one). */
    readonly line: number | undefined,
    readonly reason: string,
  ) {
    super(`${file}${line === undefined ? '' : `:${line}`}: ${reason}`);
    this.name = 'DataFormatError';
  }
}

/**
 * A file that is not a ratings file at all (MovieLens u.item, tags.csv, an empty file),
 * judged from its first non-empty line, so that a wrong `--data` is refused before any
 * loading. A `DataFormatError` too: whoever handles one bad line handles this.
 */
export class NotRatingsFileError extends DataFormatError {
  constructor(file: string, line: number | undefined, why: string) {
    super(file, line, `not a ratings file: ${why}; accepted: ${ACCEPTED_RATINGS_FORMATS}`);
    this.name = 'NotRatingsFileError';
  }
}
