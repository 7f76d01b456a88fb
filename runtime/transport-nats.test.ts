import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NatsConnection } from '@nats-io/transport-node';
import { startNatsServer, uniquePrefix } from '../test/harness/nats-server.js';
import type { NatsServerHandle } from '../test/harness/nats-server.js';
import { systemClock } from './clock.js';
import { ENVELOPE_VERSION, encodeValue } from './envelope.js';
import { Closed, InvalidArgument, NoRoute } from './errors.js';
import { NatsTransport, connectNats } from './transport-nats.js';
import type { Envelope, InboundSink, Reply } from './types.js';

const WAIT_MS = 5_000;

/** A sink that records every call and lets a test wait until a condition over them holds. */
class RecordingSink implements InboundSink {
  readonly clock = systemClock;
  readonly incarnation = 'test';
  readonly delivered: Envelope[] = [];
  readonly settled: { askId: number; reply: Reply }[] = [];
  readonly malformedReasons: string[] = [];
  readonly batchAsks: { envs: Envelope[]; replyTo: unknown }[] = [];
  #waiters: { check: () => boolean; resolve: () => void }[] = [];

  deliver(env: Envelope): undefined {
    this.delivered.push(env);
    this.#wake();
    return undefined;
  }
  deliverAsks(envs: Envelope[], replyTo: unknown): void {
    this.batchAsks.push({ envs, replyTo });
    this.#wake();
  }
  settle(askId: number, reply: Reply): void {
    this.settled.push({ askId, reply });
    this.#wake();
  }
  malformed(reason: string): void {
    this.malformedReasons.push(reason);
    this.#wake();
  }

  /** Resolves once `check()` holds; fails naming `phase` and the recorded state after WAIT_MS. */
  until(phase: string, check: () => boolean): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(
          new Error(
            `timed out in phase '${phase}': delivered=${this.delivered.length} settled=${this.settled.length} malformed=${this.malformedReasons.length}`,
          ),
        );
      }, WAIT_MS);
      this.#waiters.push({ check, resolve: () => (clearTimeout(timer), resolve()) });
    });
  }

  settledFor(askId: number): Reply | undefined {
    return this.settled.find((s) => s.askId === askId)?.reply;
  }

  #wake(): void {
    this.#waiters = this.#waiters.filter((w) => (w.check() ? (w.resolve(), false) : true));
  }
}

let seq = 0;
function env(shard: number, body: unknown = { n: seq }, type = 'ping'): Envelope {
  seq++;
  return { v: ENVELOPE_VERSION, id: `m${seq}`, kind: 'user', key: `k${seq}`, shard, epoch: 3, type, deadline: 0, trace: '', body };
}

