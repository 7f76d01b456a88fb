import { fixedColumns, headerColumns, type Columns, type HeaderSchema } from './columns.js';
import { NotRatingsFileError } from './errors.js';
import { COLONS, COMMAS, SPACES, TABS, type Separator } from './fields.js';
import { offScale } from './rating-scale.js';
import type { LineParser } from './reader.js';
import { seconds } from './rows.js';
import type { Rating, RatingScale } from './types.js';

/** The four values of a rating, in the order of a headerless line. */
type Field = 'user' | 'item' | 'rating' | 'time';

const HEADERLESS: Columns<Field> = fixedColumns({ user: 0, item: 1, rating: 2, time: 3 }, 4, 'user, item, rating, timestamp');

/** Column names a ratings header may use (see `columnKey`), and what one lacking a column is told. */
const SCHEMA: HeaderSchema<Field> = {
  names: new Map<string, Field>([
    ['userid', 'user'], ['user', 'user'],
    ['movieid', 'item'], ['itemid', 'item'], ['titleid', 'item'], ['item', 'item'], ['movie', 'item'],
    ['rating', 'rating'],
    ['timestamp', 'time'], ['time', 'time'],
  ]),
  meant: {
    user: 'user column (userId, user_id or user)',
    item: 'item column (movieId, item_id, title_id or item)',
    rating: 'rating column (rating)',
    time: 'timestamp column (timestamp or time)',
  },
};

/**
 * The separator of a trimmed line. `::` and tabs come before commas: neither MovieLens
 * format puts one of those in a field, while a CSV field never holds a tab in practice.
 */
function separatorOf(line: string): Separator | undefined {
  if (line.includes('::')) return COLONS;
  if (line.includes('\t')) return TABS;
  if (line.includes(',')) return COMMAS;
  if (/\s/.test(line)) return SPACES;
  return undefined;
}

/** The rating in `fields` (its scale not yet checked), or what is wrong with them. */
function toRating(fields: string[] | string, c: Columns<Field>): Rating | string {
  if (typeof fields === 'string') return fields;
  if (fields.length !== c.count) return c.countProblem(fields.length);
  const user = fields[c.at.user]!.trim();
  const item = fields[c.at.item]!.trim();
  const r = fields[c.at.rating]!.trim();
  const t = fields[c.at.time]!.trim();
  if (!user || !item) return 'empty user or item id';
  // Number('') is 0: an empty field must not become a zero-star rating at the epoch.
  const rating = r === '' ? NaN : Number(r);
  if (!Number.isFinite(rating)) return `rating '${r}' is not a number`;
  const time = seconds(t);
  if (time === undefined) return `timestamp '${t}' is not a whole number of seconds`;
  return { user, item, rating, time };
}

/** How the lines of one ratings file read: found from its first non-empty line. */
export class RatingsFormat {
  constructor(
    /** For people: "tab-separated", "comma-separated with a header: userId, movieId, rating, timestamp". */
    readonly name: string,
    private readonly separator: Separator,
    private readonly columns: Columns<Field>,
  ) {}

  /** The rating on a line (trimmed, not blank), or what is wrong with it, `scale` included. */
  parse(line: string, scale: RatingScale): Rating | string {
    const r = toRating(this.separator.split(line), this.columns);
    if (typeof r === 'string') return r;
    return offScale(r.rating, scale) ?? r;
  }
}

/**
 * The format of a ratings file from its first non-empty line `n` (trimmed): a rating, or a
 * header naming the columns. Anything else is `NotRatingsFileError`. The scale is no part of
 * the format: a first rating off the scale is a bad line, not a file of another kind.
 */
function sniff(file: string, n: number, line: string): { format: RatingsFormat; header: boolean } {
  const separator = separatorOf(line);
  if (!separator) throw new NotRatingsFileError(file, n, `line ${n} has no tab, '::', comma or space between fields`);
  const fields = separator.split(line);
  if (typeof fields === 'string') throw new NotRatingsFileError(file, n, `line ${n} is neither a rating nor a header (read as ${separator.name}: ${fields})`);
  const asRating = toRating(fields, HEADERLESS);
  if (typeof asRating !== 'string') return { format: new RatingsFormat(separator.name, separator, HEADERLESS), header: false };
  const columns = headerColumns(fields, SCHEMA);
  if (columns === undefined) throw new NotRatingsFileError(file, n, `line ${n} is neither a rating nor a header naming its columns (read as ${separator.name}: ${asRating})`);
  if (typeof columns === 'string') throw new NotRatingsFileError(file, n, columns);
  const named = (['user', 'item', 'rating', 'time'] as const).map((f) => fields[columns.at[f]]!.trim()).join(', ');
  return { format: new RatingsFormat(`${separator.name} with a header: ${named}`, separator, columns), header: true };
}

/**
 * Turns the lines of one ratings file, in order, into ratings on `scale`. The first
 * non-empty line fixes the format, so the file's name does not matter, and every later line
 * must keep it.
 */
export class RatingsParser implements LineParser<Rating> {
  private known: RatingsFormat | undefined;

  constructor(
    readonly file: string,
    readonly scale: RatingScale,
  ) {}

  /** Known once the first non-empty line was seen. */
  get format(): RatingsFormat | undefined {
    return this.known;
  }

  line(text: string, n: number): Rating | string | undefined {
    if (this.known) return this.known.parse(text, this.scale);
    const { format, header } = sniff(this.file, n, text);
    this.known = format;
    return header ? undefined : format.parse(text, this.scale);
  }

  /** After the last of `lines` lines: the format; a file with no non-empty line is not a ratings file. */
  end(lines: number): RatingsFormat {
    if (this.known) return this.known;
    throw new NotRatingsFileError(this.file, undefined, lines === 0 ? 'the file is empty' : 'the file holds only blank lines');
  }
}
