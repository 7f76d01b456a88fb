import { describe, expect, it } from 'vitest';
import { testActorFactory } from '../test/fixtures/actors.js';
import { AppliedWindow } from './applied-window.js';
import { ManualClock } from './clock.js';
import { newEnvelope } from './envelope.js';
import { ActorSystem } from './system.js';
import type { Envelope } from './types.js';

const MARGIN = 10_000;
const MAX_DEADLINE = 30_000;

/** An ask with id `id` whose deadline is `deadline` (monotonic ms). */
function ask(id: string, deadline: number, replyTo: unknown = id): Envelope {
  const e = newEnvelope(id, 'test', 'k', 0, 1, 'apply', deadline, '', undefined);
  e.replyTo = replyTo;
  return e;
}

describe('applied window', () => {
  it('applied window - an id is kept until its deadline plus the margin, then forgotten', () => {
    const w = new AppliedWindow(1000, MARGIN, MAX_DEADLINE);
    expect(w.admit(ask('a', 5_000), 0)).toBeUndefined();
    w.answered('a', 7, 100);
    expect(w.seen('a', 14_999)).toEqual({ value: 7 });
    expect(w.seen('a', 15_001)).toBeUndefined();
  });

  it('applied window - a deadline beyond the longest one is cut to it (a frame cannot pin an id for ever)', () => {
    const w = new AppliedWindow(1000, MARGIN, MAX_DEADLINE);
    w.admit(ask('a', 1e15), 0);
    w.answered('a', undefined, 1);
    expect(w.seen('a', MAX_DEADLINE + MARGIN - 1)).toEqual({ value: undefined });
    expect(w.seen('a', MAX_DEADLINE + MARGIN + 1)).toBeUndefined();
  });

  it('applied window - a copy in progress waits for the answer; released, it is handed back to run', () => {
    const w = new AppliedWindow(1000, MARGIN, MAX_DEADLINE);
    w.admit(ask('a', 5_000, 'r1'), 0);
    expect(w.admit(ask('a', 5_000, 'r2'), 1)).toBe('in-progress');
    expect(w.answered('a', 3, 2).map((e) => e.replyTo)).toEqual(['r2']);
    expect(w.admit(ask('a', 5_000, 'r3'), 3)).toEqual({ value: 3 });
    w.admit(ask('b', 5_000, 'r1'), 0);
    w.admit(ask('b', 5_000, 'r2'), 0);
    expect(w.release('b').map((e) => e.replyTo)).toEqual(['r2']);
    expect(w.seen('b', 1)).toBeUndefined();
  });

  it('applied window - an answer written with its effect stands: neither a later error nor a release removes it', () => {
    const w = new AppliedWindow(1000, MARGIN, MAX_DEADLINE);
    w.admit(ask('a', 5_000), 0);
    w.answered('a', 'done', 1);
    w.failed('a', { code: 'HandlerFailed', message: 'x' }, 2);
    expect(w.release('a')).toEqual([]);
    expect(w.seen('a', 3)).toEqual({ value: 'done' });
  });

  it('applied window - past its cap it refuses new asks rather than forget one', () => {
    const w = new AppliedWindow(3, MARGIN, MAX_DEADLINE);
    for (const id of ['a', 'b', 'c']) w.admit(ask(id, 5_000), 0);
    expect(w.admit(ask('d', 5_000), 1)).toBe('full');
    expect(w.seen('a', 1)).toBe('in-progress');
    // Once the others expire, there is room again.
    expect(w.admit(ask('d', 20_000), 16_000)).toBeUndefined();
  });

  it('applied window - expired entries go as new asks come: the map stays near its live size', () => {
    const w = new AppliedWindow(1_000_000, MARGIN, MAX_DEADLINE);
    // 1,000 asks per second for 60 s, each with a 5 s deadline: 15 s of them are live at any time.
    for (let t = 0; t < 60_000; t++) {
      const id = `x${t}`;
      w.admit(ask(id, t + 5_000), t);
      w.answered(id, undefined, t);
    }
    expect(w.size).toBeLessThan(16_500);
  });

  it('applied window - snapshots carry what may still be retried, and the ask being written; an older snapshot reads too', () => {
    const w = new AppliedWindow(1000, MARGIN, MAX_DEADLINE);
    w.admit(ask('done', 5_000), 0);
    w.answered('done', 1, 0);
    w.admit(ask('failed', 5_000), 0);
    w.failed('failed', { code: 'OutOfStock', message: 'none' }, 0);
    w.admit(ask('running', 5_000), 0);
    w.admit(ask('writing', 5_000), 0);
    const entries = w.entries(1_000, { id: 'writing', answer: 'w' });
    expect(entries).toEqual([
      ['done', 14_000, 1],
      ['failed', 14_000, undefined, { code: 'OutOfStock', message: 'none' }],
      ['writing', 14_000, 'w'],
    ]);
    expect(w.seen('writing', 1_000)).toBe('in-progress');
    const r = new AppliedWindow(1000, MARGIN, MAX_DEADLINE);
    r.load({ data: undefined, epoch: 1, savedAt: 0, applied: entries }, 50_000);
    expect(r.seen('done', 63_999)).toEqual({ value: 1 });
    expect(r.seen('failed', 50_000)).toEqual({ error: { code: 'OutOfStock', message: 'none' } });
    const old = new AppliedWindow(1000, MARGIN, MAX_DEADLINE);
    old.load({ data: undefined, epoch: 1, savedAt: 0, dedup: [['v', undefined], ['e', undefined, { code: 'X', message: 'y' }]] }, 0);
    expect(old.seen('v', 1)).toEqual({ value: undefined });
    expect(old.seen('e', 1)).toEqual({ error: { code: 'X', message: 'y' } });
  });
});

