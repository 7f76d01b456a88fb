import { headerColumns, type Columns, type HeaderSchema } from './columns.js';
import { DataFormatError } from './errors.js';
import type { Separator } from './fields.js';
import type { TextEncoding } from './lines.js';
import { DataReader, type LineParser, type ReadOptions } from './reader.js';

/**
 * A file of rows of fields, one record per row: how a line splits, where the columns are
 * (fixed, or named by a header line that must come first), and the record a row makes.
 */
export interface TableFormat<F extends string, T> {
  /** What the file should be, for a file that is not: "an ml-latest movies.csv (movieId,title,genres)". */
  what: string;
  separator: Separator;
  columns: Columns<F> | HeaderSchema<F>;
  /** The record in a row of the right length, or what is wrong with it (an empty field, a value out of range). */
  row(fields: string[], at: Record<F, number>): T | string;
}

/**
 * A parser for one file of `format`. A header it lacks or cannot read fails the whole file
 * (whatever `skipBad` says: without it no line can be read), and so does a file without a
 * single non-blank line: an empty titles file is a mistake, not a catalogue of none.
 */
export function tableParser<F extends string, T>(file: string, format: TableFormat<F, T>): LineParser<T> {
  const schema = 'names' in format.columns ? format.columns : undefined;
  let columns = 'names' in format.columns ? undefined : format.columns;
  let seen = false;
  return {
    line(text, n) {
      seen = true;
      const fields = format.separator.split(text);
      if (columns === undefined) {
        const found = typeof fields === 'string' ? fields : headerColumns(fields, schema!);
        if (typeof found !== 'object') throw new DataFormatError(file, n, `not ${format.what}: ${found ?? 'the first line is not a header naming its columns'}`);
        columns = found;
        return undefined;
      }
      if (typeof fields === 'string') return fields;
      if (fields.length !== columns.count) return columns.countProblem(fields.length);
      return format.row(fields, columns.at);
    },
    end(lines) {
      if (!seen) throw new DataFormatError(file, undefined, `not ${format.what}: ${lines === 0 ? 'the file is empty' : 'the file holds only blank lines'}`);
    },
  };
}

/**
 * A reader of one file of `format` (or of the format a setup step makes first, such as genre
 * names read from a neighbouring file): every table reader of `data/` is one of these.
 */
export function tableReader<F extends string, T>(
  file: string,
  format: TableFormat<F, T> | (() => Promise<TableFormat<F, T>>),
  opts: ReadOptions = {},
  encoding: TextEncoding = 'utf8',
): DataReader<T> {
  return new DataReader(file, async () => tableParser(file, typeof format === 'function' ? await format() : format), opts, encoding);
}
