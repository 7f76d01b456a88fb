import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { lineBatches } from './lines.js';
import { readUItem } from './movielens-100k.js';
import { scaleOfFile } from './movielens-layout.js';
import { RatingsParser, type RatingsFormat } from './ratings-format.js';
import { DataReader, type ReadOptions } from './reader.js';
import type { Rating, RatingScale } from './types.js';

export type { Rating } from './types.js';

export interface RatingsReadOptions extends ReadOptions {
  /**
   * The ratings the file may hold; one off it is a bad line.
   * @default the file's folder's (see `scaleOfFile`): 1–5 whole stars beside ml-100k or ml-1m files, else 0.5–5 in halves
   */
  scale?: RatingScale;
}

/**
 * Reads a ratings file of any name, one rating per line, its format recognised from its
 * first non-empty line (see `RatingsParser`): tab-separated like ml-100k `u.data`,
 * `::`-separated like ml-1m `ratings.dat`, comma-separated with or without a header like
 * ml-latest `ratings.csv`, or whitespace-separated. Blank lines are skipped. A file that is
 * not a ratings file throws `NotRatingsFileError`; a bad line later on (a missing field, a
 * rating off the scale), `DataFormatError` naming the file and the line, or with `skipBad`
 * is counted in the reader's `bad`.
 */
export function readRatings(file: string, opts: RatingsReadOptions = {}): DataReader<Rating> {
  const scale = opts.scale ?? scaleOfFile(file);
  return new DataReader(file, () => new RatingsParser(file, scale), opts);
}

/**
 * The format of a ratings file, read from its first non-empty line only: to refuse a file
 * that is not one, and say which format was recognised, before loading anything.
 */
export async function ratingsFormatOf(file: string): Promise<RatingsFormat> {
  const parser = new RatingsParser(file, scaleOfFile(file));
  let n = 0;
  for await (const batch of lineBatches(file)) {
    for (const raw of batch) {
      const text = raw.trim();
      n++;
      if (text === '') continue;
      parser.line(text, n);
      return parser.format!;
    }
  }
  return parser.end(n);
}

/** Title names from ml-100k `u.item`, keyed by item id. */
export async function readItemTitles(file: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for await (const t of readUItem(file)) out.set(t.id, t.title);
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
