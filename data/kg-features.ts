import { join } from 'node:path';
import type { TitleFeatures } from '../models/title-features.js';
import { SupportedFeatures } from './feature-support.js';
import { MKR_ITEM_ENTITIES_FILE, MKR_TRIPLES_FILE, readItemEntities, readKgTriples } from './mkr-kg.js';
import { parseTitleFeatureOptions, type TitleFeatureOptions } from './title-feature-options.js';

/**
 * `kg:<relation>:<entity>` features of the movies of an MKR knowledge graph in folder `dir`,
 * keyed by movie id: for each triple whose head is a movie's entity, the relation and the
 * tail (`kg:film.film.director:6285`). A movie's entity that is a triple's tail gets the
 * head with the relation marked reversed (`kg:~film.film.sequel:17`), so that "A's sequel is
 * X" and "X's sequel is A" stay two features. Only the movies' own triples count (one hop).
 *
 * A feature is kept when at least `minMovies` distinct movies have it; the count is per
 * feature, not per entity, since a person who wrote one film and directed another gives
 * each film a feature no other film shares.
 */
export async function readKgFeatures(dir: string, opts: TitleFeatureOptions = {}): Promise<TitleFeatures> {
  const o = parseTitleFeatureOptions(opts);
  const movies = new Map<string, string[]>();
  for await (const m of readItemEntities(join(dir, MKR_ITEM_ENTITIES_FILE), o)) {
    const ms = movies.get(m.entity);
    if (ms === undefined) movies.set(m.entity, [m.item]);
    else ms.push(m.item);
  }
  const found = new SupportedFeatures();
  for await (const { head, relation, tail } of readKgTriples(join(dir, MKR_TRIPLES_FILE), o)) {
    for (const m of movies.get(head) ?? []) found.add(m, `kg:${relation}:${tail}`);
    for (const m of movies.get(tail) ?? []) found.add(m, `kg:~${relation}:${head}`);
  }
  return found.build(o.minMovies);
}
