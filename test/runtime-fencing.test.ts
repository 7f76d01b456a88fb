import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterClient } from '../cluster/index.js';
import { KvSnapshotStore } from '../runtime/snapshot-store-kv.js';
import { ActorSystem } from '../runtime/system.js';
import { LocalHub, LocalTransport } from '../runtime/transport-local.js';
import type { RuntimeEvent, ShardOwnership } from '../runtime/types.js';
import { testActorFactory } from './fixtures/actors.js';
import { startNatsServer, uniquePrefix, type NatsServerHandle } from './harness/nats-server.js';

/** Ownership set by hand: which epoch this node serves, and whether it believes it still holds it. */
class HandOwnership implements ShardOwnership {
  constructor(
    public serving: number,
    public holds: boolean,
  ) {}
  servingEpoch(): number {
    return this.serving;
  }
  holdsEpoch(_s: number, epoch: number): boolean {
    return this.holds && epoch === this.serving;
  }
  routeEpoch(): number {
    return this.serving;
  }
}

describe('fenced snapshot writes', () => {
  let nats: NatsServerHandle;
  let nc: NatsConnection;
  beforeAll(async () => {
    nats = await startNatsServer();
    nc = await connect({ servers: nats.url, noAsyncTraces: true });
  });
  afterAll(async () => {
    await nc?.close();
    await nats?.stop();
  });

  it("fencing - a stale owner's late write (its lease check passed just before a pause) is rejected and never overwrites the new owner's", async () => {
    const store = new KvSnapshotStore(nc, { bucketPrefix: uniquePrefix('fence') });
    const events: RuntimeEvent[] = [];
    const mk = (id: string, own: HandOwnership) => {
      const hub = new LocalHub();
      const s = new ActorSystem({ nodeId: id, shardCount: 4, transport: new LocalTransport(hub), store, ownership: own, onEvent: (e) => events.push(e) });
      s.register('test', testActorFactory);
      return s;
    };
    const oldOwn = new HandOwnership(1, true);
    const a = await mk('old', oldOwn).start();
    await a.ask('test', 'k', 'incr', { by: 1 });
    await a.ask('test', 'k', 'persist');
    await a.ask('test', 'k', 'incr', { by: 1 }); // 2, not yet written

    // The shard moves to a new owner under epoch 2, which activates the actor and marks its snapshot.
    const b = await mk('new', new HandOwnership(2, true)).start();
    expect(await b.ask('test', 'k', 'incr', { by: 10 })).toBe(11);

    // The old owner, believing its lease still holds, writes late: the compare-and-set refuses it.
    const err = await a.ask('test', 'k', 'persist').catch((e: unknown) => e);
    expect((err as { code: string }).code).toBe('Fenced');
    expect(a.kindStats('test').snapshotsRejected).toBe(1);
    expect(a.isActive('test', 'k')).toBe(false); // fenced off: the activation is gone, unwritten

    await b.ask('test', 'k', 'persist');
    const { snapshot } = await store.load('test', 'k');
    expect(snapshot).toMatchObject({ epoch: 2, data: { n: 11 } });
    expect(events.filter((e) => e.type === 'snapshot').map((e) => [e.node, e.epoch, (e as { accepted: boolean }).accepted])).toEqual([
      ['old', 1, true], // the first activation under epoch 1 marks the snapshot
      ['old', 1, true], // persist
      ['new', 2, true], // the new owner's mark
      ['old', 1, false], // the late write, rejected
      ['new', 2, true],
    ]);
    oldOwn.holds = false;
    await a.stop();
    await b.stop();
  });

  it('fencing - a node started with another shard count refuses to join the cluster', async () => {
    const prefix = uniquePrefix('cfg');
    const c = await ClusterClient.connect(nc, { prefix, shardCount: 64 });
    await expect(ClusterClient.connect(nc, { prefix, shardCount: 128 })).rejects.toThrow(/started with 128 shards but the cluster has 64: refusing to join/);
    await c.close();
  });
});
