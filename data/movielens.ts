import { createReadStream, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { DataFormatError } from './errors.js';
import { RatingsParser, type RatingsFormat } from './ratings-format.js';
import type { Rating } from './types.js';

export type { Rating } from './types.js';

/** The lines of `file`, read as a stream (ml-25m has 25 million): LF, CRLF or CR. */
function linesOf(file: string): { lines: Interface; close(): void } {
  const input = createReadStream(file);
  // Ending the loop early closes the readline interface but not the file: close() does.
  return { lines: createInterface({ input, crlfDelay: Infinity }), close: () => input.destroy() };
}

/**
 * Reads a ratings file of any name, one rating per line, its format recognised from its
 * first non-empty line (see `RatingsParser`): tab-separated like ml-100k `u.data`,
 * `::`-separated like ml-1m `ratings.dat`, comma-separated with or without a header like
 * ml-latest `ratings.csv`, or whitespace-separated. Blank lines are skipped. A file that is
 * not a ratings file throws `NotRatingsFileError`; a bad line later on, `DataFormatError`
 * naming the file and the line.
 */
export async function* readRatings(file: string): AsyncGenerator<Rating> {
  const parser = new RatingsParser(file);
  const { lines, close } = linesOf(file);
  try {
    for await (const raw of lines) {
      const r = parser.line(raw);
      if (r) yield r;
    }
    parser.end();
  } finally {
    close();
  }
}

/**
 * The format of a ratings file, read from its first non-empty line only: to refuse a file
 * that is not one, and say which format was recognised, before loading anything.
 */
export async function ratingsFormatOf(file: string): Promise<RatingsFormat> {
  const parser = new RatingsParser(file);
  const { lines, close } = linesOf(file);
  try {
    for await (const raw of lines) {
      parser.line(raw);
      if (parser.format) return parser.format;
    }
    return parser.end();
  } finally {
    close();
  }
}

/** Title names from ml-100k `u.item` (pipe-separated, latin1), keyed by item id. */
export async function readItemTitles(file: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const rl = createInterface({ input: createReadStream(file, { encoding: 'latin1' }), crlfDelay: Infinity });
  let n = 0;
  for await (const line of rl) {
    n++;
    if (line.trim() === '') continue;
    const parts = line.split('|');
    if (parts.length < 2) throw new DataFormatError(file, n, 'expected item id | title | …');
    out.set(parts[0]!, parts[1]!);
  }
  return out;
}

/**
 * The ratings file of a MovieLens folder, looked for in this order: ml-100k, then ml-1m and
 * ml-10m, then ml-latest, ml-20m, ml-25m and ml-32m.
 */
export const RATINGS_FILE_NAMES = ['u.data', 'ratings.dat', 'ratings.csv'] as const;

/**
 * The ratings file `path` names: itself if it is a file (of any name), the first of
 * `RATINGS_FILE_NAMES` in it if it is a folder; undefined if there is none.
 */
export function ratingsFileAt(path: string): string | undefined {
  const stat = statSync(path, { throwIfNoEntry: false });
  if (!stat?.isDirectory()) return stat && path;
  return RATINGS_FILE_NAMES.map((name) => join(path, name)).find((p) => existsSync(p));
}
