import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../runtime/clock.js';
import { encodeMessage, ENVELOPE_VERSION } from '../runtime/envelope.js';
import { ReelError } from '../runtime/errors.js';
import type { SystemOptions } from '../runtime/options.js';
import { shardOf } from '../runtime/shard.js';
import { KvSnapshotStore } from '../runtime/snapshot-store-kv.js';
import { MemorySnapshotStore } from '../runtime/snapshot-store-memory.js';
import { ActorSystem, type SystemHooks } from '../runtime/system.js';
import { LocalHub, LocalTransport } from '../runtime/transport-local.js';
import { NatsTransport } from '../runtime/transport-nats.js';
import type { SnapshotStore, Transport } from '../runtime/types.js';
import { fixtureState, testActorFactory } from './fixtures/actors.js';
import { startNatsServer, uniquePrefix, type NatsServerHandle } from './harness/nats-server.js';
import { waitFor } from './harness/wait.js';
import { rejection } from './harness/rejection.js';

const S = 16;
/** The server hosts every shard but this one, so that NoRoute can be tested. */
const UNHOSTED = S - 1;
const hostedShards = Array.from({ length: S - 1 }, (_, i) => i);

/** A client node (hosts nothing, real clock) asking a server node (hosts the actors, manual clock) over one transport. */
interface Rig {
  client: ActorSystem;
  server: ActorSystem;
  store: SnapshotStore;
  clock: ManualClock;
  /** Publishes raw bytes on a shard's subject (NATS only). */
  publishRaw?: (shard: number, bytes: Uint8Array) => Promise<void>;
  close(): Promise<void>;
}

interface TransportKit {
  name: string;
  setup(): Promise<void>;
  teardown(): Promise<void>;
  pair(): Promise<{ client: Transport; server: Transport; store: SnapshotStore; publishRaw?: Rig['publishRaw']; close(): Promise<void> }>;
}

const localKit: TransportKit = {
  name: 'local',
  async setup() {},
  async teardown() {},
  async pair() {
    const hub = new LocalHub();
    return { client: new LocalTransport(hub), server: new LocalTransport(hub), store: new MemorySnapshotStore(), async close() {} };
  },
};

function natsKit(): TransportKit {
  let server: NatsServerHandle;
  return {
    name: 'nats',
    async setup() {
      server = await startNatsServer();
    },
    async teardown() {
      await server?.stop();
    },
    async pair() {
      const prefix = uniquePrefix('conf');
      const ncs: NatsConnection[] = [];
      for (let i = 0; i < 3; i++) ncs.push(await connect({ servers: server.url, noAsyncTraces: true }));
      const [a, b, raw] = ncs as [NatsConnection, NatsConnection, NatsConnection];
      return {
        client: new NatsTransport(a, { prefix }),
        server: new NatsTransport(b, { prefix }),
        store: new KvSnapshotStore(b, { bucketPrefix: prefix }),
        async publishRaw(shard, bytes) {
          raw.publish(`${prefix}.s.${shard}`, bytes);
          await raw.flush();
        },
        async close() {
          for (const nc of ncs) await nc.close();
        },
      };
    },
  };
}

async function makeRig(kit: TransportKit, serverOpts: SystemOptions = {}, extra: { hooks?: SystemHooks; clientOpts?: SystemOptions } = {}): Promise<Rig> {
  const p = await kit.pair();
  const clock = new ManualClock();
  const server = new ActorSystem({ nodeId: 'server', shardCount: S, transport: p.server, store: p.store, clock, ...serverOpts, ...(extra.hooks ? { hooks: extra.hooks } : {}) });
  server.register('test', testActorFactory);
  const client = new ActorSystem({ nodeId: 'client', shardCount: S, transport: p.client, ...extra.clientOpts });
  await server.start(hostedShards);
  await client.start([]);
  const rig: Rig = {
    client,
    server,
    store: p.store,
    clock,
    async close() {
      await client.stop();
      await server.stop();
      await p.store.close();
      await p.close();
    },
  };
  if (p.publishRaw) rig.publishRaw = p.publishRaw;
  return rig;
}

/** A key of kind 'test' that lands on a hosted shard. */
function hostedKey(i: number): string {
  for (let j = i; ; j += 1000) {
    const k = `k${j}`;
    if (shardOf('test', k, S) !== UNHOSTED) return k;
  }
}


