import { describe, expect, it } from 'vitest';
import { fixtureState, testActorFactory } from '../test/fixtures/actors.js';
import { HandOwnership } from '../test/fixtures/ownership.js';
import type { ReelError } from './errors.js';
import { allShards, shardOf } from './shard.js';
import { MemorySnapshotStore } from './snapshot-store-memory.js';
import { ActorSystem } from './system.js';
import type { SnapshotStore } from './types.js';

const S = 4;

async function node(store: SnapshotStore): Promise<ActorSystem> {
  const s = new ActorSystem({ nodeId: 'a', shardCount: S, store, ownership: new HandOwnership(1), dedupMaxEntries: 1000 });
  s.register('test', testActorFactory);
  return s.start();
}

describe('snapshot limits', () => {
  it('snapshot limits - a state too large for the store is refused when persisted, typed, and the actor rolls back to what was written (finding 8)', async () => {
    fixtureState.reset();
    const store = new MemorySnapshotStore(10_000);
    await using s = await node(store);
    await s.ask('test', 'k', 'fill', { bytes: 1_000 });
    const err = (await s.ask('test', 'k', 'fill', { bytes: 50_000 }).catch((e: unknown) => e)) as ReelError;
    expect(err.code).toBe('SnapshotTooLarge');
    expect(err.message).toMatch(/test\/k is \d+ bytes; this store takes at most 10000/);
    // Memory had run ahead of the store: the actor restarted from its last snapshot.
    expect(await s.ask('test', 'k', 'filled')).toBe(1_000);
    expect(s.kindStats('test').restarts).toBe(1);
  });

  it('snapshot limits - a handoff reports actors it could not write and leaves them active, their state in memory (finding 8)', async () => {
    fixtureState.reset();
    const inner = new MemorySnapshotStore();
    let failSaves = true;
    const store: SnapshotStore = {
      load: (k, key) => inner.load(k, key),
      save: (k, key, snap, rev) => (failSaves ? Promise.reject(new Error('store unreachable')) : inner.save(k, key, snap, rev)),
      delete: (k, key) => inner.delete(k, key),
      keys: (kind) => inner.keys(kind),
      close: () => inner.close(),
    };
    await using s = await node(store);
    const keys = ['k1', 'k2', 'k3'];
    for (const k of keys) await s.ask('test', k, 'incr', { by: 7 });
    const shards = [...new Set(keys.map((k) => shardOf('test', k, S)))];
    expect(await s.unhost(shards, 200)).toBe(keys.length);
    for (const k of keys) expect(s.isActive('test', k)).toBe(true);
    // The store comes back: the same handoff now writes them all.
    failSaves = false;
    await s.host(allShards(S));
    expect(await s.unhost(shards)).toBe(0);
    for (const k of keys) expect((await inner.load('test', k)).snapshot?.data).toMatchObject({ n: 7 });
  });
});
