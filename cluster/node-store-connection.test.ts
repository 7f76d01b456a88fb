import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterEach, describe, expect, it } from 'vitest';
import { testActorFactory, TEST_READS } from '../test/fixtures/actors.js';
import { natsPerFile } from '../test/harness/nats-per-file.js';
import { uniquePrefix } from '../test/harness/nats-server.js';
import { waitFor } from '../test/harness/wait.js';
import { ClusterNode } from './node.js';

describe('cluster node store connection', () => {
  const broker = natsPerFile();
  const open: Array<{ node?: ClusterNode; conns: NatsConnection[] }> = [];
  afterEach(async () => {
    for (const o of open.splice(0)) {
      await o.node?.stop();
      for (const c of o.conns) await c.close();
    }
  });

  it('cluster - snapshot reads and writes go over the store connection, never ahead of the cluster protocol on the main one', async () => {
    const nc = await connect({ servers: broker.nats.url, noAsyncTraces: true });
    const storeNc = await connect({ servers: broker.nats.url, noAsyncTraces: true });
    const o: { node?: ClusterNode; conns: NatsConnection[] } = { conns: [nc, storeNc] };
    open.push(o);
    o.node = await ClusterNode.start(
      { nodeId: 'n1', prefix: uniquePrefix('storenc'), shardCount: 4 },
      { nc, storeNc, register: (system) => void system.register('test', testActorFactory, { reads: TEST_READS, persistsLast: true }) },
    );
    const node = o.node;
    await waitFor('the node owns every shard', () => node.ownership.owned().length === 4);
    const before = { main: nc.stats().outBytes, store: storeNc.stats().outBytes };
    // 64 actors of 4 KB each: activated (a read each) and written (4 KB each).
    await Promise.all(Array.from({ length: 64 }, (_, i) => node.system.ask('test', `k${i}`, 'fill', { bytes: 4096 })));
    const store = storeNc.stats().outBytes - before.store;
    const main = nc.stats().outBytes - before.main;
    expect(store).toBeGreaterThan(64 * 4096);
    // The main connection carried no snapshot: far less than one 4 KB state per actor.
    expect(main).toBeLessThan(64 * 4096);
    // A restarted actor reads its state back over the store connection.
    await node.system.passivateWhere(() => true);
    const reads = storeNc.stats().inBytes;
    expect(await node.system.ask<number>('test', 'k7', 'filled', undefined)).toBe(4096);
    expect(storeNc.stats().inBytes - reads).toBeGreaterThan(4096);
  });
});
