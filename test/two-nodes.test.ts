import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shardOf } from '../runtime/shard.js';
import { ActorSystem } from '../runtime/system.js';
import { NatsTransport } from '../runtime/transport-nats.js';
import { startNatsServer, uniquePrefix, type NatsServerHandle } from './harness/nats-server.js';
import { builtFixture, startNodeProcess, type NodeProcess } from './harness/processes.js';

const S = 128;
const owner = (key: string) => (shardOf('test', key, S) < 64 ? 'node-a' : 'node-b');

describe('two node processes over NATS', () => {
  let nats: NatsServerHandle;
  let nc: NatsConnection;
  let a: NodeProcess;
  let b: NodeProcess;
  let client: ActorSystem;

  beforeAll(async () => {
    nats = await startNatsServer();
    const prefix = uniquePrefix('two');
    const common = ['--nats', nats.url, '--prefix', prefix, '--shard-count', String(S), '--kv'];
    a = startNodeProcess([...common, '--id', 'node-a', '--shards', '0-63'], { script: builtFixture('node-proc.js') });
    b = startNodeProcess([...common, '--id', 'node-b', '--shards', '64-127'], { script: builtFixture('node-proc.js') });
    await Promise.all([a.ready, b.ready]);
    nc = await connect({ servers: nats.url, noAsyncTraces: true });
    client = new ActorSystem({ nodeId: 'client', shardCount: S, transport: new NatsTransport(nc, { prefix }) });
    await client.start([]);
  });

  afterAll(async () => {
    await client?.stop();
    await nc?.close();
    await Promise.all([a?.stop(), b?.stop()]);
    await nats?.stop();
  });

  it('two nodes - each reply names the configured owner of the target shard', async () => {
    const keys = Array.from({ length: 200 }, (_, i) => `u${i}`);
    const seen = new Set<string>();
    for (const key of keys) {
      const r = await client.request<{ node: string; shard: number }>('test', key, 'whoami');
      expect(r.node).toBe(owner(key));
      expect(r.value!.node).toBe(owner(key));
      expect(r.value!.shard).toBe(shardOf('test', key, S));
      seen.add(r.node);
    }
    expect([...seen].sort()).toEqual(['node-a', 'node-b']);
  });

  it("two nodes - an actor on one node asks an actor on the other and gets the other's answer", async () => {
    const onA = Array.from({ length: 400 }, (_, i) => `x${i}`).filter((k) => owner(k) === 'node-a').slice(0, 20);
    const onB = Array.from({ length: 400 }, (_, i) => `y${i}`).filter((k) => owner(k) === 'node-b').slice(0, 20);
    for (let i = 0; i < 20; i++) {
      const ab = await client.ask<{ via: string; answer: { node: string } }>('test', onA[i]!, 'relay', { kind: 'test', key: onB[i]!, type: 'whoami' });
      expect(ab).toMatchObject({ via: 'node-a', answer: { node: 'node-b' } });
      const ba = await client.ask<{ via: string; answer: { node: string } }>('test', onB[i]!, 'relay', { kind: 'test', key: onA[i]!, type: 'whoami' });
      expect(ba).toMatchObject({ via: 'node-b', answer: { node: 'node-a' } });
    }
  });

  it('two nodes - state written on one node survives its graceful restart (JetStream KV snapshots)', async () => {
    const key = Array.from({ length: 100 }, (_, i) => `z${i}`).find((k) => owner(k) === 'node-b')!;
    for (let i = 0; i < 7; i++) await client.ask('test', key, 'incr');
    const args = b.child.spawnargs.slice(2); // after node and the script
    expect(await b.stop()).toBe(0);
    b = startNodeProcess(args, { script: builtFixture('node-proc.js') });
    await b.ready;
    expect(await client.ask('test', key, 'get')).toBe(7);
  });
});
