import { afterEach, describe, expect, it } from 'vitest';
import { fixtureState, TEST_READS, testActorFactory } from '../test/fixtures/actors.js';
import { allShards } from './shard.js';
import { MemorySnapshotStore } from './snapshot-store-memory.js';
import { ActorSystem } from './system.js';
import { LocalHub, LocalTransport } from './transport-local.js';

const S = 8;

/** One node with a memory store that counts writes; `persistsLast` as the test kind's registration says. */
async function node(persistsLast: boolean): Promise<{ system: ActorSystem; store: MemorySnapshotStore }> {
  const store = new MemorySnapshotStore();
  const system = new ActorSystem({ nodeId: 'n1', shardCount: S, transport: new LocalTransport(new LocalHub()), store, dedupMaxEntries: 1_000 });
  system.register('test', testActorFactory, { reads: TEST_READS, persistsLast });
  await system.start(allShards(S));
  return { system, store };
}

const everyActor = () => true;

describe('what a handoff writes', () => {
  let system: ActorSystem | undefined;
  afterEach(async () => {
    await system?.stop();
    system = undefined;
    fixtureState.reset();
  });

  it('runtime - a passivation writes nothing when the store already holds the state: after a handler that persisted last, and after reads', async () => {
    const n = await node(true);
    system = n.system;
    expect(await system.ask('test', 'a', 'fill', { bytes: 64 })).toBe(64);
    expect(n.store.writes).toBe(1);
    expect(await system.passivateWhere(everyActor)).toBe(0);
    expect(system.activeActors).toBe(0);
    expect(n.store.writes).toBe(1);
    // Activated again by reads only: still nothing to write.
    expect(await system.ask('test', 'a', 'filled')).toBe(64);
    await system.passivateWhere(everyActor);
    expect(n.store.writes).toBe(1);
    // A handler that changes the state without persisting: written at passivation, and kept.
    expect(await system.ask('test', 'a', 'incr', { by: 5 })).toBe(5);
    await system.passivateWhere(everyActor);
    expect(n.store.writes).toBe(2);
    expect(await system.ask('test', 'a', 'get')).toBe(5);
    expect(await system.ask('test', 'a', 'filled')).toBe(64);
  });

  it('runtime - without persistsLast, a handler that persisted still counts as changed (it may have changed the state after its persist)', async () => {
    const n = await node(false);
    system = n.system;
    await system.ask('test', 'a', 'fill', { bytes: 64 });
    expect(n.store.writes).toBe(1);
    await system.passivateWhere(everyActor);
    expect(n.store.writes).toBe(2);
  });

  it('runtime - a pre-copy writes the changed actors of the given shards while they keep serving; the cut then writes only what changed after it', async () => {
    const n = await node(true);
    system = n.system;
    const keys = Array.from({ length: 40 }, (_, i) => `k${i}`);
    for (const k of keys) await system.ask('test', k, 'incr', { by: 2 });
    expect(n.store.writes).toBe(0);
    const ref = system.ref('test', 'k0');
    const shards = [ref.shard];
    const inShard = keys.filter((k) => system!.ref('test', k).shard === ref.shard);
    expect(await system.precopy(shards)).toBe(inShard.length);
    expect(n.store.writes).toBe(inShard.length);
    // Still active and serving; a second pre-copy finds nothing to write.
    expect(system.activeActors).toBe(keys.length);
    expect(await system.precopy(shards)).toBe(0);
    // One actor changes after the pre-copy: the cut writes it alone.
    expect(await system.ask('test', 'k0', 'incr', { by: 1 })).toBe(3);
    const before = n.store.writes;
    expect(await system.passivateWhere((a) => a.shard === ref.shard)).toBe(0);
    expect(n.store.writes - before).toBe(1);
    expect(system.activeActors).toBe(keys.length - inShard.length);
    // What was written is what the actors held.
    for (const k of inShard) expect(await system.ask('test', k, 'get')).toBe(k === 'k0' ? 3 : 2);
  });
});
