import { describe, expect, it } from 'vitest';
import { Dispatcher } from './dispatcher.js';
import { Mailbox, type Invoker } from './mailbox.js';

type Sys = string;

class StubInvoker implements Invoker<number, Sys> {
  seen: Array<number | string> = [];
  failures: Array<[number | string, unknown]> = [];
  idles = 0;
  handler: (m: number) => unknown = () => undefined;
  invoke(m: number): unknown {
    this.seen.push(m);
    return this.handler(m);
  }
  invokeSystem(m: Sys): unknown {
    this.seen.push(m);
    return undefined;
  }
  failed(m: number | Sys, err: unknown): void {
    this.failures.push([m, err]);
  }
  idle(): void {
    this.idles++;
  }
}

const tick = () => new Promise((r) => setImmediate(r));

describe('mailbox', () => {
  it('mailbox - runs messages in arrival order, system messages first', async () => {
    const inv = new StubInvoker();
    const mb = new Mailbox<number, Sys>(inv, new Dispatcher(100), 100);
    mb.post(1);
    mb.post(2);
    mb.postSystem('sys');
    mb.post(3);
    await tick();
    expect(inv.seen).toEqual(['sys', 1, 2, 3]);
    expect(inv.idles).toBe(1);
  });

  it('mailbox - a full mailbox refuses instead of blocking or dropping', async () => {
    const inv = new StubInvoker();
    const mb = new Mailbox<number, Sys>(inv, new Dispatcher(100), 3);
    expect([mb.post(1), mb.post(2), mb.post(3), mb.post(4)]).toEqual([true, true, true, false]);
    await tick();
    expect(inv.seen).toEqual([1, 2, 3]);
    expect(mb.post(5)).toBe(true);
  });

  it('mailbox - an async handler holds the next message until its promise settles', async () => {
    const inv = new StubInvoker();
    const order: string[] = [];
    let release!: () => void;
    inv.handler = (m) => {
      order.push(`start ${m}`);
      if (m === 1) return new Promise<void>((r) => (release = () => { order.push('end 1'); r(); }));
      return undefined;
    };
    const mb = new Mailbox<number, Sys>(inv, new Dispatcher(100), 10);
    mb.post(1);
    mb.post(2);
    await tick();
    expect(order).toEqual(['start 1']);
    expect(mb.busy).toBe(true);
    release();
    await tick();
    expect(order).toEqual(['start 1', 'end 1', 'start 2']);
  });

  it('mailbox - a throwing or rejecting handler goes to supervision and the runner continues', async () => {
    const inv = new StubInvoker();
    inv.handler = (m) => {
      if (m === 1) throw new Error('sync');
      if (m === 2) return Promise.reject(new Error('async'));
      return undefined;
    };
    const mb = new Mailbox<number, Sys>(inv, new Dispatcher(100), 10);
    mb.post(1);
    mb.post(2);
    mb.post(3);
    await tick();
    await tick();
    expect(inv.seen).toEqual([1, 2, 3]);
    expect(inv.failures.map(([m, e]) => [m, (e as Error).message])).toEqual([[1, 'sync'], [2, 'async']]);
  });

  it('mailbox - suspended user messages wait while system messages run', async () => {
    const inv = new StubInvoker();
    const mb = new Mailbox<number, Sys>(inv, new Dispatcher(100), 10);
    mb.suspend();
    mb.post(1);
    mb.postSystem('activate');
    await tick();
    expect(inv.seen).toEqual(['activate']);
    mb.resume();
    await tick();
    expect(inv.seen).toEqual(['activate', 1]);
  });

  it('mailbox - yields after its throughput budget so other mailboxes get a turn', async () => {
    const a = new StubInvoker();
    const b = new StubInvoker();
    const log: string[] = [];
    a.handler = (m) => void log.push(`a${m}`);
    b.handler = (m) => void log.push(`b${m}`);
    const d = new Dispatcher(2);
    const ma = new Mailbox<number, Sys>(a, d, 100);
    const mbx = new Mailbox<number, Sys>(b, d, 100);
    for (let i = 0; i < 4; i++) ma.post(i);
    for (let i = 0; i < 4; i++) mbx.post(i);
    await tick();
    expect(log).toEqual(['a0', 'a1', 'b0', 'b1', 'a2', 'a3', 'b2', 'b3']);
  });

  it('mailbox - a message posted by the running handler runs once, after it', async () => {
    const inv = new StubInvoker();
    const d = new Dispatcher(100);
    const mb = new Mailbox<number, Sys>(inv, d, 100);
    inv.handler = (m) => {
      if (m < 3) mb.post(m + 1);
      return undefined;
    };
    mb.post(1);
    await tick();
    expect(inv.seen).toEqual([1, 2, 3]);
  });

  it('mailbox - takeAll hands over queued messages', () => {
    const inv = new StubInvoker();
    const mb = new Mailbox<number, Sys>(inv, new Dispatcher(100), 10);
    mb.suspend();
    mb.post(1);
    mb.post(2);
    expect(mb.takeAll()).toEqual([1, 2]);
    expect(mb.size).toBe(0);
  });
});
