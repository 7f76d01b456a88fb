import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { HALF_STARS, WHOLE_STARS } from './rating-scale.js';
import type { RatingScale } from './types.js';

/** The MovieLens releases whose folders reel tells apart: each has its own files and scale. */
export type MovieLensLayout = 'ml-100k' | 'ml-1m' | 'ml-10m' | 'ml-latest';

/** The kinds of file a MovieLens folder may hold. */
export type MovieLensFileKind = 'ratings' | 'titles' | 'users' | 'genres' | 'tags' | 'links';

/** One layout: its files by kind, the scale of its ratings, and how to recognise it. */
interface LayoutSpec {
  layout: MovieLensLayout;
  scale: RatingScale;
  files: Partial<Record<MovieLensFileKind, string>>;
  /** The folder is of this layout if it holds any of these. */
  signs: string[];
}

/**
 * Looked for in this order. ml-1m and ml-10m share `ratings.dat` and `movies.dat` but not
 * their scale (whole stars, half stars): only ml-1m has `users.dat`. ml-20m, ml-25m, ml-32m
 * and ml-latest(-small) share one layout and scale.
 */
const LAYOUTS: LayoutSpec[] = [
  {
    layout: 'ml-100k',
    scale: WHOLE_STARS,
    files: { ratings: 'u.data', titles: 'u.item', users: 'u.user', genres: 'u.genre' },
    signs: ['u.data', 'u.item', 'u.user', 'u.genre'],
  },
  { layout: 'ml-1m', scale: WHOLE_STARS, files: { ratings: 'ratings.dat', titles: 'movies.dat', users: 'users.dat' }, signs: ['users.dat'] },
  { layout: 'ml-10m', scale: HALF_STARS, files: { ratings: 'ratings.dat', titles: 'movies.dat', tags: 'tags.dat' }, signs: ['ratings.dat', 'movies.dat', 'tags.dat'] },
  {
    layout: 'ml-latest',
    scale: HALF_STARS,
    files: { ratings: 'ratings.csv', titles: 'movies.csv', tags: 'tags.csv', links: 'links.csv' },
    signs: ['ratings.csv', 'movies.csv', 'tags.csv', 'links.csv'],
  },
];

/** ml-100k's ready-made train/test splits: five-fold u1–u5, and ua, ub (ten ratings per user in test). */
const ML100K_SPLITS = ['u1', 'u2', 'u3', 'u4', 'u5', 'ua', 'ub'];

/** A train/test split a folder ships. */
export interface MovieLensSplit {
  name: string;
  train: string;
  test: string;
}

/** What a MovieLens folder holds, as found on disk. */
export interface FoundLayout {
  layout: MovieLensLayout;
  scale: RatingScale;
  /** Paths of the files present, by kind. */
  files: Partial<Record<MovieLensFileKind, string>>;
  /** ml-100k's splits whose two files are both present. */
  splits: MovieLensSplit[];
}

/** The layout of folder `dir`, or undefined if it is no folder or holds no MovieLens file. */
export function layoutOf(dir: string): FoundLayout | undefined {
  if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory()) return undefined;
  const spec = LAYOUTS.find((l) => l.signs.some((f) => existsSync(join(dir, f))));
  if (!spec) return undefined;
  const files: Partial<Record<MovieLensFileKind, string>> = {};
  for (const [kind, name] of Object.entries(spec.files) as [MovieLensFileKind, string][]) {
    if (existsSync(join(dir, name))) files[kind] = join(dir, name);
  }
  const splits =
    spec.layout !== 'ml-100k'
      ? []
      : ML100K_SPLITS.map((name) => ({ name, train: join(dir, `${name}.base`), test: join(dir, `${name}.test`) })).filter((s) => existsSync(s.train) && existsSync(s.test));
  return { layout: spec.layout, scale: spec.scale, files, splits };
}

/**
 * The scale of the ratings in `file`: its folder's (whole stars beside ml-100k or ml-1m
 * files, so that `u1.base` is checked against 1–5), else half stars, which holds both.
 */
export function scaleOfFile(file: string): RatingScale {
  return layoutOf(dirname(file))?.scale ?? HALF_STARS;
}
