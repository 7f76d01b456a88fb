import { DataFormatError, NotRatingsFileError } from './errors.js';
import type { Rating } from './types.js';

/** The four values of a rating, in the order of a headerless line. */
const FIELDS = ['user', 'item', 'rating', 'time'] as const;
type Field = (typeof FIELDS)[number];

/** Where each value sits on a line, and how many fields a line has. */
interface Columns {
  at: Record<Field, number>;
  count: number;
  /** What a line with the wrong number of fields is told. */
  countProblem: (got: number) => string;
}

const HEADERLESS: Columns = {
  at: { user: 0, item: 1, rating: 2, time: 3 },
  count: 4,
  countProblem: (got) => `expected 4 fields (user, item, rating, timestamp), got ${got}`,
};

/**
 * Column names a header may use, compared in lower case without `_`, `-` or spaces, so
 * `userId`, `user_id` and `UserID` (ml-1m's README) are one name. A Map, not an object:
 * a column called `constructor` must not find `Object.prototype.constructor`.
 */
const NAMES = new Map<string, Field>([
  ['userid', 'user'], ['user', 'user'],
  ['movieid', 'item'], ['itemid', 'item'], ['titleid', 'item'], ['item', 'item'], ['movie', 'item'],
  ['rating', 'rating'],
  ['timestamp', 'time'], ['time', 'time'],
]);
/** What a header lacking a column is told. */
const MEANT: Record<Field, string> = {
  user: 'user column (userId, user_id or user)',
  item: 'item column (movieId, item_id, title_id or item)',
  rating: 'rating column (rating)',
  time: 'timestamp column (timestamp or time)',
};

/** How fields are separated on a line. */
interface Separator {
  name: string;
  split(line: string): string[];
}

// Regular expressions, not strings: V8 splits a line by /\t/ about twice as fast as by '\t'.
const COLONS: Separator = { name: "'::'-separated", split: (l) => l.split(/::/) };
const TABS: Separator = { name: 'tab-separated', split: (l) => l.split(/\t/) };
const COMMAS: Separator = { name: 'comma-separated', split: splitCsv };
const SPACES: Separator = { name: 'whitespace-separated', split: (l) => l.split(/\s+/) };

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

/**
 * One CSV line's fields. Quotes are rare in ratings files (R's `write.csv` quotes ids and
 * the header), so a line without any takes the fast path.
 */
function splitCsv(line: string): string[] {
  if (!line.includes('"')) return line.split(/,/);
  const out: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoted) {
      if (c !== '"') field += c;
      else if (line[i + 1] === '"') field += line[++i];
      else quoted = false;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      out.push(field);
      field = '';
    } else field += c;
  }
  out.push(field);
  return out;
}

/** The rating in `fields`, or what is wrong with them. */
function toRating(fields: string[], c: Columns): Rating | string {
  if (fields.length !== c.count) return c.countProblem(fields.length);
  const user = fields[c.at.user]!.trim();
  const item = fields[c.at.item]!.trim();
  const r = fields[c.at.rating]!.trim();
  const t = fields[c.at.time]!.trim();
  if (!user || !item) return 'empty user or item id';
  // Number('') is 0: an empty field must not become a zero-star rating at the epoch.
  const rating = r === '' ? NaN : Number(r);
  if (!Number.isFinite(rating)) return `rating '${r}' is not a number`;
  const time = t === '' ? NaN : Number(t);
  if (!Number.isInteger(time) || time < 0) return `timestamp '${t}' is not a whole number of seconds`;
  return { user, item, rating, time };
}

/**
 * The columns a header line names, what is wrong with it, or undefined if it names none
 * (then it is no header at all). Columns it does not know (an R row name, a tag) are kept
 * in the count and otherwise ignored.
 */
function headerColumns(fields: string[]): Columns | string | undefined {
  const at: Partial<Record<Field, number>> = {};
  for (const [i, f] of fields.entries()) {
    const field = NAMES.get(f.trim().toLowerCase().replace(/[-_\s]/g, ''));
    if (field === undefined) continue;
    const before = at[field];
    if (before !== undefined) return `the header names two ${field} columns ('${fields[before]!.trim()}' and '${f.trim()}')`;
    at[field] = i;
  }
  if (Object.keys(at).length === 0) return undefined;
  const missing = FIELDS.find((f) => at[f] === undefined);
  if (missing) return `the header names no ${MEANT[missing]}`;
  const count = fields.length;
  return { at: at as Record<Field, number>, count, countProblem: (got) => `expected ${count} fields as the header names, got ${got}` };
}

/** How the lines of one ratings file read: found from its first non-empty line. */
export class RatingsFormat {
  constructor(
    /** For people: "tab-separated", "comma-separated with a header: userId, movieId, rating, timestamp". */
    readonly name: string,
    private readonly separator: Separator,
    private readonly columns: Columns,
  ) {}

  /** The rating on line `n` (trimmed, not blank) of `file`; throws `DataFormatError` naming both. */
  parse(line: string, file: string, n: number): Rating {
    const r = toRating(this.separator.split(line), this.columns);
    if (typeof r === 'string') throw new DataFormatError(file, n, r);
    return r;
  }
}

/**
 * The format of a ratings file from its first non-empty line `n` (trimmed): a rating, or a
 * header naming the columns. Anything else is `NotRatingsFileError`.
 */
function sniff(file: string, n: number, line: string): { format: RatingsFormat; header: boolean } {
  const separator = separatorOf(line);
  if (!separator) throw new NotRatingsFileError(file, n, `line ${n} has no tab, '::', comma or space between fields`);
  const fields = separator.split(line);
  const asRating = toRating(fields, HEADERLESS);
  if (typeof asRating !== 'string') return { format: new RatingsFormat(separator.name, separator, HEADERLESS), header: false };
  const columns = headerColumns(fields);
  if (columns === undefined) throw new NotRatingsFileError(file, n, `line ${n} is neither a rating nor a header naming its columns (read as ${separator.name}: ${asRating})`);
  if (typeof columns === 'string') throw new NotRatingsFileError(file, n, columns);
  const named = FIELDS.map((f) => fields[columns.at[f]]!.trim()).join(', ');
  return { format: new RatingsFormat(`${separator.name} with a header: ${named}`, separator, columns), header: true };
}

/**
 * Turns the lines of one ratings file, in order, into ratings. The first non-empty line
 * fixes the format, so the file's name does not matter, and every later line must keep it.
 */
export class RatingsParser {
  private known: RatingsFormat | undefined;
  private n = 0;

  constructor(readonly file: string) {}

  /** Known once the first non-empty line was seen. */
  get format(): RatingsFormat | undefined {
    return this.known;
  }

  /** The rating on the next line; undefined for a blank line or the header. */
  line(raw: string): Rating | undefined {
    const n = ++this.n;
    // trim() also removes a CR left by CRLF and a UTF-8 byte order mark (U+FEFF is white space).
    const line = raw.trim();
    if (line === '') return undefined;
    if (this.known) return this.known.parse(line, this.file, n);
    const { format, header } = sniff(this.file, n, line);
    this.known = format;
    return header ? undefined : format.parse(line, this.file, n);
  }

  /** After the last line: the format; a file with no non-empty line is not a ratings file. */
  end(): RatingsFormat {
    if (this.known) return this.known;
    throw new NotRatingsFileError(this.file, undefined, this.n === 0 ? 'the file is empty' : 'the file holds only blank lines');
  }
}
