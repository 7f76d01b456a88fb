import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fixtureState, testActorFactory } from '../test/fixtures/actors.js';
import { HandOwnership } from '../test/fixtures/ownership.js';
import { waitFor } from '../test/harness/wait.js';
import type { SystemOptions } from './options.js';
import { allShards } from './shard.js';
import { MemorySnapshotStore } from './snapshot-store-memory.js';
import { ActorSystem, type SystemHooks } from './system.js';
import { LocalHub, LocalTransport } from './transport-local.js';
import type { SnapshotStore } from './types.js';
import { rejection } from '../test/harness/rejection.js';

const S = 8;
/** What cluster nodes run with: callers resend, so nodes remember applied asks. */
const DEDUP: SystemOptions = { dedupMaxEntries: 100_000 };

/** Nodes on one in-process hub sharing one snapshot store, and a client that routes by epoch and retries. */
class Rig {
  readonly hub = new LocalHub();
  readonly store: SnapshotStore;
  readonly systems: ActorSystem[] = [];
  client!: ActorSystem;
  readonly clientOwnership = new HandOwnership(0, false, 1);

  constructor(store: SnapshotStore = new MemorySnapshotStore()) {
    this.store = store;
  }

  async node(id: string, ownership: HandOwnership, opts: SystemOptions = {}, hooks?: SystemHooks, shards = allShards(S)): Promise<ActorSystem> {
    const s = new ActorSystem({ nodeId: id, shardCount: S, transport: new LocalTransport(this.hub), store: this.store, ownership, ...DEDUP, ...opts, ...(hooks ? { hooks } : {}) });
    s.register('test', testActorFactory);
    await s.start(shards);
    this.systems.push(s);
    return s;
  }

  async startClient(opts: SystemOptions = {}): Promise<ActorSystem> {
    this.client = new ActorSystem({ nodeId: 'client', shardCount: S, transport: new LocalTransport(this.hub), ownership: this.clientOwnership, ...opts });
    await this.client.start([]);
    return this.client;
  }

  async close(): Promise<void> {
    await this.client?.stop();
    for (const s of this.systems) await s.stop();
  }
}


