import { fmix32, fnv1a, FNV_OFFSET, type ShardId } from '../runtime/index.js';

/** A node as placement sees it. */
export interface PlacementNode {
  id: string;
  /** Relative capacity; a node of weight 2 gets twice the shards of a node of weight 1. */
  weight: number;
}

/** The owner placement gives each shard, by shard number; '' for none (no node). */
export type PlacementTable = readonly string[];

/** 32-bit hash of a node id and a shard (FNV-1a, then fmix32). */
function score32(nodeId: string, shard: ShardId): number {
  let h = fnv1a(FNV_OFFSET, nodeId);
  h ^= shard & 0xff;
  h = Math.imul(h, 0x01000193);
  h ^= (shard >>> 8) & 0xff;
  h = Math.imul(h, 0x01000193);
  return fmix32(h);
}

/** Weighted rendezvous score: how much `node` wants `shard` (`-weight / ln u`, u uniform from the hash). */
function score(node: PlacementNode, shard: ShardId): number {
  return -node.weight / Math.log((score32(node.id, shard) + 0.5) / 4294967296);
}

/** Orders ids the same way on every node, whatever order they arrive in. */
function byId(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * How many shards each node should hold: its share `S·w/Σw` rounded down, and the shards left over
 * one each to the nodes with the largest fractions. Among equal fractions (equal weights) the
 * nodes holding more now keep the extra shard, so a change of membership moves no shard for the
 * rounding alone. Every node ends within one shard of its share.
 */
export function quotas(shardCount: number, nodes: readonly PlacementNode[], held: ReadonlyMap<string, number> = new Map()): Map<string, number> {
  const total = nodes.reduce((a, n) => a + n.weight, 0);
  const out = new Map<string, number>();
  if (nodes.length === 0 || !(total > 0)) return out;
  const rest: Array<{ id: string; frac: number }> = [];
  let given = 0;
  for (const n of nodes) {
    const exact = (shardCount * n.weight) / total;
    const q = Math.floor(exact);
    out.set(n.id, q);
    given += q;
    rest.push({ id: n.id, frac: exact - q });
  }
  rest.sort((a, b) => b.frac - a.frac || (held.get(b.id) ?? 0) - (held.get(a.id) ?? 0) || byId(a.id, b.id));
  for (let i = 0; i < shardCount - given; i++) out.set(rest[i]!.id, out.get(rest[i]!.id)! + 1);
  return out;
}

/**
 * Places `shardCount` shards on `nodes` with bounded loads, moving as few shards as it can from
 * `previous` (the placement in force, as stored in the cluster bucket):
 *
 * 1. every node gets a quota (`quotas`): its share, rounded;
 * 2. a shard stays where `previous` put it while that node is still here;
 * 3. a node above its quota gives up the shards it wants least (lowest rendezvous score);
 * 4. the shards without a node go, in shard order, to the node that wants each most among those
 *    below their quota.
 *
 * So a balanced placement stays balanced, a joining node takes its quota (and little else moves:
 * at most its share plus two shards, for the rounding), and a leaving node's shards alone move.
 * Without `previous` (a new cluster) it is rendezvous hashing with bounded loads. Deterministic:
 * every node computes the same table from the same inputs, in any order.
 */
export function placeShards(shardCount: number, nodes: readonly PlacementNode[], previous: PlacementTable = []): string[] {
  const live = [...nodes].filter((n) => n.weight > 0).sort((a, b) => byId(a.id, b.id));
  const table = new Array<string>(shardCount).fill('');
  if (live.length === 0) return table;
  const byIdMap = new Map(live.map((n) => [n.id, n]));
  const kept = new Map<string, ShardId[]>(live.map((n) => [n.id, []]));
  for (let s = 0; s < shardCount; s++) {
    const p = previous[s];
    if (p !== undefined && p !== '' && byIdMap.has(p)) kept.get(p)!.push(s);
  }
  const quota = quotas(shardCount, live, new Map([...kept].map(([id, ss]) => [id, ss.length])));
  const load = new Map<string, number>();
  for (const [id, ss] of kept) {
    const q = quota.get(id)!;
    if (ss.length > q) {
      // Keep the shards this node wants most; the others find a node below its quota.
      const node = byIdMap.get(id)!;
      ss.sort((a, b) => score(node, b) - score(node, a) || a - b);
      ss.length = q;
    }
    for (const s of ss) table[s] = id;
    load.set(id, ss.length);
  }
  for (let s = 0; s < shardCount; s++) {
    if (table[s] !== '') continue;
    let best: PlacementNode | undefined;
    let bestScore = -Infinity;
    for (const n of live) {
      if (load.get(n.id)! >= quota.get(n.id)!) continue;
      const sc = score(n, s);
      if (sc > bestScore) [best, bestScore] = [n, sc];
    }
    // Quotas add up to the shard count, so some node always has room.
    table[s] = best!.id;
    load.set(best!.id, load.get(best!.id)! + 1);
  }
  return table;
}

/** The owner of every shard: `table`, then the manual overrides (shard → node) whose node is among `nodes`. */
export function withOverrides(table: PlacementTable, nodes: readonly PlacementNode[], overrides: ReadonlyMap<ShardId, string>): Map<ShardId, string> {
  const live = new Set(nodes.map((n) => n.id));
  const out = new Map<ShardId, string>();
  for (let s = 0; s < table.length; s++) {
    const o = overrides.get(s);
    if (o !== undefined && live.has(o)) out.set(s, o);
    else if (table[s] !== '') out.set(s, table[s]!);
  }
  return out;
}

/** The owner of every shard: the placement (`placeShards` from `previous`), then the manual overrides. */
export function assignShards(
  shardCount: number,
  nodes: readonly PlacementNode[],
  overrides: ReadonlyMap<ShardId, string> = new Map(),
  previous: PlacementTable = [],
): Map<ShardId, string> {
  return withOverrides(placeShards(shardCount, nodes, previous), nodes, overrides);
}

/** Whether two tables place every shard on the same node. */
export function sameTable(a: PlacementTable, b: PlacementTable): boolean {
  return a.length === b.length && a.every((id, s) => id === b[s]);
}

/** How a placement is stored (`placement` in the cluster bucket): the nodes it was computed for, then one index per shard. */
export interface StoredPlacement {
  nodes: string[];
  /** Index into `nodes` per shard; -1 for none. */
  shards: number[];
}

/** The stored form of `table`, computed for `nodes` (a node may hold no shard and still be one of them). */
export function encodePlacement(table: PlacementTable, nodes: readonly PlacementNode[]): StoredPlacement {
  const ids = [...new Set([...nodes.map((n) => n.id), ...table.filter((id) => id !== '')])].sort(byId);
  const index = new Map(ids.map((id, i) => [id, i]));
  return { nodes: ids, shards: table.map((id) => (id === '' ? -1 : index.get(id)!)) };
}

/** A stored placement read back; undefined when the value does not read as one for `shardCount` shards. */
export function decodePlacement(v: unknown, shardCount: number): { nodes: string[]; table: string[] } | undefined {
  const p = v as StoredPlacement;
  if (typeof p !== 'object' || p === null || !Array.isArray(p.nodes) || !Array.isArray(p.shards) || p.shards.length !== shardCount) return undefined;
  if (!p.nodes.every((id) => typeof id === 'string' && id !== '')) return undefined;
  const table: string[] = [];
  for (const i of p.shards) {
    if (i === -1) table.push('');
    else if (Number.isInteger(i) && i >= 0 && i < p.nodes.length) table.push(p.nodes[i]!);
    else return undefined;
  }
  return { nodes: p.nodes, table };
}