describe('transport-nats', () => {
  let server: NatsServerHandle;
  let ncA: NatsConnection;
  let ncB: NatsConnection;
  let a: NatsTransport;
  let b: NatsTransport;
  const sinkA = new RecordingSink();
  const sinkB = new RecordingSink();
  let prefix: string;

  beforeAll(async () => {
    server = await startNatsServer({ jetstream: false });
    prefix = uniquePrefix('tn');
    ncA = await connectNats({ servers: server.url, name: 'a' });
    ncB = await connectNats({ servers: server.url, name: 'b' });
    a = new NatsTransport(ncA, { prefix });
    b = new NatsTransport(ncB, { prefix });
    await a.attach('a', sinkA);
    await b.attach('b', sinkB);
    await b.host([1, 2]);
  });

  afterAll(async () => {
    await a?.close();
    await b?.close();
    await ncA?.close();
    await ncB?.close();
    await server?.stop();
  });

  it('transport-nats - an ask reaches the host with a replyTo and the reply settles on the asker', async () => {
    const sent = env(1, { hello: 'world', n: 7 });
    a.send(sent, 1);
    await sinkB.until('deliver ask', () => sinkB.delivered.some((e) => e.id === sent.id));
    const got = sinkB.delivered.find((e) => e.id === sent.id)!;
    const { replyTo, ...rest } = got;
    expect(rest).toEqual(sent);
    expect(typeof replyTo).toBe('string');

    b.reply(replyTo, { node: 'b', epoch: 3, value: { ok: true } });
    await sinkA.until('settle ask 1', () => sinkA.settledFor(1) !== undefined);
    expect(sinkA.settledFor(1)).toEqual({ node: 'b', epoch: 3, value: { ok: true } });
  });

  it('transport-nats - typed array bodies and reply values round-trip as typed arrays', async () => {
    const body = { f32: new Float32Array([1.5, -2, 3.25]), u8: new Uint8Array([0, 255, 7]), f64: new Float64Array([Math.PI]) };
    const sent = env(1, body);
    a.send(sent, 2);
    await sinkB.until('deliver typed arrays', () => sinkB.delivered.some((e) => e.id === sent.id));
    const got = sinkB.delivered.find((e) => e.id === sent.id)!.body as typeof body;
    expect(got.f32).toBeInstanceOf(Float32Array);
    expect(got.u8).toBeInstanceOf(Uint8Array);
    expect(got.f64).toBeInstanceOf(Float64Array);
    expect(Array.from(got.f32)).toEqual([1.5, -2, 3.25]);
    expect(Array.from(got.u8)).toEqual([0, 255, 7]);
    expect(Array.from(got.f64)).toEqual([Math.PI]);

    b.reply(sinkB.delivered.find((e) => e.id === sent.id)!.replyTo, { node: 'b', epoch: 3, value: new Float32Array([9]) });
    await sinkA.until('settle ask 2', () => sinkA.settledFor(2) !== undefined);
    expect(sinkA.settledFor(2)!.value).toBeInstanceOf(Float32Array);
  });

  it('transport-nats - an error reply crosses as its typed class', async () => {
    const sent = env(1);
    a.send(sent, 3);
    await sinkB.until('deliver ask 3', () => sinkB.delivered.some((e) => e.id === sent.id));
    b.reply(sinkB.delivered.find((e) => e.id === sent.id)!.replyTo, { node: 'b', epoch: 3, error: new InvalidArgument('bad', { key: 'k' }) });
    await sinkA.until('settle ask 3', () => sinkA.settledFor(3) !== undefined);
    const err = sinkA.settledFor(3)!.error!;
    expect(err).toBeInstanceOf(InvalidArgument);
    expect(err.key).toBe('k');
    expect(err.node).toBe('b');
  });

  it('transport-nats - an ask to an unhosted shard settles with NoRoute at once', async () => {
    const started = Date.now();
    a.send(env(3), 4);
    await sinkA.until('settle NoRoute for shard 3', () => sinkA.settledFor(4) !== undefined);
    expect(sinkA.settledFor(4)!.error).toBeInstanceOf(NoRoute);
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('transport-nats - a tell arrives without replyTo', async () => {
    const sent = env(2);
    a.send(sent);
    await sinkB.until('deliver tell', () => sinkB.delivered.some((e) => e.id === sent.id));
    const got = sinkB.delivered.find((e) => e.id === sent.id)!;
    expect(got.replyTo).toBeUndefined();
    expect(got).toEqual(sent);
  });

  it('transport-nats - a batch of 1000 arrives as 1000 delivers in order', async () => {
    const before = sinkB.delivered.length;
    const envs = Array.from({ length: 1000 }, (_, i) => env(2, { i }, 'push'));
    a.sendBatch(2, envs);
    await sinkB.until('deliver batch', () => sinkB.delivered.length >= before + 1000);
    const got = sinkB.delivered.slice(before);
    expect(got.map((e) => e.id)).toEqual(envs.map((e) => e.id));
    expect(got.every((e) => e.replyTo === undefined)).toBe(true);
    expect(got[999]).toEqual(envs[999]);
  });

  it('transport-nats - a batch sent as an ask arrives whole with one reply address, and its one reply settles that ask', async () => {
    const envs = Array.from({ length: 300 }, (_, i) => env(2, { i }, 'push'));
    a.sendBatch(2, envs, 77);
    await sinkB.until('deliver batch ask', () => sinkB.batchAsks.length === 1);
    const { envs: got, replyTo } = sinkB.batchAsks[0]!;
    expect(got.map((e) => e.id)).toEqual(envs.map((e) => e.id));
    expect(got[299]!.body).toEqual({ i: 299 });
    expect(typeof replyTo).toBe('string');
    b.reply(replyTo, { node: 'b', epoch: 3, value: got.map((e) => [e.id]) });
    await sinkA.until('settle batch ask', () => sinkA.settled.some((s) => s.askId === 77));
    expect(sinkA.settled.find((s) => s.askId === 77)!.reply).toEqual({ node: 'b', epoch: 3, value: envs.map((e) => [e.id]) });
  });

  it('transport-nats - garbage and an unknown version are reported as malformed and reception goes on', async () => {
    const before = sinkB.malformedReasons.length;
    const malformedBefore = b.stats.malformed;
    ncA.publish(`${prefix}.s.1`, new Uint8Array([0xc1, 0xff, 0x00, 0x13]));
    ncA.publish(`${prefix}.s.1`, encodeValue([99, 1, 'id', 'user', 'k', 1, 0, 'ping', 0, '', null]));
    // A node of the previous version (absolute deadlines): refused, saying why.
    ncA.publish(`${prefix}.s.1`, encodeValue([2, 1, 'id', 'user', 'k', 1, 0, 'ping', Date.now() + 5000, '', null]));
    const after = env(1);
    a.send(after);
    await sinkB.until('malformed then deliver', () => sinkB.malformedReasons.length >= before + 3 && sinkB.delivered.some((e) => e.id === after.id));
    const reasons = sinkB.malformedReasons.slice(before);
    expect(reasons).toHaveLength(3);
    expect(reasons[1]).toMatch(/version 99/);
    expect(reasons[2]).toContain(`envelope version 2 from an older reel; this node speaks ${ENVELOPE_VERSION}: every node and client of a cluster must run the same version`);
    expect(b.stats.malformed).toBe(malformedBefore + 3);
  });

  it('transport-nats - after unhost an ask settles with NoRoute; hosting twice is a no-op', async () => {
    await b.host([2, 2]);
    await b.unhost([1]);
    a.send(env(1), 5);
    await sinkA.until('settle NoRoute after unhost', () => sinkA.settledFor(5) !== undefined);
    expect(sinkA.settledFor(5)!.error).toBeInstanceOf(NoRoute);

    // shard 2 is still hosted, by exactly one subscription
    const before = sinkB.delivered.length;
    const sent = env(2);
    a.send(sent);
    await a.flush();
    await sinkB.until('deliver after unhost', () => sinkB.delivered.some((e) => e.id === sent.id));
    await b.flush();
    expect(sinkB.delivered.length).toBe(before + 1);
  });

  it('transport-nats - counters count frames and bytes both ways', () => {
    expect(a.stats.framesOut).toBeGreaterThan(0);
    expect(a.stats.bytesOut).toBeGreaterThan(0);
    expect(b.stats.framesIn).toBeGreaterThan(0);
    expect(b.stats.bytesIn).toBeGreaterThan(0);
    expect(a.stats.framesIn).toBeGreaterThan(0);
  });

  it('transport-nats - a node id that is not one subject token is refused', async () => {
    const t = new NatsTransport(ncA, { prefix });
    await expect(t.attach('a.b', new RecordingSink())).rejects.toBeInstanceOf(InvalidArgument);
    await expect(t.attach('x*', new RecordingSink())).rejects.toBeInstanceOf(InvalidArgument);
    await expect(t.attach('', new RecordingSink())).rejects.toBeInstanceOf(InvalidArgument);
    await t.close();
  });

  it('transport-nats - an owned connection closes with the transport and sends then throw Closed', async () => {
    const t = await NatsTransport.connect({ servers: server.url }, { prefix });
    await t.attach('c', new RecordingSink());
    await t.close();
    await expect(t.closed).resolves.toBeUndefined();
    expect(() => t.send(env(1))).toThrow(Closed);
  });

  it('transport-nats - a borrowed connection closing closes the transport', async () => {
    const nc = await connectNats({ servers: server.url });
    const t = new NatsTransport(nc, { prefix });
    await nc.close();
    await expect(t.closed).resolves.toBeUndefined();
    expect(() => t.send(env(1))).toThrow(Closed);
  });
});