describe('applied asks on a node', () => {
  it('applied window - the idle sweep forgets expired asks of actors that got no more (a burst, then silence), and passivates nothing by itself', async () => {
    const clock = new ManualClock({ monoMs: 1_000 });
    const system = new ActorSystem({ nodeId: 'n', shardCount: 4, clock, dedupMaxEntries: 1_000, dedupMarginMs: MARGIN, idlePassivateMs: 0 });
    system.register('test', testActorFactory);
    await system.start();
    try {
      // A bulk load sorted by key: each actor's asks come in one burst, and never again.
      for (const key of ['a', 'b']) for (let i = 0; i < 50; i++) await system.ask('test', key, 'incr', undefined, { deadlineMs: 5_000 });
      expect(system.rememberedAsks).toBe(100);
      clock.advance(5_000 + MARGIN - 10);
      await system.ask('test', 'b', 'incr', undefined, { deadlineMs: 5_000 });
      system.sweepIdle();
      // Nothing has expired yet: a copy of any of them may still come.
      expect(system.rememberedAsks).toBe(101);
      clock.advance(20);
      system.sweepIdle();
      expect(system.rememberedAsks).toBe(1);
      expect(system.activeActors).toBe(2);
      clock.advance(5_000 + MARGIN);
      system.sweepIdle();
      expect(system.rememberedAsks).toBe(0);
      // The state is intact and a new ask is remembered again.
      expect(await system.ask('test', 'a', 'get')).toBe(50);
      expect(system.rememberedAsks).toBe(1);
    } finally {
      await system.stop();
    }
  });

  it('applied window - asks of a type registered as a read are not remembered; a copy runs again, while a write of the same id applies once', async () => {
    const system = new ActorSystem({ nodeId: 'n', shardCount: 4, dedupMaxEntries: 1_000, dedupMarginMs: MARGIN });
    system.register('test', testActorFactory, { reads: ['get'] });
    await system.start();
    try {
      for (let i = 0; i < 20; i++) expect(await system.ask('test', 'a', 'get', undefined, { deadlineMs: 5_000 })).toBe(0);
      expect(system.rememberedAsks).toBe(0);
      // The same id twice: a write is answered from memory the second time, a read runs twice.
      expect(await system.ask('test', 'a', 'incr', undefined, { id: 'w1' })).toBe(1);
      expect(await system.ask('test', 'a', 'incr', undefined, { id: 'w1' })).toBe(1);
      expect(system.rememberedAsks).toBe(1);
      expect(await system.ask('test', 'a', 'get', undefined, { id: 'r1' })).toBe(1);
      await system.ask('test', 'a', 'incr');
      expect(await system.ask('test', 'a', 'get', undefined, { id: 'r1' })).toBe(2);
      expect(system.rememberedAsks).toBe(2);
    } finally {
      await system.stop();
    }
  });
});
