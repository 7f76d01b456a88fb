import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { fixtureState, testActorFactory } from '../test/fixtures/actors.js';
import { HandOwnership } from '../test/fixtures/ownership.js';
import { startNatsServer, uniquePrefix, type NatsServerHandle } from '../test/harness/nats-server.js';
import type { BatchAskMessage, BatchOutcome } from './batch-ask.js';
import { allShards, shardOf } from './shard.js';
import { ActorSystem, type SystemHooks } from './system.js';
import { LocalHub, LocalTransport } from './transport-local.js';
import { connectNats, NatsTransport } from './transport-nats.js';
import type { Transport } from './types.js';

const S = 8;

/** `n` distinct keys spread over every shard, each asked to `apply` (which records the message id). */
function applies(n: number, run: string): BatchAskMessage[] {
  return Array.from({ length: n }, (_, i) => ({ kind: 'test', key: `k${i % 40}`, type: 'apply', id: `${run}.${i}` }));
}

/** What the actor at each key recorded, as `{key: ids}`. */
async function appliedIds(client: ActorSystem, keys: string[]): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const k of keys) out[k] = await client.ask<string[]>('test', k, 'applied');
  return out;
}

const valuesOf = (outs: BatchOutcome[]) => outs.map((o) => (o.error ? o.error.code : o.value));

/** One node hosting `shards` and a client, on the given transports. */
async function pair(transports: () => [Transport, Transport], opts: { shards?: number[]; hooks?: SystemHooks; attemptMs?: number; ownership?: boolean } = {}) {
  const [tn, tc] = transports();
  const own = opts.ownership === false ? {} : { ownership: new HandOwnership(1) };
  const node = new ActorSystem({ nodeId: 'node', shardCount: S, transport: tn, dedupMaxEntries: 100_000, ...own, ...(opts.hooks ? { hooks: opts.hooks } : {}) });
  node.register('test', testActorFactory);
  await node.start(opts.shards ?? allShards(S));
  const client = new ActorSystem({ nodeId: 'client', shardCount: S, transport: tc, askAttemptTimeoutMs: opts.attemptMs ?? 0, ...own });
  await client.start([]);
  return {
    node,
    client,
    async [Symbol.asyncDispose]() {
      await client.stop();
      await node.stop();
    },
  };
}

/** The batch-ask contract, on both transports. */
function suite(transports: () => [Transport, Transport]) {
  beforeEach(() => fixtureState.reset());
  afterEach(() => {
    for (const g of fixtureState.gates.values()) g.open();
  });

  it('batch ask - answers every message of a batch over many shards, in order, one frame per shard; one failure fails only its message', async () => {
    await using p = await pair(transports);
    const msgs: BatchAskMessage[] = [...applies(200, 'a'), { kind: 'test', key: 'bad', type: 'fail', body: { code: 'InvalidArgument', message: 'no' } }, { kind: 'test', key: 'k1', type: 'get' }];
    const outs = await p.client.askBatch(msgs);
    // Each key counts its own applies: the i-th message to a key answers i.
    const seen = new Map<string, number>();
    const want = msgs.slice(0, 200).map((m) => seen.set(m.key, (seen.get(m.key) ?? 0) + 1).get(m.key));
    expect(valuesOf(outs)).toEqual([...want, 'InvalidArgument', 5]);
    expect(outs[200]!.error!.message).toBe('no');
    const shards = new Set(msgs.map((m) => shardOf(m.kind, m.key, S)));
    expect(shards.size).toBe(S);
    expect(p.node.stats.asksSent + p.client.stats.asksSent).toBe(msgs.length);
    expect(await p.client.askBatch([])).toEqual([]);
  });

  it('batch ask - a batch sent again with the same ids is applied once: the repeat gets the remembered answers', async () => {
    await using p = await pair(transports);
    const msgs = applies(120, 'same');
    const first = await p.client.askBatch(msgs);
    const again = await p.client.askBatch(msgs);
    expect(valuesOf(again)).toEqual(valuesOf(first));
    const ids = await appliedIds(p.client, ['k0', 'k7', 'k39']);
    expect(ids.k0).toEqual(['same.0', 'same.40', 'same.80']);
    expect(ids.k39).toEqual(['same.39', 'same.79', 'same.119']);
    expect(p.node.kindStats('test').duplicates).toBe(120);
  });

  it('batch ask - a frame whose reply is lost is resent after the attempt timeout and still applied once', async () => {
    let dropped = 0;
    const hooks: SystemHooks = { dropReply: (env) => env.type === 'apply' && env.key === 'k3' && ++dropped === 1 };
    await using p = await pair(transports, { hooks, attemptMs: 50 });
    const outs = await p.client.askBatch(applies(80, 'lost'), { deadlineMs: 5_000 });
    expect(dropped).toBeGreaterThanOrEqual(1);
    expect(outs.every((o) => o.error === undefined)).toBe(true);
    expect((await appliedIds(p.client, ['k3'])).k3).toEqual(['lost.3', 'lost.43']);
    expect(p.client.stats.askRetries).toBeGreaterThan(0);
  });
}

describe('askBatch on the in-process transport', () => {
  suite(() => {
    const hub = new LocalHub();
    return [new LocalTransport(hub), new LocalTransport(hub)];
  });

  it('batch ask - messages to a shard nobody hosts fail with NoRoute, the others are answered', async () => {
    const hub = new LocalHub();
    await using p = await pair(() => [new LocalTransport(hub), new LocalTransport(hub)], { shards: [0, 1, 2, 3], ownership: false });
    const msgs = applies(40, 'half');
    const outs = await p.client.askBatch(msgs);
    for (const [i, m] of msgs.entries()) {
      if (shardOf(m.kind, m.key, S) < 4) expect(outs[i]).toEqual({ value: 1 });
      else expect(outs[i]!.error?.code).toBe('NoRoute');
    }
  });

  it('batch ask - a stopped system answers every message with Closed', async () => {
    const system = new ActorSystem({ nodeId: 'x', shardCount: S });
    const outs = await system.askBatch(applies(3, 'c'));
    expect(outs.map((o) => o.error?.code)).toEqual(['Closed', 'Closed', 'Closed']);
  });
});

describe('askBatch over NATS', () => {
  let server: NatsServerHandle;
  const conns: Array<{ close(): Promise<void> }> = [];
  let prefix = '';
  let ncs: Awaited<ReturnType<typeof connectNats>>[] = [];
  beforeAll(async () => {
    server = await startNatsServer({ jetstream: false });
    ncs = [await connectNats({ servers: server.url }), await connectNats({ servers: server.url })];
    conns.push(...ncs);
  });
  beforeEach(() => {
    prefix = uniquePrefix('ba');
  });
  afterAll(async () => {
    for (const c of conns) await c.close();
    await server?.stop();
  });

  suite(() => [new NatsTransport(ncs[0]!, { prefix }), new NatsTransport(ncs[1]!, { prefix })]);

  it('batch ask - a refusal crosses the wire with its code and fields', async () => {
    await using p = await pair(() => [new NatsTransport(ncs[0]!, { prefix }), new NatsTransport(ncs[1]!, { prefix })]);
    const [out] = await p.client.askBatch([{ kind: 'nope', key: 'k', type: 'x' }]);
    expect(out!.error?.code).toBe('UnknownKind');
  });
});
