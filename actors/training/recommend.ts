import { TopK } from '../../models/index.js';
import { Kind } from '../kinds.js';
import type { NodeParams } from './node-params.js';

/** A title and its ranking score (b_i + p_u · q_i). */
export interface ScoredTitle {
  titleId: string;
  score: number;
}

/**
 * The `k` best titles for a user of `version` among the title rows this node holds, from the
 * shard arenas directly (no message per title), leaving out `exclude`. The user's row comes
 * from its own arena on this node; undefined when the node has no row for the user. A cluster
 * merges these per-node lists (scatter-gather) into one.
 */
export function localTopTitles(params: NodeParams, version: string, user: { key: string; shard: number }, exclude: ReadonlySet<string>, k: number): ScoredTitle[] | undefined {
  const v = params.existingVersion(version);
  const ua = v?.existing(Kind.User, user.shard);
  if (v === undefined || ua === undefined || !ua.has(user.key)) return undefined;
  const f = v.shape.factors;
  const p = ua.copyOf(user.key)!;
  const keys: string[] = [];
  const scores: number[] = [];
  for (const shard of params.titleShards(version)) {
    const a = v.existing(Kind.Title, shard)!;
    const heap = a.heap();
    for (let r = 0; r < a.size; r++) {
      const key = a.keys[r]!;
      if (exclude.has(key)) continue;
      const q = a.floatAt(r);
      let s = heap[q + f]!;
      for (let x = 0; x < f; x++) s += p[x]! * heap[q + x]!;
      keys.push(key);
      scores.push(s);
    }
  }
  const top = new TopK(k);
  const n = top.select(scores, scores.length);
  return Array.from({ length: n }, (_, j) => ({ titleId: keys[top.items[j]!]!, score: top.scores[j]! }));
}
