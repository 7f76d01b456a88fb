import type { ShardId } from './types.js';

/** Number of shards of a new cluster. */
export const DEFAULT_SHARD_COUNT = 128;
/** More shards than this would only cost subscriptions and ownership entries. */
export const MAX_SHARD_COUNT = 65_536;

/** Folds a string into a 32-bit FNV-1a state, over UTF-16 code units. */
export function fnv1a(h: number, s: string): number {
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h;
}

/** FNV's low bits mix poorly for short keys; this avalanche (murmur3 fmix32) spreads them. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** FNV-1a offset basis. */
export const FNV_OFFSET = 0x811c9dc5;

/**
 * Stable 32-bit hash of `kind`, a NUL separator and `key`: FNV-1a over UTF-16 code units,
 * then fmix32. Pure arithmetic: the same on every node, every run and every platform.
 */
export function addressHash(kind: string, key: string): number {
  // The NUL separator: ('ab','c') and ('a','bc') differ.
  const h = Math.imul(fnv1a(FNV_OFFSET, kind), 0x01000193);
  return fmix32(fnv1a(h, key));
}

/** The shard of an actor: stable hash of kind and key mod `shardCount`. */
export function shardOf(kind: string, key: string, shardCount: number): ShardId {
  return addressHash(kind, key) % shardCount;
}

/** Parses a shard list such as `0-63,100,120-127` into sorted unique ids below `shardCount`. */
export function parseShardList(spec: string, shardCount: number): ShardId[] {
  const out = new Set<number>();
  for (const part of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new RangeError(`shard list: '${part}' is not N or N-M`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo || hi >= shardCount) throw new RangeError(`shard list: '${part}' is outside 0-${shardCount - 1}`);
    for (let s = lo; s <= hi; s++) out.add(s);
  }
  return [...out].sort((a, b) => a - b);
}

/** `[0, 1, …, shardCount-1]`. */
export function allShards(shardCount: number): ShardId[] {
  return Array.from({ length: shardCount }, (_, i) => i);
}
