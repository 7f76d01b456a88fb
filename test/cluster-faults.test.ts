import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ClusterNode } from '../cluster/index.js';
import { ActorSystem } from '../runtime/system.js';
import { NatsTransport } from '../runtime/transport-nats.js';
import { testActorFactory } from './fixtures/actors.js';
import { FAST_NODE_FLAGS, startTestCluster, type TestCluster } from './harness/cluster.js';
import { startNatsServer, uniquePrefix, type NatsServerHandle } from './harness/nats-server.js';
import { builtFixture, runReel, startNodeProcess } from './harness/processes.js';


const reel = (args: string[], timeoutMs = 30_000) => runReel(args, { timeoutMs });

describe('cluster faults with real processes', () => {
  let c: TestCluster | undefined;
  afterEach(async () => {
    if (c) expect(await c.activationProblems()).toEqual([]);
    await c?.close();
    c = undefined;
  });

  it('cluster - nats-server restarts on the same port and store: nodes stay up, serve nothing while cut off, reclaim every shard, and persisted state is whole (finding 9)', async () => {
    c = await startTestCluster({ nodes: 3, label: 'restart' });
    await c.waitBalanced();
    const sys = c.client.system;
    const keys = Array.from({ length: 60 }, (_, i) => `r${i}`);
    for (const k of keys) await sys.ask('test', k, 'applyDurable', undefined, { id: `before-${k}` });
    await c.nats.restart();
    await c.waitBalanced(['n1', 'n2', 'n3'], 40_000);
    for (const k of keys) await sys.ask('test', k, 'applyDurable', undefined, { id: `after-${k}`, deadlineMs: 10_000 });
    for (const k of keys) expect(await sys.ask('test', k, 'applied', undefined, { deadlineMs: 10_000 })).toEqual([`before-${k}`, `after-${k}`]);
    for (const [id, p] of c.nodes) {
      expect(p.exitedAt(), `${id} exited`).toBeUndefined();
      expect(p.events.some((e) => e.msg === 'disconnected from NATS; serving nothing until reconnected'), `${id} saw the disconnect`).toBe(true);
      expect(p.events.some((e) => e.msg === 'reconnected to NATS; claiming shards again'), `${id} reconnected`).toBe(true);
    }
  });

  it('cluster - a node whose connection closes for good (reconnects exhausted) exits 1 and says why (finding 9)', async () => {
    const nats = await startNatsServer();
    try {
      const p = startNodeProcess(['node', '--nats', nats.url, '--id', 'lonely', '--prefix', uniquePrefix('gone'), '--max-reconnects', '2', ...FAST_NODE_FLAGS]);
      await p.ready;
      await nats.kill();
      expect(await p.exited).toBe(1);
      const last = p.events.find((e) => e.msg === 'node cannot go on; exiting');
      expect(String(last?.error)).toMatch(/NATS connection closed for good/);
      // It cannot release anything: it says that its leases run out instead.
      expect(p.events.find((e) => String(e.msg).startsWith('cannot leave the cluster: the NATS connection is closed'))).toMatchObject({ level: 'warn', leaseMs: 1000 });
    } finally {
      await nats.stop();
    }
  });

  it('cluster - a second node with a live node\'s id refuses to start (finding 13)', async () => {
    c = await startTestCluster({ nodes: 1, label: 'dupid' });
    await c.waitBalanced();
    const twin = await reel(['node', '--nats', c.nats.url, '--id', 'n1', '--prefix', c.prefix, '--kinds', builtFixture('test-kinds.js'), ...FAST_NODE_FLAGS]);
    expect(twin.code).toBe(2);
    expect(twin.stderr).toMatch(/node id 'n1' is in use by a live node/);
    // The first is untouched.
    expect(c.nodes.get('n1')!.exitedAt()).toBeUndefined();
    expect(await c.client.system.ask('test', 'still', 'incr')).toBe(1);
  });

  it('cluster - bad options are refused before anything is written: --shard-count 0 or 1.5 leaves no config behind (finding 17)', async () => {
    const nats = await startNatsServer();
    try {
      const prefix = uniquePrefix('badcfg');
      for (const n of ['0', '1.5', '70000']) {
        const r = await reel(['node', '--nats', nats.url, '--id', 'x', '--prefix', prefix, '--shard-count', n]);
        expect(r.code, r.stderr).toBe(2);
        expect(r.stderr).toMatch(/shardCount must be an integer in 1\.\.65536/);
        expect(r.stderr).toContain('--shard-count');
      }
      const nc = await connect({ servers: nats.url });
      try {
        const kv = await new Kvm(nc).create(`${prefix}_cluster`);
        expect(await kv.get('config')).toBeNull();
        await expect(ClusterNode.start({ nodeId: 'y', prefix, shardCount: 0 }, { nc, register: () => undefined })).rejects.toThrow(/shardCount must be an integer/);
        expect(await kv.get('config')).toBeNull();
      } finally {
        await nc.close();
      }
    } finally {
      await nats.stop();
    }
  });

  it('cluster - reel node --kinds names a module it cannot use, and exits 2 (finding 23)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reel-kinds-'));
    try {
      writeFileSync(join(dir, 'nothing.mjs'), 'export const x = 1;\n');
      const missing = await reel(['node', '--id', 'k', '--kinds', join(dir, 'absent.mjs')]);
      expect(missing.code).toBe(2);
      expect(missing.stderr).toContain(`--kinds ${join(dir, 'absent.mjs')}: cannot load the module`);
      const empty = await reel(['node', '--id', 'k', '--kinds', join(dir, 'nothing.mjs')]);
      expect(empty.code).toBe(2);
      expect(empty.stderr).toContain('exports no register(system) function');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('namesakes over NATS', () => {
  let nats: NatsServerHandle;
  const ncs: NatsConnection[] = [];
  beforeAll(async () => {
    nats = await startNatsServer();
  });
  afterAll(async () => {
    for (const nc of ncs) await nc.close();
    await nats?.stop();
  });

  it('namesakes - two callers with the same node id each get their own answers (finding 13)', async () => {
    const prefix = uniquePrefix('twins');
    const conn = async () => {
      const nc = await connect({ servers: nats.url, noAsyncTraces: true });
      ncs.push(nc);
      return nc;
    };
    const server = new ActorSystem({ nodeId: 'server', shardCount: 8, transport: new NatsTransport(await conn(), { prefix }) });
    server.register('test', testActorFactory);
    await server.start();
    const twins = [0, 1].map(async () => new ActorSystem({ nodeId: 'gw', shardCount: 8, transport: new NatsTransport(await conn(), { prefix }) }).start([]));
    const [a, b] = await Promise.all(twins);
    const asks = Array.from({ length: 200 }, (_, i) => {
      const from = i % 2 === 0 ? a! : b!;
      return from.ask<{ i: number; from: string }>('test', `k${i % 17}`, 'echo', { i, from: from.incarnation }).then((r) => [r, i, from.incarnation] as const);
    });
    for (const [r, i, inc] of await Promise.all(asks)) expect(r).toEqual({ i, from: inc });
    await a!.stop();
    await b!.stop();
    await server.stop();
  });
});
