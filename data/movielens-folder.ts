import { basename } from 'node:path';
import { readUItem, readUUser } from './movielens-100k.js';
import { readMoviesCsv, readLinksCsv, readTagsCsv } from './movielens-csv.js';
import { readMoviesDat, readTagsDat, readUsersDat } from './movielens-dat.js';
import { layoutOf, type FoundLayout, type MovieLensFileKind, type MovieLensLayout, type MovieLensSplit } from './movielens-layout.js';
import { readRatings } from './movielens.js';
import { BadLines, type DataReader, type ReadOptions } from './reader.js';
import type { Rating, RatingScale, Tag, Title, UserInfo } from './types.js';

/** For people, what each kind of file holds. */
const KIND_NAMES: Record<MovieLensFileKind, string> = {
  ratings: 'ratings',
  titles: 'titles',
  users: 'users',
  genres: 'genre names',
  tags: 'tags',
  links: 'IMDb and TMDB links',
};

/**
 * A MovieLens folder: which release's layout it has (ml-100k, ml-1m, ml-10m or ml-latest,
 * which ml-20m, ml-25m and ml-32m share), which of that layout's files are present, and a
 * reader for each, each file read in its own format and encoding and its ratings checked
 * against the release's scale.
 */
export class MovieLensFolder {
  private constructor(
    readonly dir: string,
    private readonly found: FoundLayout,
  ) {}

  /** The folder at `dir`, or undefined if it is none or holds no MovieLens file. */
  static at(dir: string): MovieLensFolder | undefined {
    const found = layoutOf(dir);
    return found && new MovieLensFolder(dir, found);
  }

  get layout(): MovieLensLayout {
    return this.found.layout;
  }

  /** The scale its ratings are on: whole stars in ml-100k and ml-1m, half stars after. */
  get scale(): RatingScale {
    return this.found.scale;
  }

  /** Paths of the files present, by kind. */
  get files(): Readonly<Partial<Record<MovieLensFileKind, string>>> {
    return this.found.files;
  }

  /** ml-100k's train/test splits (u1–u5, ua, ub) whose two files are both present. */
  get splits(): readonly MovieLensSplit[] {
    return this.found.splits;
  }

  /**
   * For people: "ml-100k layout (ratings 1–5 whole stars): ratings u.data, titles u.item,
   * users u.user, genre names u.genre; splits u1, u2, u3, u4, u5, ua, ub".
   */
  describe(): string {
    const files = (Object.keys(KIND_NAMES) as MovieLensFileKind[]).flatMap((k) => (this.files[k] ? [`${KIND_NAMES[k]} ${basename(this.files[k]!)}`] : []));
    const splits = this.splits.length ? `; splits ${this.splits.map((s) => s.name).join(', ')}` : '';
    return `${this.layout} layout (ratings ${this.scale.name}): ${files.join(', ') || 'no file'}${splits}`;
  }

  /** Its ratings, on its scale; undefined if it has no ratings file. */
  ratings(opts: ReadOptions = {}): DataReader<Rating> | undefined {
    const f = this.files.ratings;
    return f === undefined ? undefined : readRatings(f, { ...opts, scale: this.scale });
  }

  /**
   * Its titles; in ml-latest with their IMDb and TMDB ids from `links.csv` when present
   * (read whole first: 87,000 rows in ml-32m). Undefined if it has no titles file.
   */
  titles(opts: ReadOptions = {}): DataReader<Title> | undefined {
    const f = this.files.titles;
    if (f === undefined) return undefined;
    if (this.layout === 'ml-100k') return readUItem(f, opts);
    if (this.layout !== 'ml-latest') return readMoviesDat(f, opts);
    // One count of bad lines for both files, so that the titles' reader reports the links' too.
    const both = { ...opts, bad: opts.bad ?? new BadLines() };
    return readMoviesCsv(f, { ...both, links: this.files.links === undefined ? undefined : readLinksCsv(this.files.links, both) });
  }

  /** Its users' demographics (ml-100k and ml-1m only); undefined if it has none. */
  users(opts: ReadOptions = {}): DataReader<UserInfo> | undefined {
    const f = this.files.users;
    if (f === undefined) return undefined;
    return this.layout === 'ml-100k' ? readUUser(f, opts) : readUsersDat(f, opts);
  }

  /** Its tags (ml-10m and ml-latest); undefined if it has none. */
  tags(opts: ReadOptions = {}): DataReader<Tag> | undefined {
    const f = this.files.tags;
    if (f === undefined) return undefined;
    return this.layout === 'ml-latest' ? readTagsCsv(f, opts) : readTagsDat(f, opts);
  }
}
