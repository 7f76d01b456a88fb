import type { ShardId } from './types.js';

/** One actor's state as its old owner stored it: what the shard's next owner loads instead of reading the store. */
export interface HandedOverActor {
  kind: string;
  key: string;
  revision: number;
  bytes: Uint8Array;
}

/**
 * Where a node fetches an actor's state from the node that handed its shard off (`from`, under
 * `epoch`): the stored state its cut left, or undefined when that node has none of it (the actor
 * was not active there, the set expired, no answer in time). Never throws.
 */
export type HandOverSource = (from: string, shard: ShardId, epoch: number, kind: string, key: string) => Promise<{ revision: number; bytes: Uint8Array } | undefined>;

/** How long after a handoff the old owner keeps its actors' state, and the new owner asks for it, in ms. */
export const HANDED_OVER_TTL_MS = 30_000;

interface Fresh {
  epoch: number;
  from: string;
  until: number;
  /** Actors activated (or tried) since the claim: each asks the old owner once, at its first activation. */
  seen: Set<string>;
}

const keyOf = (kind: string, key: string) => `${kind}\u0000${key}`;

/**
 * The receiving side of a warm handoff: shards this node claimed right after their owner released
 * them (`ShardOwnership.claimedFromRelease`), for `HANDED_OVER_TTL_MS`. The first activation of each
 * of their actors may take the state the old owner's cut left (which is exactly what the store holds:
 * the old owner wrote everything before its release, and nobody owned the shard in between);
 * every later activation reads the store, which this node's own writes have moved on from it.
 */
export class FreshShards {
  private readonly shards = new Map<ShardId, Fresh>();

  /** Activations served from handed-over state instead of the store. */
  loads = 0;

  /** The shard is hosted here now, claimed from `release` (undefined: a takeover, or no claim). */
  hosted(shard: ShardId, release: { epoch: number; by: string } | undefined, now: number): void {
    if (release === undefined || release.epoch <= 0 || release.by === '') this.shards.delete(shard);
    else this.shards.set(shard, { epoch: release.epoch, from: release.by, until: now + HANDED_OVER_TTL_MS, seen: new Set() });
  }

  /** The shard left this node. */
  drop(shard: ShardId): void {
    this.shards.delete(shard);
  }

  /** Where to ask for this actor's handed-over state, once per actor while its shard is fresh; else undefined. */
  firstLoad(shard: ShardId, kind: string, key: string, now: number): { from: string; epoch: number } | undefined {
    const f = this.shards.get(shard);
    if (f === undefined) return undefined;
    if (now >= f.until) {
      this.shards.delete(shard);
      return undefined;
    }
    const k = keyOf(kind, key);
    if (f.seen.has(k)) return undefined;
    f.seen.add(k);
    return { from: f.from, epoch: f.epoch };
  }

  get empty(): boolean {
    return this.shards.size === 0;
  }
}

/**
 * The sending side: the state each actor of a shard ended its cut with, kept for the next owner to
 * fetch by key for `HANDED_OVER_TTL_MS` (each once), under the epoch the shard was released at.
 */
export class HandedOverStore {
  private readonly sets = new Map<ShardId, { epoch: number; until: number; actors: Map<string, HandedOverActor> }>();

  /** Actors given to a next owner. */
  served = 0;

  keep(shard: ShardId, epoch: number, actors: readonly HandedOverActor[], now: number): void {
    this.sweep(now);
    if (actors.length === 0) return;
    this.sets.set(shard, { epoch, until: now + HANDED_OVER_TTL_MS, actors: new Map(actors.map((a) => [keyOf(a.kind, a.key), a])) });
  }

  /** The actor's state, once, if this node handed `shard` off under `epoch` and still keeps it. */
  take(shard: ShardId, epoch: number, kind: string, key: string, now: number): HandedOverActor | undefined {
    const set = this.sets.get(shard);
    if (set === undefined || set.epoch !== epoch) return undefined;
    if (now >= set.until) {
      this.sets.delete(shard);
      return undefined;
    }
    const k = keyOf(kind, key);
    const a = set.actors.get(k);
    if (a === undefined) return undefined;
    set.actors.delete(k);
    if (set.actors.size === 0) this.sets.delete(shard);
    this.served++;
    return a;
  }

  /** The shard is hosted here again: what was kept of it is of no use. */
  drop(shard: ShardId): void {
    this.sets.delete(shard);
  }

  /** Actors kept, over every shard. */
  get size(): number {
    let n = 0;
    for (const s of this.sets.values()) n += s.actors.size;
    return n;
  }

  private sweep(now: number): void {
    for (const [shard, set] of this.sets) if (now >= set.until) this.sets.delete(shard);
  }
}
