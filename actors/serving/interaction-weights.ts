import { InvalidArgument } from '../../runtime/index.js';
import { INTERACTION_TYPES, type InteractionType } from '../messages.js';

/**
 * The weight of each interaction type in a fold-in's least squares (a RATING's is its rating's
 * weight; another type's, that of the rating it implies: `IMPLIED`). 0 leaves the type out.
 */
export type InteractionWeights = Readonly<Record<InteractionType, number>>;

/**
 * The weights a node folds in with unless `--interaction-weights` says otherwise: a rating 1,
 * a thumbs-down 1, any other interaction that says the user liked the title 0.5, an impression
 * 0 (being shown a title says nothing of the user's taste).
 */
export const DEFAULT_INTERACTION_WEIGHTS: InteractionWeights = Object.freeze({ PLAY: 0.5, COMPLETE: 0.5, RATING: 1, THUMBS_UP: 0.5, THUMBS_DOWN: 1, IMPRESSION: 0, ADD_TO_LIST: 0.5 });

/**
 * Weights from `TYPE=WEIGHT,TYPE=WEIGHT…` (`PLAY=0.5,COMPLETE=1`) over the defaults. A type is
 * its `reel.v1.InteractionType` name, with or without the `INTERACTION_TYPE_` prefix, in any
 * case; a weight is a finite number ≥ 0. Throws `InvalidArgument` naming the bad entry.
 */
export function parseInteractionWeights(spec: string): InteractionWeights {
  const out: Record<InteractionType, number> = { ...DEFAULT_INTERACTION_WEIGHTS };
  const seen = new Set<string>();
  const bad = (entry: string, why: string) => new InvalidArgument(`interaction weight '${entry}' ${why}`, { fields: ['interactionWeights'] });
  const entries = spec.split(',').map((e) => e.trim());
  if (spec.trim() === '') throw new InvalidArgument(`interaction weights are empty: expected TYPE=WEIGHT entries separated by commas (types: ${INTERACTION_TYPES.join(', ')})`, { fields: ['interactionWeights'] });
  for (const entry of entries) {
    const eq = entry.indexOf('=');
    if (eq < 0) throw bad(entry, 'is not TYPE=WEIGHT');
    const name = entry.slice(0, eq).trim().toUpperCase().replace(/^INTERACTION_TYPE_/, '');
    if (!(INTERACTION_TYPES as readonly string[]).includes(name)) throw bad(entry, `names no interaction type (one of ${INTERACTION_TYPES.join(', ')})`);
    const raw = entry.slice(eq + 1).trim();
    const w = raw === '' ? Number.NaN : Number(raw);
    if (!Number.isFinite(w) || w < 0) throw bad(entry, 'has a weight that is not a finite number ≥ 0');
    if (seen.has(name)) throw bad(entry, `sets ${name} a second time`);
    seen.add(name);
    out[name as InteractionType] = w;
  }
  return Object.freeze(out);
}
