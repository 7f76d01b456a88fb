import { fmix32, fnv1a, FNV_OFFSET, type ShardId } from '../runtime/index.js';

/** A node as placement sees it. */
export interface PlacementNode {
  id: string;
  /** Relative capacity; a node of weight 2 gets about twice the shards. */
  weight: number;
}

/** 32-bit hash of a node id and a shard (FNV-1a, then fmix32). */
function score32(nodeId: string, shard: ShardId): number {
  let h = fnv1a(FNV_OFFSET, nodeId);
  h ^= shard & 0xff;
  h = Math.imul(h, 0x01000193);
  h ^= (shard >>> 8) & 0xff;
  h = Math.imul(h, 0x01000193);
  return fmix32(h);
}

/**
 * Weighted rendezvous (highest random weight) placement: each shard goes to the node
 * with the highest `-weight / ln(u)`, u uniform in (0,1) from hash(node, shard). A node
 * joining N equal others takes about 1/(N+1) of the shards and no other shard moves.
 * Overrides (shard → node) win while their node is live.
 */
export function assignShards(
  shardCount: number,
  nodes: readonly PlacementNode[],
  overrides: ReadonlyMap<ShardId, string> = new Map(),
): Map<ShardId, string> {
  const out = new Map<ShardId, string>();
  if (nodes.length === 0) return out;
  const live = new Set(nodes.map((n) => n.id));
  for (let s = 0; s < shardCount; s++) {
    const o = overrides.get(s);
    if (o !== undefined && live.has(o)) {
      out.set(s, o);
      continue;
    }
    let best = '';
    let bestScore = -Infinity;
    for (const n of nodes) {
      if (!(n.weight > 0)) continue;
      const u = (score32(n.id, s) + 0.5) / 4294967296;
      const sc = -n.weight / Math.log(u);
      // Ties (vanishingly rare) break by id so every node computes the same answer.
      if (sc > bestScore || (sc === bestScore && n.id < best)) {
        best = n.id;
        bestScore = sc;
      }
    }
    if (best) out.set(s, best);
  }
  return out;
}