describe('applied once', () => {
  let rig: Rig;
  beforeEach(() => {
    fixtureState.reset();
    rig = new Rig();
  });
  afterEach(async () => {
    for (const g of fixtureState.gates.values()) g.open();
    await rig.close();
  });

  it('applied once - a handler that returns nothing keeps its id across passivation: the retry is not run again (finding 1)', async () => {
    const own = new HandOwnership(1);
    const server = await rig.node('a', own);
    const client = await rig.startClient();
    expect(await client.ask('test', 'k', 'tick', undefined, { id: 'void-1' })).toBeUndefined();
    await client.ask('test', 'k', 'passivate');
    await waitFor('passivated', () => !server.isActive('test', 'k'));
    expect(await client.ask('test', 'k', 'tick', undefined, { id: 'void-1' })).toBeUndefined();
    expect(await client.ask('test', 'k', 'get')).toBe(1);
    expect(server.kindStats('test').duplicates).toBe(1);
  });

  it('applied once - an ask that persisted before its reply was lost is not applied again by the next owner (finding 2)', async () => {
    const oldOwner = new HandOwnership(1);
    let dropped = 0;
    const a = await rig.node('a', oldOwner, {}, { dropReply: (env) => env.type === 'applyDurable' && ++dropped > 0 });
    const client = await rig.startClient({ askAttemptTimeoutMs: 0 });
    const err = await rejection(client.ask('test', 'k', 'applyDurable', undefined, { id: 'd1', deadlineMs: 100 }));
    expect(err.code).toBe('DeadlineExceeded');
    expect(dropped).toBe(1);
    // The owner dies between its durable write and its reply; the next owner (epoch 2) takes the shard.
    await a.transport.unhost(allShards(S));
    oldOwner.lose();
    await rig.node('b', new HandOwnership(2));
    rig.clientOwnership.route = 2;
    expect(await client.ask('test', 'k', 'applyDurable', undefined, { id: 'd1' })).toBe(1);
    expect(await client.ask('test', 'k', 'applied')).toEqual(['d1']);
  });

  it('applied once - a hot actor remembers an id through more than 256 other asks while its caller retries (finding 3)', async () => {
    let drop = true;
    await rig.node('a', new HandOwnership(1), {}, { dropReply: (env) => drop && env.id === 'first' });
    const client = await rig.startClient({ askAttemptTimeoutMs: 0 });
    expect((await rejection(client.ask('test', 'hot', 'apply', undefined, { id: 'first', deadlineMs: 50 }))).code).toBe('DeadlineExceeded');
    await Promise.all(Array.from({ length: 600 }, (_, i) => client.ask('test', 'hot', 'apply', undefined, { id: `other-${i}` })));
    drop = false;
    expect(await client.ask('test', 'hot', 'apply', undefined, { id: 'first' })).toBe(1);
    const ids = await client.ask<string[]>('test', 'hot', 'applied');
    expect(ids.filter((id) => id === 'first')).toHaveLength(1);
    expect(ids).toHaveLength(601);
  });

  it('applied once - a supervision restart rolls the remembered ids back with the state (finding 4)', async () => {
    const server = await rig.node('a', new HandOwnership(1), { maxConsecutiveFailures: 3 });
    const client = await rig.startClient();
    expect(await client.ask('test', 'k', 'incr', undefined, { id: 'a1' })).toBe(1); // not persisted
    for (let i = 0; i < 3; i++) await rejection(client.ask('test', 'k', 'fail'));
    expect(server.kindStats('test').restarts).toBe(1);
    // The state went back to the last snapshot (none): a retry of a1 must apply again, not answer 1 over n = 0.
    const again = await client.ask('test', 'k', 'incr', undefined, { id: 'a1' });
    expect(await client.ask('test', 'k', 'get')).toBe(again);
    expect(again).toBe(1);
  });

  it('applied once - a snapshot written by envelope version 2 loads, and the asks it remembers (void answers included) are not applied again (finding 1, finding 10)', async () => {
    // What the previous version wrote: `dedup` pairs, `[id, undefined]` for a handler that returned nothing.
    await rig.store.save('test', 'old', { data: { n: 2, log: [], ids: ['v2-a', 'v2-b'] }, epoch: 1, savedAt: 0, dedup: [['v2-a', 1], ['v2-b', undefined]] }, 0);
    await rig.node('a', new HandOwnership(1));
    const client = await rig.startClient();
    expect(await client.ask('test', 'old', 'apply', undefined, { id: 'v2-a' })).toBe(1);
    expect(await client.ask('test', 'old', 'apply', undefined, { id: 'v2-b' })).toBeUndefined();
    expect(await client.ask('test', 'old', 'applied')).toEqual(['v2-a', 'v2-b']);
  });

  it('applied once - a node-addressed ask is never resent (finding 5)', async () => {
    const server = await rig.node('a', new HandOwnership(1));
    let calls = 0;
    server.registerNodeHandler('slow', async () => {
      calls++;
      await fixtureState.gate('node').promise;
      return calls;
    });
    const client = await rig.startClient({ askAttemptTimeoutMs: 20 });
    const nodeAsk = client.askNode('a', 'slow', undefined, { deadlineMs: 5_000 });
    // A control ask with the same attempt timeout shows that several attempt periods have passed.
    const control = client.ask('test', 'c', 'hold', { gate: 'control' }, { deadlineMs: 5_000 });
    await waitFor('control ask resent 3 times', () => client.stats.askRetries >= 3);
    fixtureState.gate('node').open();
    fixtureState.gate('control').open();
    expect((await nodeAsk).value).toBe(1);
    await control;
    expect(calls).toBe(1);
  });

  it('applied once - caller mistakes are answered InvalidArgument and never restart the actor (finding 6)', async () => {
    const server = await rig.node('a', new HandOwnership(1), { maxConsecutiveFailures: 3 });
    const client = await rig.startClient();
    await client.ask('test', 'k', 'incr', { by: 5 });
    for (let i = 0; i < 5; i++) expect((await rejection(client.ask('test', 'k', 'no-such-type'))).code).toBe('InvalidArgument');
    expect(await client.ask('test', 'k', 'get')).toBe(5);
    expect(server.kindStats('test').restarts).toBe(0);
  });

  it("applied once - deadlineMs: 0 means the cluster's longest deadline, not an immediate failure (finding 21)", async () => {
    await rig.node('a', new HandOwnership(1));
    const client = await rig.startClient();
    const p = client.ask('test', 'k', 'hold', { gate: 'g0' }, { deadlineMs: 0 });
    await waitFor('hold running', () => (fixtureState.runningByKey.get('test/k') ?? 0) === 1 || client.pendingAsks === 0);
    fixtureState.gate('g0').open();
    expect(await p).toBe(0);
  });

  it('applied once - a snapshot store error while activating is retryable (Unavailable) and the retry succeeds (finding 21)', async () => {
    let failLoads = 1;
    const store = new MemorySnapshotStore();
    const flaky: SnapshotStore = {
      load: (kind, key) => (failLoads-- > 0 ? Promise.reject(new Error('store down')) : store.load(kind, key)),
      save: (kind, key, snap, rev) => store.save(kind, key, snap, rev),
      delete: (kind, key) => store.delete(kind, key),
      keys: (kind) => store.keys(kind),
      close: () => store.close(),
    };
    rig = new Rig(flaky);
    await rig.node('a', new HandOwnership(1));
    const client = await rig.startClient();
    expect(await client.ask('test', 'k', 'incr', undefined, { deadlineMs: 2_000 })).toBe(1);
    expect(failLoads).toBeLessThan(0);
  });

  it('applied once - another ask with the same id, sent while the first runs, gets the same answer; the handler runs once', async () => {
    await rig.node('a', new HandOwnership(1));
    const client = await rig.startClient({ askAttemptTimeoutMs: 0 });
    const first = client.ask('test', 'k', 'holdThenPersist', { gate: 'g' }, { id: 'same' });
    await waitFor('first running', () => fixtureState.runningByKey.get('test/k') === 1);
    const second = client.ask('test', 'k', 'holdThenPersist', { gate: 'g' }, { id: 'same' });
    fixtureState.gate('g').open();
    expect(await Promise.all([first, second])).toEqual([1, 1]);
    expect(await client.ask('test', 'k', 'applied')).toEqual(['same']);
  });

  it('applied once - no answer is given from memory before the write that holds it lands, and a failed write acknowledges nothing', async () => {
    const inner = new MemorySnapshotStore();
    let release!: () => void;
    let pending = 0;
    let failNext = true;
    const store: SnapshotStore = {
      load: (k, key) => inner.load(k, key),
      save: async (k, key, snap, rev) => {
        if (!failNext) return inner.save(k, key, snap, rev);
        failNext = false;
        pending++;
        await new Promise<void>((r) => (release = r));
        throw new Error('store lost the write');
      },
      delete: (k, key) => inner.delete(k, key),
      keys: (kind) => inner.keys(kind),
      close: () => inner.close(),
    };
    rig = new Rig(store);
    const server = await rig.node('a', new HandOwnership(1));
    const client = await rig.startClient({ askAttemptTimeoutMs: 0 });
    const first = client.ask('test', 'k', 'applyDurable', undefined, { id: 'w1', deadlineMs: 5_000 });
    await waitFor('the write is in flight', () => pending === 1);
    const copy = client.ask('test', 'k', 'applyDurable', undefined, { id: 'w1', deadlineMs: 5_000 });
    await client.ask('test', 'other', 'get'); // a round trip: the copy has been delivered
    expect(client.pendingAsks).toBe(2);
    release();
    // The write failed: nothing was acknowledged, the actor rolled back, and the retries apply once.
    expect(await Promise.all([first, copy])).toEqual([1, 1]);
    expect(await client.ask('test', 'k', 'applied')).toEqual(['w1']);
    expect(server.kindStats('test').restarts).toBe(1);
  });

  it('applied once - an ask resent while its first copy waits in the mailbox is not queued twice (finding 21)', async () => {
    const server = await rig.node('a', new HandOwnership(1));
    const client = await rig.startClient({ askAttemptTimeoutMs: 20 });
    const held = client.ask('test', 'k', 'hold', { gate: 'busy' }, { deadlineMs: 5_000 });
    const queued = client.ask('test', 'k', 'push', { v: 1 }, { deadlineMs: 5_000 });
    await waitFor('10 resends', () => client.stats.askRetries >= 10);
    expect(server.maxMailboxDepth()).toBe(1);
    fixtureState.gate('busy').open();
    await held;
    expect(await queued).toBe(2); // the log holds the hold's -1 and this push
    expect(await client.ask('test', 'k', 'log')).toEqual([-1, 1]);
  });
});
