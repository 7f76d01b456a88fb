import type { ClusterClient } from './client.js';
import { DEFAULT_HEARTBEAT_WINDOW_MS } from './options.js';

/** One shard leaving one node for another. */
export interface ShardMove {
  shard: number;
  from: string;
  to: string;
}

/**
 * The moves that would put every shard where placement wants it among the live nodes, less
 * `without` (a node about to drain) and those draining: placement carried forward from the
 * stored table (it moves as little as it can), manual overrides on top unless
 * `ignoreOverrides`, as the nodes themselves compute it. A shard with no owner now moves from ''.
 * Also returns the nodes that placement spread the shards over.
 */
export function shardPlan(client: ClusterClient, opts: { without?: string; ignoreOverrides?: boolean; heartbeatWindowMs?: number } = {}): { moves: ShardMove[]; nodes: string[] } {
  const view = client.view;
  const shardCount = client.system.options.shardCount;
  const live = view.liveMembers(client.system.clock.monoMs(), opts.heartbeatWindowMs ?? DEFAULT_HEARTBEAT_WINDOW_MS).filter((m) => m.id !== opts.without && !m.draining && m.failed === undefined);
  const nodes = live.map((m) => ({ id: m.id, weight: m.weight }));
  // Without the manual placements: where the shards go once they are cleared.
  const target = opts.ignoreOverrides
    ? new Map(view.placementFor(shardCount, view.placementNodes(shardCount, nodes)).map((n, s) => [s, n] as const))
    : view.targetOwners(shardCount, nodes);
  const owners = client.owners();
  const moves: ShardMove[] = [];
  for (let s = 0; s < shardCount; s++) {
    const to = target.get(s);
    if (to !== undefined && to !== '' && to !== owners[s]) moves.push({ shard: s, from: owners[s]!, to });
  }
  return { moves, nodes: nodes.map((n) => n.id) };
}
