import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fixtureState, testActorFactory } from '../test/fixtures/actors.js';
import { HandOwnership } from '../test/fixtures/ownership.js';
import { waitFor } from '../test/harness/wait.js';
import type { ReelError } from './errors.js';
import type { SystemOptions } from './options.js';
import { allShards, shardOf } from './shard.js';
import { MemorySnapshotStore } from './snapshot-store-memory.js';
import { ActorSystem, type SystemHooks } from './system.js';
import { LocalHub, LocalTransport } from './transport-local.js';
import type { Clock } from './types.js';
import { ManualClock } from './clock.js';
import { rejection } from '../test/harness/rejection.js';

const S = 8;
/** One turn of the event loop: what an in-process send and its handler need. */
const turn = () => new Promise((r) => setImmediate(r));


describe('ownership checks', () => {
  let hub: LocalHub;
  let store: MemorySnapshotStore;
  const systems: ActorSystem[] = [];
  const node = async (id: string, ownership: HandOwnership | undefined, opts: SystemOptions = {}, shards = allShards(S), hooks?: SystemHooks) => {
    const s = new ActorSystem({ nodeId: id, shardCount: S, transport: new LocalTransport(hub), store, ...(ownership ? { ownership } : {}), dedupMaxEntries: 100_000, ...opts, ...(hooks ? { hooks } : {}) });
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
    for (const g of fixtureState.gates.values()) g.open();
    for (const s of systems.splice(0)) await s.stop();
  });

  it('ownership checks - a handler that outlives its lease neither persists, tells nor answers (finding 11)', async () => {
    const own = new HandOwnership(1);
    const server = await node('a', own);
    const client = await node('client', new HandOwnership(0, false, 1), { askAttemptTimeoutMs: 0 }, []);
    const p = client.ask('test', 'k', 'holdThenPersist', { gate: 'g', tellKey: 'told' }, { id: 'h1', deadlineMs: 300 });
    await waitFor('handler waiting', () => fixtureState.runningByKey.get('test/k') === 1);
    own.lose(); // the lease runs out while the handler awaits
    fixtureState.gate('g').open();
    // Never answered as done: told to ask the shard's owner (there is none here) until the deadline.
    expect(['NoRoute', 'DeadlineExceeded']).toContain((await rejection(p)).code);
    const { snapshot } = await store.load('test', 'k');
    expect((snapshot?.data as { n?: number } | undefined)?.n ?? 0).toBe(0);
    expect(fixtureState.generations.has('test/told')).toBe(false);
    expect(server.kindStats('test').snapshotsSaved).toBe(0);
  });

  it('ownership checks - a key never runs two activations at once in one process, even across epochs (finding 11)', async () => {
    const own = new HandOwnership(1);
    await node('a', own);
    const clientOwn = new HandOwnership(0, false, 1);
    const client = await node('client', clientOwn, {}, []);
    const first = client.ask('test', 'k', 'hold', { gate: 'g1' }, { deadlineMs: 1_000 }).catch((e: ReelError) => e.code);
    await waitFor('first handler waiting', () => fixtureState.runningByKey.get('test/k') === 1);
    // The same node claims the shard again under a new epoch while the old activation's handler is in flight.
    own.serving = 2;
    clientOwn.route = 2;
    fixtureState.gate('g2').open();
    const second = client.ask('test', 'k', 'hold', { gate: 'g2' }, { deadlineMs: 5_000 });
    await client.ask('test', 'other', 'incr'); // everything sent before it has been delivered and started
    fixtureState.gate('g1').open();
    await first;
    await second;
    expect(fixtureState.maxRunningByKey).toBe(1);
  });

  it('ownership checks - cluster nodes refuse epoch 0; batched tells carry the route epoch (finding 12)', async () => {
    const server = await node('a', new HandOwnership(3));
    const bare = await node('bare', undefined, {}, []);
    expect((await rejection(bare.ask('test', 'k', 'incr'))).code).toBe('StaleEpoch');
    const stamped = await node('stamped', new HandOwnership(0, false, 3), {}, []);
    stamped.tellBatch([{ kind: 'test', key: 'k', type: 'incr' }, { kind: 'test', key: 'k', type: 'incr' }]);
    expect(await stamped.ask('test', 'k', 'get')).toBe(2);
    const stale = await node('stale', new HandOwnership(0, false, 2), { askAttemptTimeoutMs: 0 }, []);
    // In process a refused tell throws at once; over NATS it would be dropped (at most once).
    expect(() => stale.tellBatch([{ kind: 'test', key: 'k', type: 'incr' }])).toThrow(/names epoch 2; node a serves epoch 3/);
    expect(await stamped.ask('test', 'k', 'get')).toBe(2);
    expect(server.stats.staleEpochs).toBeGreaterThanOrEqual(2);
  });

  it('ownership checks - a caller drops a reply from an owner older than one it has seen, and retries (finding 12)', async () => {
    const shard = shardOf('test', 'k', S);
    const oldOwn = new HandOwnership(3);
    await node('old', oldOwn, {}, [shard]);
    const clientOwn = new HandOwnership(0, false, 3);
    const client = await node('client', clientOwn, { askAttemptTimeoutMs: 30 }, []);
    const p = client.request('test', 'k', 'hold', { gate: 'late' }, { deadlineMs: 5_000 });
    await waitFor('old owner handling', () => fixtureState.runningByKey.get('test/k') === 1);
    // The shard moves to a new node under epoch 4; the old one, still believing its lease, answers late.
    await node('new', new HandOwnership(4), {}, [shard]);
    clientOwn.route = 4;
    fixtureState.gate('late').open();
    const r = await p;
    expect([r.node, r.epoch]).toEqual(['new', 4]);
  });

  it('ownership checks - activating a key with no snapshot writes nothing to the store (finding 20)', async () => {
    const server = await node('a', new HandOwnership(1));
    for (let i = 0; i < 50; i++) expect(await server.ask('test', `nobody-${i}`, 'get')).toBe(0);
    expect(store.size).toBe(0);
    expect(store.writes).toBe(0);
  });

  it('ownership checks - a repeating timer queues at most one tick behind a long handler (finding 20)', async () => {
    const server = await node('a', new HandOwnership(1));
    await server.ask('test', 'busy', 'timer', { ms: 2, repeat: true });
    await server.ask('test', 'control', 'timer', { ms: 2, repeat: true });
    const before = await server.ask<number>('test', 'busy', 'get');
    const held = server.ask('test', 'busy', 'hold', { gate: 'long' }, { deadlineMs: 10_000 });
    await waitFor('handler waiting', () => fixtureState.runningByKey.get('test/busy') === 1);
    const c0 = await server.ask<number>('test', 'control', 'get');
    await waitFor('control timer ticked 30 times', async () => (await server.ask<number>('test', 'control', 'get')) >= c0 + 30);
    fixtureState.gate('long').open();
    await held;
    const after = await server.ask<number>('test', 'busy', 'get');
    expect(after - before).toBeLessThanOrEqual(3);
  });

  it('ownership checks - message types named by senders do not grow the per-type counters without bound (finding 20)', async () => {
    const server = await node('a', new HandOwnership(1));
    await Promise.all(Array.from({ length: 300 }, (_, i) => rejection(server.ask('test', 'k', `junk-${i}`))));
    expect(server.kindStats('test').byType.size).toBeLessThanOrEqual(65);
  });

  it('ownership checks - pending asks expire by the monotonic clock: wall-clock jumps neither stall nor hurry them (finding 10)', async () => {
    let off = 0;
    const jumpy = { now: () => Date.now() + off, wallMs: () => Date.now() + off, monoMs: () => performance.now() } as unknown as Clock;
    await node('a', new HandOwnership(1));
    const client = await node('client', new HandOwnership(0, false, 1), { clock: jumpy }, []);
    const slow = client.ask('test', 'k1', 'hold', { gate: 'never' }, { deadlineMs: 150 });
    const kept = client.ask('test', 'k2', 'hold', { gate: 'soon' }, { deadlineMs: 3_000 });
    off = -60_000; // the wall clock steps back a minute
    expect((await rejection(slow)).code).toBe('DeadlineExceeded');
    off = 120_000; // and forward two
    await waitFor('k2 handler waiting', () => fixtureState.runningByKey.get('test/k2') === 1);
    fixtureState.gate('soon').open();
    expect(await kept).toBe(0);
  }, 10_000);

  it('ownership checks - an ask refused while its shard moves goes to the new owner as soon as it is known, not at its retry timer', async () => {
    // The client's clock stands still: its retry timers and deadlines never come, so an ask can
    // only be sent again because the new owner became known.
    const clock = new ManualClock();
    const server = await node('a', new HandOwnership(2), {}, []);
    const clientOwn = new HandOwnership(0, false, 1);
    const client = await node('client', clientOwn, { clock, askAttemptTimeoutMs: 0 }, []);
    const key = 'moving';
    const shard = shardOf('test', key, S);
    let settled = false;
    const moving = client.ask<number>('test', key, 'incr', undefined, { deadlineMs: 30_000 }).finally(() => (settled = true));
    // Refused (nobody hosts the shard): parked, not sent again.
    await turn();
    await server.host(allShards(S));
    clientOwn.route = 2;
    await turn();
    expect(settled).toBe(false);
    expect(client.stats.askRetries).toBe(0);
    // Another shard's new owner wakes nothing.
    clientOwn.announce((shard + 1) % S);
    await turn();
    expect(settled).toBe(false);
    expect(client.stats.askRetries).toBe(0);
    // Its own shard's does: the ask goes at once, under the new epoch, and is applied once.
    clientOwn.announce(shard);
    expect(await moving).toBe(1);
    expect(client.stats.askRetriesOnOwner).toBe(1);
    expect(client.stats.askRetries).toBe(1);
    expect(await client.ask('test', key, 'get')).toBe(1);
  });

  it('ownership checks - a refusal that comes back after the sender learnt a newer owner is sent again at once, not at its retry timer', async () => {
    // On a tick boundary: the stopped clock's "now" is a time the ask sweep reaches.
    const clock = new ManualClock({ monoMs: 1_000_000 });
    const clientOwn = new HandOwnership(0, false, 1);
    // The sender learns the owner's epoch while its ask, stamped with the old one, is being refused.
    class Learning extends HandOwnership {
      override servingEpoch(shard: number, now: number): number {
        clientOwn.route = 2;
        return super.servingEpoch(shard, now);
      }
    }
    await node('a', new Learning(2));
    const client = await node('client', clientOwn, { clock, askAttemptTimeoutMs: 0 }, []);
    expect(await client.ask<number>('test', 'k', 'incr', undefined, { deadlineMs: 30_000 })).toBe(1);
    expect(client.stats.askRetriesOnOwner).toBe(1);
    expect(client.stats.askRetries).toBe(1);
  });

  it('ownership checks - an ask whose attempt went to the old owner and got no answer goes to the new owner as soon as it is known, not at its attempt timeout', async () => {
    // The client's clock stands still: its attempt timeout never comes.
    const clock = new ManualClock();
    const clientOwn = new HandOwnership(0, false, 1);
    // The old owner takes the ask and its answer is lost (it never comes back).
    const old = await node('a', new HandOwnership(1), {}, allShards(S), { dropReply: () => true });
    const client = await node('client', clientOwn, { clock, askAttemptTimeoutMs: 1_000 }, []);
    const key = 'moving';
    const shard = shardOf('test', key, S);
    let settled = false;
    const moving = client.ask<number>('test', key, 'incr', undefined, { deadlineMs: 30_000 }).finally(() => (settled = true));
    await waitFor('the old owner applied it', () => old.kindStats('test').activated === 1);
    // The same owner announced again (a renewal): nothing is sent again.
    clientOwn.announce(shard);
    await turn();
    expect(settled).toBe(false);
    expect(client.stats.askRetries).toBe(0);
    // A new owner, known: the ask goes to it at once (its old owner kept nothing written, so it applies there).
    await old.abandonShards(allShards(S));
    await node('b', new HandOwnership(2), {}, allShards(S));
    clientOwn.route = 2;
    clientOwn.announce((shard + 1) % S); // another shard's new owner moves nothing of this one
    await turn();
    expect(settled).toBe(false);
    clientOwn.announce(shard);
    expect(await moving).toBe(1);
    expect(client.stats.askRetriesOnOwner).toBe(1);
    expect(client.stats.askRetries).toBe(1);
  });

  it('ownership checks - a shard parked while its node was cut off and taken back under a new epoch carries its actors on: unwritten state kept, an applied ask answered again, not applied', async () => {
    const own = new HandOwnership(1);
    const server = await node('a', own);
    const clientOwn = new HandOwnership(0, false, 1);
    const client = await node('client', clientOwn, {}, []);
    expect(await client.ask('test', 'k', 'apply', undefined, { id: 'a1' })).toBe(1);
    const shard = shardOf('test', 'k', S);
    // Cut off: the lease is gone, the shard is parked (the state was never written).
    own.lose();
    await server.parkShards([shard]);
    expect(server.isActive('test', 'k')).toBe(true);
    expect((await store.load('test', 'k')).snapshot).toBeUndefined();
    // Taken back from the entry it had written: a new epoch, the same activation.
    own.serving = 2;
    own.holds = true;
    expect(server.carryOn(shard, 2)).toBe(1);
    await server.host([shard]);
    clientOwn.route = 2;
    expect(await client.ask('test', 'k', 'get')).toBe(1);
    expect(await client.ask('test', 'k', 'apply', undefined, { id: 'a1' })).toBe(1);
    expect(await client.ask('test', 'k', 'applied')).toEqual(['a1']);
    expect(fixtureState.generations.get('test/k')).toBe(1);
    // A write under the new epoch lands; the old epoch can no longer act.
    await client.ask('test', 'k', 'applyDurable', undefined, { id: 'a2' });
    expect((await store.load('test', 'k')).snapshot).toMatchObject({ epoch: 2, data: { n: 2, ids: ['a1', 'a2'] } });
  });

  it('ownership checks - a write in flight when its shard was parked that then fails never leaves its ask applied in memory: the retry is applied once', async () => {
    const inner = store;
    let held: { reject: (e: Error) => void } | undefined;
    let holdSaves = true;
    store = Object.assign(Object.create(inner) as MemorySnapshotStore, {
      saveEncoded: (k: string, key: string, snap: Parameters<MemorySnapshotStore['saveEncoded']>[2], rev: number) =>
        holdSaves ? new Promise<never>((_, reject) => (held = { reject })) : inner.saveEncoded(k, key, snap, rev),
      save: (k: string, key: string, snap: Parameters<MemorySnapshotStore['save']>[2], rev: number) =>
        holdSaves ? new Promise<never>((_, reject) => (held = { reject })) : inner.save(k, key, snap, rev),
    });
    const own = new HandOwnership(1);
    const server = await node('a', own);
    const clientOwn = new HandOwnership(0, false, 1);
    const client = await node('client', clientOwn, {}, []);
    const p = client.ask('test', 'k', 'applyDurable', undefined, { id: 'd1', deadlineMs: 20_000 });
    await waitFor('the write of d1 in flight', () => held !== undefined);
    const shard = shardOf('test', 'k', S);
    own.lose();
    await server.parkShards([shard]);
    // The cut fails the write: memory is ahead of the store, d1 was not applied as far as anyone knows.
    holdSaves = false;
    held!.reject(new Error('disconnected'));
    own.serving = 2;
    own.holds = true;
    server.carryOn(shard, 2);
    await server.host([shard]);
    clientOwn.route = 2;
    // The sender's retry of d1 is applied once, on the stored state.
    expect(await p).toBe(1);
    expect(await client.ask('test', 'k', 'applied')).toEqual(['d1']);
    expect((await inner.load('test', 'k')).snapshot).toMatchObject({ data: { n: 1, ids: ['d1'] } });
  });

  it('ownership checks - a failed write sends the actor back to its last snapshot even when a pre-copy or a passivation was queued behind it: neither writes the state thrown away', async () => {
    for (const then of ['precopy', 'passivate'] as const) {
      fixtureState.reset();
      const inner = new MemorySnapshotStore();
      let held: { reject: (e: Error) => void } | undefined;
      let holdSaves = true;
      const hold = () => new Promise<never>((_, reject) => (held = { reject }));
      store = Object.assign(Object.create(inner) as MemorySnapshotStore, {
        saveEncoded: (k: string, key: string, snap: Parameters<MemorySnapshotStore['saveEncoded']>[2], rev: number) => (holdSaves ? hold() : inner.saveEncoded(k, key, snap, rev)),
        save: (k: string, key: string, snap: Parameters<MemorySnapshotStore['save']>[2], rev: number) => (holdSaves ? hold() : inner.save(k, key, snap, rev)),
      });
      const server = await node(`a-${then}`, new HandOwnership(1));
      const client = await node(`client-${then}`, new HandOwnership(0, false, 1), {}, []);
      const p = client.ask('test', 'k', 'applyDurable', undefined, { id: 'd1', deadlineMs: 20_000 });
      await waitFor('the write of d1 in flight', () => held !== undefined);
      const shard = shardOf('test', 'k', S);
      // Behind the handler that waits on its write: a handoff's pre-copy, or a passivation.
      const queued = then === 'precopy' ? server.precopy([shard]) : server.unhost([shard], 5_000);
      await turn();
      holdSaves = false;
      held!.reject(new Error('store unreachable'));
      await queued;
      if (then === 'passivate') await server.host([shard]);
      // The retry of d1 is applied once, on the stored state.
      expect(await p, then).toBe(1);
      expect(await client.ask('test', 'k', 'applied')).toEqual(['d1']);
      expect((await inner.load('test', 'k')).snapshot).toMatchObject({ data: { n: 1, ids: ['d1'] } });
      await server.stop();
      await client.stop();
    }
  });
});
