import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fixtureState, testActorFactory } from '../test/fixtures/actors.js';
import { HandOwnership } from '../test/fixtures/ownership.js';
import { allShards } from './shard.js';
import { MemorySnapshotStore } from './snapshot-store-memory.js';
import { ActorSystem } from './system.js';
import { LocalHub, LocalTransport } from './transport-local.js';
import type { ShardId } from './types.js';
import { HandedOverStore, type HandOverSource } from './warm-handoff.js';

const S = 4;
const keys = Array.from({ length: 20 }, (_, i) => `k${i}`);

/** Ownership by hand that also says which release the claim replaced. */
class ClaimedOwnership extends HandOwnership {
  released: { epoch: number; by: string } | undefined = undefined;
  claimedFromRelease(_shard: ShardId): { epoch: number; by: string } | undefined {
    return this.holds ? this.released : undefined;
  }
}

describe('warm handoff', () => {
  let hub: LocalHub;
  let store: MemorySnapshotStore;
  const systems: ActorSystem[] = [];
  const node = async (id: string, own: ClaimedOwnership, shards: ShardId[], more: { warmHandoff?: boolean; handOverSource?: HandOverSource } = {}) => {
    const s = new ActorSystem({ nodeId: id, shardCount: S, transport: new LocalTransport(hub), store, ownership: own, dedupMaxEntries: 10_000, warmHandoff: true, ...more });
    s.register('test', testActorFactory);
    await s.start(shards);
    systems.push(s);
    return s;
  };
  beforeEach(() => {
    fixtureState.reset();
    hub = new LocalHub();
    store = new MemorySnapshotStore();
  });
  afterEach(async () => {
    for (const s of systems.splice(0)) await s.stop();
  });

  /**
   * A holds every shard under epoch 1, applies `incr` 3 to every key (asks with ids) and cuts every
   * shard, keeping what the cut left as a node does; B, under epoch 2, fetches from it (counted).
   */
  async function cutAtA(opts: { answer?: boolean } = {}) {
    const ownA = new ClaimedOwnership(1);
    const a = await node('a', ownA, allShards(S));
    for (const k of keys) expect(await a.ask('test', k, 'incr', { by: 3 }, { id: `first-${k}` })).toBe(3);
    expect(await a.unhost(allShards(S))).toBe(0);
    ownA.lose();
    const kept = new HandedOverStore();
    let handed = 0;
    for (let s = 0; s < S; s++) {
      const actors = a.takeHandedOver(s)!;
      expect(a.takeHandedOver(s)).toBeUndefined(); // once
      handed += actors.length;
      kept.keep(s, 1, actors, 0);
    }
    expect(handed).toBe(keys.length);
    const fetched: string[] = [];
    const source: HandOverSource = async (from, shard, epoch, kind, key) => {
      fetched.push(key);
      expect(from).toBe('a');
      // answer: false, a fetch lost on the way: A never saw it and still keeps the state.
      if (opts.answer === false) return undefined;
      const got = kept.take(shard, epoch, kind, key, 0);
      return got === undefined ? undefined : { revision: got.revision, bytes: got.bytes };
    };
    const ownB = new ClaimedOwnership(2);
    const b = await node('b', ownB, [], { handOverSource: source });
    return { b, ownB, kept, fetched };
  }

  it('warm handoff - the first activation after a claim from a release takes what the old owner\'s cut left, reading nothing; the answers of asks applied there go with it', async () => {
    const { b, ownB, fetched } = await cutAtA();
    ownB.released = { epoch: 1, by: 'a' };
    await b.host(allShards(S));
    const reads = store.reads;
    const writes = store.writes;
    for (const k of keys) expect(await b.ask('test', k, 'get')).toBe(3);
    expect(store.reads).toBe(reads);
    expect(b.fresh.loads).toBe(keys.length);
    expect(fetched.length).toBe(keys.length);
    // An ask applied at A, sent again to B with its id, is answered from the window, not applied again.
    expect(await b.ask('test', 'k0', 'incr', { by: 3 }, { id: 'first-k0' })).toBe(3);
    expect(await b.ask('test', 'k0', 'get')).toBe(3);
    // B writes over the handed-over revision (its compare-and-set holds); a later activation reads the store, asking A nothing.
    expect(await b.ask('test', 'k1', 'incr', { by: 4 }, { id: 'second-k1' })).toBe(7);
    expect(await b.passivateWhere(() => true)).toBe(0);
    expect(store.writes).toBeGreaterThan(writes);
    expect(await b.ask('test', 'k1', 'get')).toBe(7);
    expect(store.reads).toBe(reads + 1);
    expect(fetched.length).toBe(keys.length);
  });

  it('warm handoff - each actor asks once: one whose first fetch found nothing reads the store then and every time after, even if the old owner still keeps its state', async () => {
    const { b, ownB, fetched } = await cutAtA({ answer: false });
    ownB.released = { epoch: 1, by: 'a' };
    await b.host(allShards(S));
    expect(await b.ask('test', 'k1', 'incr', { by: 4 })).toBe(7);
    expect(await b.passivateWhere(() => true)).toBe(0);
    // What A kept of k1 (3) is older than the store (7) now: it must not come back.
    expect(await b.ask('test', 'k1', 'get')).toBe(7);
    expect(fetched).toEqual(['k1']);
    expect(b.fresh.loads).toBe(0);
  });

  it('warm handoff - a claim that took the shard over (no release) reads the store and asks nobody; one from a release of another epoch gets nothing from the old owner', async () => {
    const { b, ownB, fetched } = await cutAtA();
    ownB.released = undefined;
    await b.host([0, 1]);
    ownB.released = { epoch: 7, by: 'a' };
    await b.host([2, 3]);
    const reads = store.reads;
    for (const k of keys) expect(await b.ask('test', k, 'get')).toBe(3);
    expect(store.reads).toBe(reads + keys.length);
    expect(b.fresh.loads).toBe(0);
    // Only the shards claimed from a release asked, and A answered none of them (its cut was under epoch 1).
    expect(fetched.length).toBeGreaterThan(0);
    expect(fetched.length).toBeLessThan(keys.length);
  });

  it('warm handoff - a node without warmHandoff keeps no stored bytes, hands nothing over and fetches nothing', async () => {
    const ownA = new ClaimedOwnership(1);
    let fetches = 0;
    const a = await node('a', ownA, [], { warmHandoff: false, handOverSource: async () => (fetches++, undefined) });
    ownA.released = { epoch: 1, by: 'x' };
    await a.host(allShards(S));
    for (const k of keys) await a.ask('test', k, 'incr', { by: 1 });
    expect(fetches).toBe(0);
    expect(await a.unhost(allShards(S))).toBe(0);
    expect(a.takeHandedOver(0)).toBeUndefined();
  });

  it('warm handoff - a cut that cannot write every actor hands nothing over (it is rolled back)', async () => {
    const ownA = new ClaimedOwnership(1);
    const a = await node('a', ownA, allShards(S));
    await a.ask('test', 'k0', 'incr', { by: 1 });
    const down = () => Promise.reject(new Error('store down'));
    Object.assign(store, { save: down, saveEncoded: down });
    expect(await a.unhost(allShards(S), 200)).toBeGreaterThan(0);
    for (let s = 0; s < S; s++) expect(a.takeHandedOver(s)).toBeUndefined();
    // The store is back: the node stops, writing what it holds.
    Object.assign(store, { save: MemorySnapshotStore.prototype.save, saveEncoded: MemorySnapshotStore.prototype.saveEncoded });
  });
});
