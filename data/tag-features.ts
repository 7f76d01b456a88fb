import { normaliseTag, type TitleFeatures } from '../models/title-features.js';

export { normaliseTag };
import { SupportedFeatures } from './feature-support.js';
import { readTagsCsv } from './movielens-csv.js';
import { readTagsDat } from './movielens-dat.js';
import type { DataReader, ReadOptions } from './reader.js';
import { parseTitleFeatureOptions, type TitleFeatureOptions } from './title-feature-options.js';
import type { Tag } from './types.js';

/** The tags of ml-latest `tags.csv`, or of ml-10m `tags.dat` (named by its ending). */
export function readTags(file: string, opts: ReadOptions = {}): DataReader<Tag> {
  return file.toLowerCase().endsWith('.dat') ? readTagsDat(file, opts) : readTagsCsv(file, opts);
}

/**
 * `tag:<normalised tag>` features of the titles in a tags file, keyed by movie id: a tag is
 * kept when at least `minCount` distinct users used it anywhere in the file.
 */
export async function readTagFeatures(file: string, opts: TitleFeatureOptions = {}): Promise<TitleFeatures> {
  const o = parseTitleFeatureOptions(opts);
  const found = new SupportedFeatures();
  for await (const t of readTags(file, o)) found.add(t.item, `tag:${normaliseTag(t.tag)}`, t.user);
  return found.build(o.minCount);
}
