import { describe, expect, it } from 'vitest';
import { ClusterClient } from '../cluster/index.js';
import { KvSnapshotStore } from '../runtime/snapshot-store-kv.js';
import { ActorSystem } from '../runtime/system.js';
import { LocalHub, LocalTransport } from '../runtime/transport-local.js';
import type { RuntimeEvent } from '../runtime/types.js';
import { testActorFactory } from './fixtures/actors.js';
import { HandOwnership } from './fixtures/ownership.js';
import { waitFor } from './harness/wait.js';
import { uniquePrefix } from './harness/nats-server.js';
import { natsPerFile } from './harness/nats-per-file.js';

describe('fenced snapshot writes', () => {
  const broker = natsPerFile();

  const rig = (store: KvSnapshotStore, events: RuntimeEvent[]) => async (id: string, own: HandOwnership) => {
    const s = new ActorSystem({ nodeId: id, shardCount: 4, transport: new LocalTransport(new LocalHub()), store, ownership: own, onEvent: (e) => events.push(e) });
    s.register('test', testActorFactory);
    return s.start();
  };
  const writes = (events: RuntimeEvent[]) => events.flatMap((e) => (e.type === 'snapshot' ? [[e.node, e.epoch, e.accepted]] : []));

  /** An old owner (epoch 1) that wrote k with n = 1, on a fresh bucket. */
  async function oldOwnerWrote(label: string) {
    const store = new KvSnapshotStore(broker.nc, { bucketPrefix: uniquePrefix(label) });
    const events: RuntimeEvent[] = [];
    const node = rig(store, events);
    const oldOwn = new HandOwnership(1);
    const a = await node('old', oldOwn);
    await a.ask('test', 'k', 'incr', { by: 1 });
    await a.ask('test', 'k', 'persist');
    return { store, events, node, oldOwn, a };
  }

  it("fencing - a stale owner's late write (its lease check passed just before a pause) loses to the new owner's write", async () => {
    const { store, events, node, oldOwn, a } = await oldOwnerWrote('fence');
    await a.ask('test', 'k', 'incr', { by: 1 }); // 2, not yet written

    // The shard moves to a new owner under epoch 2, which activates the actor and writes.
    const b = await node('new', new HandOwnership(2));
    expect(await b.ask('test', 'k', 'incr', { by: 10 })).toBe(11);
    await b.ask('test', 'k', 'persist');

    // The old owner, believing its lease still holds, writes late: the compare-and-set refuses it.
    // It is not answered as done: the caller is told to ask the shard's owner (NoRoute) until its deadline.
    const err = await a.ask('test', 'k', 'persist', undefined, { deadlineMs: 300 }).catch((e: unknown) => e);
    expect(['NoRoute', 'DeadlineExceeded']).toContain((err as { code: string }).code);
    // Fenced off: its activation is gone, unwritten, and every later one finds a newer epoch in the store.
    await waitFor('no activation of k on the old owner', () => !a.isActive('test', 'k'));
    expect(a.kindStats('test').snapshotsRejected).toBe(1);

    const { snapshot } = await store.load('test', 'k');
    expect(snapshot).toMatchObject({ epoch: 2, data: { n: 11 } });
    expect(writes(events)).toEqual([
      ['old', 1, true],
      ['new', 2, true],
      ['old', 1, false], // the late write, rejected
    ]);
    oldOwn.lose();
    await a.stop();
    await b.stop();
  });

  it("fencing - a stale owner's late write that lands before the new owner writes is overwritten by it, never the reverse", async () => {
    const { store, node, oldOwn, a } = await oldOwnerWrote('fence2');
    const b = await node('new', new HandOwnership(2));
    expect(await b.ask('test', 'k', 'incr', { by: 10 })).toBe(11); // read n = 1 under epoch 2, nothing written yet
    await a.ask('test', 'k', 'incr', { by: 1 });
    await a.ask('test', 'k', 'persist'); // the late write lands: nobody newer has written
    expect((await store.load('test', 'k')).snapshot).toMatchObject({ epoch: 1, data: { n: 2 } });
    await b.ask('test', 'k', 'persist'); // conflicts, reads epoch 1 < 2, and overwrites
    expect((await store.load('test', 'k')).snapshot).toMatchObject({ epoch: 2, data: { n: 11 } });
    // Any later write of the old owner loses.
    expect(['NoRoute', 'DeadlineExceeded']).toContain(((await a.ask('test', 'k', 'persist', undefined, { deadlineMs: 300 }).catch((e: unknown) => e)) as { code: string }).code);
    expect(a.kindStats('test').snapshotsRejected).toBe(1);
    expect((await store.load('test', 'k')).snapshot).toMatchObject({ epoch: 2, data: { n: 11 } });
    oldOwn.lose();
    await a.stop();
    await b.stop();
  });

  it('fencing - a node started with another shard count refuses to join the cluster', async () => {
    const prefix = uniquePrefix('cfg');
    const c = await ClusterClient.connect(broker.nc, { prefix, shardCount: 64 });
    await expect(ClusterClient.connect(broker.nc, { prefix, shardCount: 128 })).rejects.toThrow(/started with 128 shards but the cluster has 64: refusing to join/);
    await c.close();
  });
});
