import { DataFormatError } from './errors.js';
import { lineBatches, type TextEncoding } from './lines.js';

/** What every reader accepts. */
export interface ReadOptions {
  /**
   * Skip lines that cannot be read (a missing field, a rating off the scale), counting them
   * in `bad`, instead of throwing `DataFormatError` at the first. A file that is not of the
   * kind asked for (a missing header, not a ratings file) throws either way.
   * @default false
   */
  skipBad?: boolean;
  /**
   * How the file's bytes are text.
   * @default the format's: latin-1 for ml-100k `u.*` and ml-1m `.dat` files, else UTF-8
   */
  encoding?: TextEncoding;
  /**
   * Where skipped lines are counted: pass one to several readers (a folder's titles, users
   * and ratings) to report them together.
   * @default a new one per reader
   */
  bad?: BadLines;
}

/** Bad lines kept as examples when skipping them: enough to see the pattern. */
export const BAD_LINE_EXAMPLES = 5;

/** The lines a reader skipped (with `skipBad`): how many, and the first few. */
export class BadLines {
  count = 0;
  /** The first `BAD_LINE_EXAMPLES`, each naming its file and line. */
  readonly examples: DataFormatError[] = [];

  add(err: DataFormatError): void {
    this.count++;
    if (this.examples.length < BAD_LINE_EXAMPLES) this.examples.push(err);
  }

  /** For people: "3 bad lines skipped: u.data:7: rating 9 is off the file's scale (1–5 whole stars); …", or '' for none. */
  toString(): string {
    if (this.count === 0) return '';
    const more = this.count > this.examples.length ? `; ${this.count - this.examples.length} more` : '';
    return `${this.count} bad line${this.count === 1 ? '' : 's'} skipped: ${this.examples.map((e) => e.message).join('; ')}${more}`;
  }
}

/**
 * Turns the lines of one file, in order, into records. `line` gets each non-blank line,
 * trimmed (which also drops a UTF-8 byte order mark), with its 1-based number, and returns
 * the record, undefined for a line that holds none (a header), or a string saying what is
 * wrong with the line. It throws `DataFormatError` when the file as a whole is wrong.
 */
export interface LineParser<T> {
  line(text: string, n: number): T | string | undefined;
  /** After the last line, given how many there were: throws if the file as a whole is wrong. */
  end?(lines: number): void;
}

/**
 * The records of one file as an async iterable, streamed: each iteration reads the file
 * anew with a fresh parser (and counts bad lines again). A bad line throws `DataFormatError` naming the file and line,
 * or with `skipBad` is counted in `bad`, which, with `records`, says afterwards what was
 * loaded: nothing is left out silently.
 */
export class DataReader<T> implements AsyncIterable<T> {
  /** Lines skipped (with `skipBad`), over every iteration. */
  readonly bad: BadLines;
  /** Records yielded in the last iteration. */
  records = 0;
  /** Lines read in the last iteration, blank ones included. */
  lines = 0;
  private readonly skipBad: boolean;
  private readonly encoding: TextEncoding;

  /** `encoding` is the format's default, which `opts.encoding` overrides. */
  constructor(
    readonly file: string,
    private readonly parser: () => LineParser<T> | Promise<LineParser<T>>,
    opts: ReadOptions = {},
    encoding: TextEncoding = 'utf8',
  ) {
    this.skipBad = opts.skipBad ?? false;
    this.bad = opts.bad ?? new BadLines();
    this.encoding = opts.encoding ?? encoding;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T> {
    const parser = await this.parser();
    this.records = 0;
    this.lines = 0;
    let n = 0;
    for await (const batch of lineBatches(this.file, this.encoding)) {
      for (const raw of batch) {
        n++;
        const text = raw.trim();
        if (text === '') continue;
        const r = parser.line(text, n);
        if (r === undefined) continue;
        if (typeof r === 'string') {
          const err = new DataFormatError(this.file, n, r);
          if (!this.skipBad) throw err;
          this.bad.add(err);
          continue;
        }
        this.records++;
        yield r;
      }
      this.lines = n;
    }
    parser.end?.(n);
  }

  /** Every record, in order: for files that fit in memory (titles, users, links). */
  async toArray(): Promise<T[]> {
    const out: T[] = [];
    for await (const r of this) out.push(r);
    return out;
  }
}
