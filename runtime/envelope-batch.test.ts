import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { EnvelopeBatch } from './envelope-batch.js';
import { decodeFrame, encodeBatch, ENVELOPE_VERSION, FrameError, FrameType, newEnvelope } from './envelope.js';
import { IdSequence } from './id-sequence.js';
import type { Envelope } from './types.js';

const packr = new Packr({ moreTypes: true, useRecords: false });

function batchEnvs(bytes: Uint8Array): Envelope[] {
  const f = decodeFrame(bytes, 0);
  if (f.type !== 'batch') throw new Error(`expected a batch frame, got ${f.type}`);
  return f.envs;
}

describe('envelope batch', () => {
  it('envelope batch - ids are prefix + n across thousand-blocks, as plain concatenation', () => {
    const seq = new IdSequence('n.x.', 995);
    const got = Array.from({ length: 2010 }, () => seq.next());
    expect(got).toEqual(Array.from({ length: 2010 }, (_, i) => `n.x.${995 + i}`));
    expect(seq.take(5)).toBe(3005);
    expect(seq.next()).toBe('n.x.3010');
  });

  it('envelope batch - envelopes of any shape survive a batch frame exactly', () => {
    const envs = [
      newEnvelope('a1', 'user', 'u1', 4, 2, 'rate', 0, '', { item: 'i9', score: 4.5 }),
      newEnvelope('b7', 'title', 'u2', 4, 3, 'seen', Date.now() + 1000, 'tr', new Float32Array([1, 2])),
      newEnvelope('c', 'user', 'u3', 5, 2, 'rate', 0, '', undefined),
    ];
    const back = batchEnvs(encodeBatch(EnvelopeBatch.of(4, envs), 0));
    expect(back).toEqual(envs);
    expect(back[1]!.body).toBeInstanceOf(Float32Array);
    expect(EnvelopeBatch.of(4, envs).envelopes()).toEqual(envs);
  });

  it('envelope batch - shared fields are sent once, and numbered ids as their first number', () => {
    const b = new EnvelopeBatch(7, 0, 't');
    for (let i = 0; i < 100; i++) b.add('user', `k${i}`, 'incr', { by: i });
    b.numberIds('n1.abc.', 1_000_000);
    const [, , count, prefix, first, kinds, , shards, , types, , traces] = packr.unpack(encodeBatch(b, 0)) as unknown[];
    expect([count, prefix, first, kinds, shards, types, traces]).toEqual([100, 'n1.abc.', 1_000_000, 'user', 7, 'incr', 't']);
    const envs = batchEnvs(encodeBatch(b, 0));
    expect(envs[99]).toEqual(newEnvelope('n1.abc.1000099', 'user', 'k99', 7, 0, 'incr', 0, 't', { by: 99 }));
    expect(b.envelopes()).toEqual(envs);
  });

  it('envelope batch - a kind or type that changes mid-batch becomes a list', () => {
    const b = new EnvelopeBatch(1);
    b.add('user', 'a', 'x', 1);
    b.add('user', 'b', 'x', 2);
    b.add('title', 'c', 'y', 3);
    b.numberIds('p.', 0);
    expect([b.kinds, b.types]).toEqual([['user', 'user', 'title'], ['x', 'x', 'y']]);
    expect(batchEnvs(encodeBatch(b, 0)).map((e) => [e.id, e.kind, e.key, e.type, e.body])).toEqual([
      ['p.0', 'user', 'a', 'x', 1],
      ['p.1', 'user', 'b', 'x', 2],
      ['p.2', 'title', 'c', 'y', 3],
    ]);
  });

  it('envelope batch - a batch without ids is refused before it is sent', () => {
    const b = new EnvelopeBatch(1);
    b.add('user', 'a', 'x', 1);
    expect(() => encodeBatch(b, 0)).toThrow(/has 0 ids/);
    expect(() => b.envelopes()).toThrow(/has 0 ids/);
  });

  it('envelope batch - frames whose columns disagree with the count are refused', () => {
    const frame = (over: Record<number, unknown>) => {
      const a: unknown[] = [ENVELOPE_VERSION, FrameType.Batch, 2, 'p.', 0, 'user', ['a', 'b'], 1, 0, 'x', 0, '', [1, 2]];
      for (const [i, v] of Object.entries(over)) a[Number(i)] = v;
      return packr.pack(a);
    };
    expect(batchEnvs(frame({})).map((e) => e.id)).toEqual(['p.0', 'p.1']);
    expect(() => decodeFrame(frame({ 6: ['a'] }), 0)).toThrow(FrameError);
    expect(() => decodeFrame(frame({ 5: ['user'] }), 0)).toThrow(FrameError);
    expect(() => decodeFrame(frame({ 4: -1 }), 0)).toThrow(FrameError);
    expect(() => decodeFrame(frame({ 4: ['only-one'] }), 0)).toThrow(FrameError);
    expect(() => decodeFrame(frame({ 9: 7 }), 0)).toThrow(FrameError);
    expect(() => decodeFrame(frame({ 12: 'not a list' }), 0)).toThrow(FrameError);
    expect(() => decodeFrame(packr.pack([ENVELOPE_VERSION, FrameType.Batch, 2]), 0)).toThrow(FrameError);
  });
});
