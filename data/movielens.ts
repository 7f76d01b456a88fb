import { createReadStream, existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/** One explicit rating. */
export interface Rating {
  user: string;
  item: string;
  /** 1–5 stars in ml-100k. */
  rating: number;
  /** Seconds since the Unix epoch. */
  time: number;
}

/** A line of a data file that could not be read; names the file and the line. */
export class DataFormatError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    reason: string,
  ) {
    super(`${file}:${line}: ${reason}`);
    this.name = 'DataFormatError';
  }
}

/**
 * Reads MovieLens ratings: ml-100k `u.data` style (tab-separated) or ml-1m `ratings.dat`
 * style (`::`-separated): user, item, rating, timestamp. Blank lines are skipped; any
 * other malformed line throws `DataFormatError` naming the file and line.
 */
export async function* readRatings(file: string): AsyncGenerator<Rating> {
  const rl = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  let n = 0;
  for await (const raw of rl) {
    n++;
    const line = raw.trim();
    if (line === '') continue;
    const parts = line.includes('::') ? line.split('::') : line.split(/\t|,/);
    if (parts.length !== 4) throw new DataFormatError(file, n, `expected 4 fields (user, item, rating, timestamp), got ${parts.length}`);
    const [user, item, r, t] = parts as [string, string, string, string];
    const rating = Number(r);
    const time = Number(t);
    if (!user || !item) throw new DataFormatError(file, n, 'empty user or item id');
    if (!Number.isFinite(rating)) throw new DataFormatError(file, n, `rating '${r}' is not a number`);
    if (!Number.isInteger(time) || time < 0) throw new DataFormatError(file, n, `timestamp '${t}' is not a whole number of seconds`);
    yield { user, item, rating, time };
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

/** The ratings file of a MovieLens folder (`u.data` or `ratings.dat`), or undefined. */
export function ratingsFileIn(dir: string): string | undefined {
  for (const name of ['u.data', 'ratings.dat']) {
    const p = join(dir, name);
    if (existsSync(p)) return p;
  }
  return undefined;
}
