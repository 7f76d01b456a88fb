import { ModelArgumentError } from './errors.js';

/**
 * Side information of titles as sparse binary features: genres, release-year buckets, tags,
 * knowledge-graph entities. A feature is named `family:value` (`genre:Comedy`,
 * `year:1995-1999`, `tag:atmospheric`, `kg:film.film.director:1234`); its id is its index in
 * `names`. The content-aware graph model gives each feature a node of its own.
 */
export interface TitleFeatures {
  /** Feature names; a feature's id is its index here. */
  readonly names: readonly string[];
  /** Each title's feature ids, ascending, no repeats. A title absent here has no features. */
  readonly byTitle: ReadonlyMap<string, Uint32Array>;
}

/** Collects (title, feature name) pairs into `TitleFeatures`; a repeated pair counts once. */
export class TitleFeaturesBuilder {
  private readonly ids = new Map<string, number>();
  private readonly names: string[] = [];
  private readonly titles = new Map<string, Set<number>>();

  /** Adds feature `name` (`family:value`) to `title`. */
  add(title: string, name: string): this {
    if (!/^[^:\s]+:./.test(name)) throw new ModelArgumentError(`a feature is named family:value, got '${name}'`, ['feature']);
    let id = this.ids.get(name);
    if (id === undefined) {
      id = this.names.length;
      this.ids.set(name, id);
      this.names.push(name);
    }
    let s = this.titles.get(title);
    if (s === undefined) this.titles.set(title, (s = new Set()));
    s.add(id);
    return this;
  }

  /** Adds every feature of `f` (ids renamed into this builder's). */
  addAll(f: TitleFeatures): this {
    for (const [title, ids] of f.byTitle) for (const id of ids) this.add(title, f.names[id]!);
    return this;
  }

  build(): TitleFeatures {
    const byTitle = new Map<string, Uint32Array>();
    for (const [t, s] of this.titles) byTitle.set(t, Uint32Array.from(s).sort());
    return { names: [...this.names], byTitle };
  }
}

/** One set of features holding every feature of `sets` (the same name is the same feature). */
export function mergeTitleFeatures(...sets: readonly TitleFeatures[]): TitleFeatures {
  const b = new TitleFeaturesBuilder();
  for (const s of sets) b.addAll(s);
  return b.build();
}

/**
 * The features MovieLens gives every title: `genre:X` for each genre and `year:1990-1994` for
 * its release year's bucket of `bucketYears` years (aligned to multiples of it; a title without
 * a year has no year feature). The content-aware model's features on ml-100k, which has no tags.
 */
export function genreYearFeatures(titles: Iterable<{ id: string; genres: readonly string[]; year?: number }>, bucketYears = 5): TitleFeatures {
  const b = new TitleFeaturesBuilder();
  for (const t of titles) for (const name of metadataFeatureNames({ genres: t.genres, ...(t.year !== undefined ? { releaseYear: t.year } : {}) }, bucketYears)) b.add(t.id, name);
  return b.build();
}

/** A tag as a feature value: trimmed, lower-cased, inner whitespace collapsed. */
export function normaliseTag(tag: string): string {
  return tag.trim().toLowerCase().replace(/\s+/g, ' ');
}

/**
 * The feature names of a title's own metadata, as a title actor holds it: `genre:X` per genre,
 * its release year's bucket, `tag:x` per (normalised) tag. What training reads from the title
 * actors and what serving reads from a title upserted after training name features the same.
 */
export function metadataFeatureNames(m: { genres?: readonly string[]; releaseYear?: number; tags?: readonly string[] }, bucketYears = 5): string[] {
  if (!Number.isInteger(bucketYears) || bucketYears < 1) throw new ModelArgumentError(`a year bucket is a whole number of years ≥ 1, got ${bucketYears}`, ['bucketYears']);
  const out = new Set<string>();
  for (const g of m.genres ?? []) out.add(`genre:${g}`);
  if (m.releaseYear !== undefined && Number.isFinite(m.releaseYear) && m.releaseYear > 0) {
    const from = Math.floor(m.releaseYear / bucketYears) * bucketYears;
    out.add(bucketYears === 1 ? `year:${from}` : `year:${from}-${from + bucketYears - 1}`);
  }
  for (const t of m.tags ?? []) {
    const n = normaliseTag(t);
    if (n !== '') out.add(`tag:${n}`);
  }
  return [...out];
}