for (const kit of [localKit, natsKit()]) {
  describe(`runtime conformance (${kit.name})`, () => {
    let rig: Rig;
    beforeAll(() => kit.setup());
    afterAll(() => kit.teardown());
    beforeEach(() => fixtureState.reset());
    afterEach(async () => {
      await rig?.close();
    });

    it(`${kit.name} - messages to one actor are handled in send order`, async () => {
      rig = await makeRig(kit);
      const keys = Array.from({ length: 10 }, (_, i) => hostedKey(i));
      for (let v = 0; v < 200; v++) for (const k of keys) rig.client.tell('test', k, 'push', { v });
      for (const k of keys) {
        await waitFor(`200 pushes handled by ${k}`, async () => ((await rig.client.ask<number[]>('test', k, 'log')).length === 200));
        expect(await rig.client.ask('test', k, 'log')).toEqual(Array.from({ length: 200 }, (_, v) => v));
      }
    });

    it(`${kit.name} - async handlers of one actor never interleave while other actors run concurrently`, async () => {
      rig = await makeRig(kit);
      const keys = [hostedKey(1), hostedKey(2), hostedKey(3), hostedKey(4)];
      const asks = [];
      for (let v = 0; v < 5; v++) for (const k of keys) asks.push(rig.client.ask('test', k, 'work', { ms: 10, v }));
      await Promise.all(asks);
      expect(fixtureState.interleavings).toBe(0);
      expect(fixtureState.maxRunning).toBeGreaterThanOrEqual(2);
      for (const k of keys) expect(await rig.client.ask('test', k, 'log')).toEqual([0, 1, 2, 3, 4]);
    });

    it(`${kit.name} - a message whose deadline passes while queued is never handled and is counted`, async () => {
      rig = await makeRig(kit);
      const k = hostedKey(5);
      const stats = () => rig.server.kindStats('test');
      const held = rig.client.ask('test', k, 'hold', { gate: 'g1' }, { deadlineMs: 60_000 });
      await waitFor('hold running', () => stats().activated === 1);
      const late = rig.client.ask('test', k, 'push', { v: 7 }, { deadlineMs: 30 });
      await waitFor('push queued behind hold', () => rig.server.isActive('test', k) && stats().handled === 0 && rig.server.pendingAsks === 0 && rig.client.pendingAsks === 2);
      const err = await rejection(late);
      expect(err.code).toBe('DeadlineExceeded');
      // Time passes on the server's clock too: the queued push is now past its deadline.
      rig.clock.advance(31);
      fixtureState.gate('g1').open();
      await held;
      expect(await rig.client.ask('test', k, 'log')).toEqual([-1]);
      expect(stats().expired).toBe(1);
    });

    it(`${kit.name} - an ask without an answer fails with DeadlineExceeded`, async () => {
      rig = await makeRig(kit);
      const t0 = Date.now();
      const err = await rejection(rig.client.ask('test', hostedKey(6), 'hold', { gate: 'never' }, { deadlineMs: 100 }));
      expect(err.code).toBe('DeadlineExceeded');
      expect(err.key).toBe(hostedKey(6));
      expect(Date.now() - t0).toBeGreaterThanOrEqual(95);
      fixtureState.gate('never').open();
    });

    it(`${kit.name} - a full mailbox answers Overloaded and keeps what it accepted`, async () => {
      rig = await makeRig(kit, { mailboxCapacity: 4 });
      const k = hostedKey(7);
      const held = rig.client.ask('test', k, 'hold', { gate: 'g2' });
      await waitFor('hold running', () => rig.server.kindStats('test').activated === 1);
      const pushes = Array.from({ length: 10 }, (_, v) => rig.client.ask('test', k, 'push', { v }).then(
        () => 'ok',
        (e: ReelError) => e.code,
      ));
      await waitFor('overflow refused', () => rig.server.kindStats('test').overloaded === 6);
      fixtureState.gate('g2').open();
      await held;
      const outcomes = await Promise.all(pushes);
      expect(outcomes.filter((o) => o === 'ok')).toHaveLength(4);
      expect(outcomes.filter((o) => o === 'Overloaded')).toHaveLength(6);
      expect(await rig.client.ask('test', k, 'log')).toEqual([-1, 0, 1, 2, 3]);
    });

    it(`${kit.name} - past the active-actor cap the least recently used passivate and come back with their state`, async () => {
      rig = await makeRig(kit, { maxActiveActors: 20 });
      const keys = Array.from({ length: 60 }, (_, i) => hostedKey(100 + i));
      for (const k of keys) expect(await rig.client.ask('test', k, 'incr', { by: 3 })).toBe(3);
      await waitFor('evictions settle', () => rig.server.activeActors <= 20, { describe: () => rig.server.activeActors });
      const st = rig.server.kindStats('test');
      expect(st.passivated).toBeGreaterThanOrEqual(40);
      for (const k of keys) expect(await rig.client.ask('test', k, 'incr', { by: 1 })).toBe(4);
      expect(rig.server.activeActors).toBeLessThanOrEqual(21);
    });

    it(`${kit.name} - a recently used actor survives the cap while idle ones passivate`, async () => {
      rig = await makeRig(kit, { maxActiveActors: 10 });
      const hot = hostedKey(200);
      await rig.client.ask('test', hot, 'incr');
      for (let i = 0; i < 30; i++) {
        await rig.client.ask('test', hostedKey(300 + i), 'incr');
        await rig.client.ask('test', hot, 'incr');
      }
      expect(rig.server.isActive('test', hot)).toBe(true);
      expect(fixtureState.generations.get(`test/${hot}`)).toBe(1);
    });

    it(`${kit.name} - idle actors passivate to the snapshot store and restore from it`, async () => {
      rig = await makeRig(kit, { idlePassivateMs: 1000 });
      const k = hostedKey(8);
      await rig.client.ask('test', k, 'incr', { by: 41 });
      expect(rig.server.sweepIdle()).toBe(0);
      rig.clock.advance(1001);
      expect(rig.server.sweepIdle()).toBe(1);
      await waitFor('passivated', () => !rig.server.isActive('test', k));
      const { snapshot: snap } = await rig.store.load('test', k);
      expect(snap?.data).toEqual({ n: 41, log: [] });
      expect(await rig.client.ask('test', k, 'incr')).toBe(42);
      expect(fixtureState.generations.get(`test/${k}`)).toBe(2);
    });

    it(`${kit.name} - a throwing handler fails only that ask; repeated failures restart from the last snapshot`, async () => {
      rig = await makeRig(kit, { maxConsecutiveFailures: 3 });
      const k = hostedKey(9);
      await rig.client.ask('test', k, 'incr', { by: 5 });
      await rig.client.ask('test', k, 'persist');
      await rig.client.ask('test', k, 'incr', { by: 100 }); // not persisted: lost by the restart
      const e1 = await rejection(rig.client.ask('test', k, 'fail', { message: 'plain' }));
      expect(e1.code).toBe('HandlerFailed');
      expect(e1.message).toBe('plain');
      const e2 = await rejection(rig.client.ask('test', k, 'fail', { code: 'OutOfStock', message: 'none left' }));
      expect([e2.code, e2.message]).toEqual(['OutOfStock', 'none left']);
      expect(await rig.client.ask('test', k, 'get')).toBe(105); // a success resets the count
      await rejection(rig.client.ask('test', k, 'fail'));
      await rejection(rig.client.ask('test', k, 'failAsync'));
      expect(rig.server.kindStats('test').restarts).toBe(0);
      await rejection(rig.client.ask('test', k, 'fail'));
      expect(await rig.client.ask('test', k, 'get')).toBe(5);
      const st = rig.server.kindStats('test');
      expect(st.restarts).toBe(1);
      expect(st.failed).toBe(5);
      expect(fixtureState.generations.get(`test/${k}`)).toBe(2);
    });

    it(`${kit.name} - typed arrays round-trip as typed arrays`, async () => {
      rig = await makeRig(kit);
      const body = {
        f32: new Float32Array([1.5, -2.25, 3e-8]),
        f64: new Float64Array([Math.PI]),
        i32: new Int32Array([-7, 2 ** 30]),
        u8: new Uint8Array([0, 255]),
        nested: { list: [new Float32Array(64).fill(0.5)] },
      };
      const back = await rig.client.ask<typeof body>('test', hostedKey(10), 'echo', body);
      expect(back.f32).toBeInstanceOf(Float32Array);
      expect(back.f64).toBeInstanceOf(Float64Array);
      expect(back.i32).toBeInstanceOf(Int32Array);
      expect(back.u8).toBeInstanceOf(Uint8Array);
      expect(back.nested.list[0]).toBeInstanceOf(Float32Array);
      expect(back).toEqual(body);
    });

    it(`${kit.name} - an ask to a shard nobody hosts fails at once with NoRoute`, async () => {
      rig = await makeRig(kit);
      let key = 'x';
      for (let i = 0; shardOf('test', key, S) !== UNHOSTED; i++) key = `x${i}`;
      const t0 = Date.now();
      const err = await rejection(rig.client.ask('test', key, 'get', undefined, { deadlineMs: 5000 }));
      expect(err.code).toBe('NoRoute');
      expect(err.shard).toBe(UNHOSTED);
      expect(Date.now() - t0).toBeLessThan(2000);
    });

    it(`${kit.name} - an unknown kind answers UnknownKind`, async () => {
      rig = await makeRig(kit);
      let key = 'u';
      for (let i = 0; shardOf('nope', key, S) === UNHOSTED; i++) key = `u${i}`;
      const err = await rejection(rig.client.ask('nope', key, 'get'));
      expect(err.code).toBe('UnknownKind');
    });

    it(`${kit.name} - replies name the node that handled them`, async () => {
      rig = await makeRig(kit);
      const r = await rig.client.request('test', hostedKey(11), 'incr');
      expect(r).toMatchObject({ node: 'server', value: 1, epoch: 0 });
    });

    it(`${kit.name} - batched tells reach every actor once`, async () => {
      rig = await makeRig(kit);
      const keys = Array.from({ length: 50 }, (_, i) => hostedKey(400 + i));
      const msgs = [];
      for (let r = 0; r < 20; r++) for (const k of keys) msgs.push({ kind: 'test', key: k, type: 'incr', body: { by: 1 } });
      rig.client.tellBatch(msgs);
      await waitFor('1000 batched tells handled', () => rig.server.kindStats('test').handled === 1000, { describe: () => rig.server.kindStats('test') });
      for (const k of keys) expect(await rig.client.ask('test', k, 'get')).toBe(20);
    });

    it(`${kit.name} - per-actor timers fire through the mailbox and die with the activation`, async () => {
      rig = await makeRig(kit);
      const k = hostedKey(12);
      const control = hostedKey(16);
      await rig.client.ask('test', k, 'timer', { ms: 5, repeat: true });
      await waitFor('timer ticks', async () => (await rig.client.ask<number>('test', k, 'get')) >= 3);
      await rig.client.ask('test', k, 'passivate');
      await waitFor('passivated', () => !rig.server.isActive('test', k));
      const n = ((await rig.store.load('test', k)).snapshot?.data as { n: number }).n;
      // A control actor's timer of the same period ticks 10 times: the passivated one would have too.
      await rig.client.ask('test', control, 'timer', { ms: 5, repeat: true });
      await waitFor('control ticked 10 times', async () => (await rig.client.ask<number>('test', control, 'get')) >= 10);
      expect(rig.server.kindStats('test').activated).toBe(2); // k, then control: k never came back
      expect(await rig.client.ask('test', k, 'get')).toBe(n);
    });

    it(`${kit.name} - a lost reply: the retry (same message id) is applied once and gets the original answer`, async () => {
      let dropped = 0;
      const hooks: SystemHooks = { dropReply: (env) => env.type === 'incr' && dropped++ === 0 };
      rig = await makeRig(kit, { dedupMaxEntries: 1000 }, { hooks, clientOpts: { askAttemptTimeoutMs: 50 } });
      const k = hostedKey(14);
      expect(await rig.client.ask('test', k, 'incr', { by: 10 }, { deadlineMs: 5000 })).toBe(10);
      expect(dropped).toBe(2); // the first answer was dropped, the retry's was not
      expect(rig.client.stats.askRetries).toBeGreaterThanOrEqual(1);
      expect(rig.server.kindStats('test').duplicates).toBeGreaterThanOrEqual(1);
      expect(await rig.client.ask('test', k, 'get')).toBe(10);
    });

    it(`${kit.name} - the dedup window travels with the snapshot: a retry after passivation is still applied once`, async () => {
      rig = await makeRig(kit, { dedupMaxEntries: 1000 });
      const k = hostedKey(15);
      expect(await rig.client.ask('test', k, 'incr', { by: 2 }, { id: 'op-1' })).toBe(2);
      await rig.client.ask('test', k, 'passivate');
      await waitFor('passivated', () => !rig.server.isActive('test', k));
      expect(await rig.client.ask('test', k, 'incr', { by: 2 }, { id: 'op-1' })).toBe(2);
      expect(await rig.client.ask('test', k, 'get')).toBe(2);
      expect(rig.server.kindStats('test').duplicates).toBe(1);
    });

    if (kit.name === 'nats') {
      it('nats - garbage bytes and unknown versions on a shard subject are counted and dropped; the node keeps serving', async () => {
        rig = await makeRig(kit);
        const k = hostedKey(13);
        const shard = shardOf('test', k, S);
        await rig.publishRaw!(shard, new TextEncoder().encode('this is not msgpack \u0000\u00ff'));
        await rig.publishRaw!(shard, new Uint8Array([0xc1]));
        const future = encodeMessage({ v: ENVELOPE_VERSION, id: 'x', kind: 'test', key: k, shard, epoch: 0, type: 'incr', deadline: 0, trace: '', body: {} }, 0);
        future[1] = 99; // the version is the array's first element: a positive fixint
        await rig.publishRaw!(shard, future);
        await waitFor('3 frames refused', () => rig.server.stats.malformed === 3, { describe: () => rig.server.stats });
        expect(await rig.client.ask('test', k, 'incr')).toBe(1);
      });
    }
  });
}
