import type { EnvelopeBatch } from './envelope-batch.js';
import { DeadlineExceeded } from './errors.js';
import type { Clock, Envelope, Reply } from './types.js';

/** One ask in flight. */
export interface PendingAsk {
  resolve(v: unknown): void;
  reject(e: unknown): void;
  /** On this node's monotonic clock. */
  deadline: number;
  /** Resolve with the whole reply (value, node, epoch) rather than the value. */
  full: boolean;
  /** The message, kept for retries (same id). */
  env: Envelope;
  /** Next time the registry wakes this ask: its deadline, or an earlier retry. */
  wakeAt: number;
  /** Attempts sent so far since its shard's owner last changed: the retry backoff doubles with it. */
  attempts: number;
  /** Refused, waiting to be sent again: at its retry timer, or as soon as its shard's new owner is known. */
  parked: boolean;
  /** For a batch of asks to one shard (`env` then stands for the whole): the messages, resent as one frame. */
  batch: EnvelopeBatch | undefined;
}

/**
 * Asks in flight on one node: one map from ask id to its promise, and one timer that
 * wakes them by time bucket (instead of a timer, or a NATS request, per ask). A woken ask
 * past its deadline fails with `DeadlineExceeded`; one woken earlier is handed to
 * `onWake` to be sent again.
 */
export class AskRegistry {
  private readonly pending = new Map<number, PendingAsk>();
  /** Time bucket (ms / tick, rounded up) → ask ids; cleaned lazily. */
  private readonly buckets = new Map<number, number[]>();
  private nextId = 1;
  private timer: NodeJS.Timeout | null = null;
  private swept = 0;

  constructor(
    private readonly clock: Clock,
    private readonly tickMs: number,
    private readonly onWake: (id: number, p: PendingAsk) => void,
  ) {}

  get size(): number {
    return this.pending.size;
  }

  /** Registers an ask woken at `wakeAt` (at the latest its deadline); returns its id and the promise of its answer. */
  open<R>(env: Envelope, deadline: number, full: boolean, wakeAt: number, batch?: EnvelopeBatch): { id: number; promise: Promise<R> } {
    const id = this.nextId++;
    let p!: PendingAsk;
    const promise = new Promise<R>((resolve, reject) => {
      p = { resolve: resolve as (v: unknown) => void, reject, deadline, full, env, wakeAt: Math.min(wakeAt, deadline), attempts: 1, parked: false, batch };
    });
    this.pending.set(id, p);
    this.bucket(id, p.wakeAt);
    return { id, promise };
  }

  get(id: number): PendingAsk | undefined {
    return this.pending.get(id);
  }

  /** Every pending ask, by id (a scan: for rare events, not per message). */
  entries(): IterableIterator<[number, PendingAsk]> {
    return this.pending.entries();
  }

  /** Wakes the ask at `at` (capped at its deadline). */
  wakeAt(id: number, p: PendingAsk, at: number): void {
    p.wakeAt = Math.min(at, p.deadline);
    this.bucket(id, p.wakeAt);
  }

  /** Settles an ask with its reply; a late or unknown id is ignored (returns false). */
  settle(id: number, reply: Reply): boolean {
    const p = this.pending.get(id);
    if (p === undefined) return false;
    this.pending.delete(id);
    if (reply.error !== undefined) p.reject(reply.error);
    else p.resolve(p.full ? reply : reply.value);
    return true;
  }

  /** Fails every pending ask (system shutdown). */
  failAll(err: Error): void {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    this.buckets.clear();
    this.stop();
  }

  /** Wakes asks whose time has come. */
  sweep(): void {
    const now = this.clock.monoMs();
    const last = Math.floor(now / this.tickMs);
    for (let b = this.swept; b <= last; b++) {
      const ids = this.buckets.get(b);
      if (ids === undefined) continue;
      this.buckets.delete(b);
      for (const id of ids) {
        const p = this.pending.get(id);
        // Gone (answered), or moved to a later wake: nothing to do here.
        if (p === undefined || p.wakeAt > now) continue;
        if (now >= p.deadline) {
          this.pending.delete(id);
          const e = p.env;
          p.reject(new DeadlineExceeded(`ask ${e.type} to ${e.kind}/${e.key} (shard ${e.shard}) got no answer before its deadline`, { kind: e.kind, key: e.key, shard: e.shard }));
        } else {
          this.onWake(id, p);
        }
      }
    }
    this.swept = last;
    if (this.pending.size === 0) {
      this.buckets.clear();
      this.stop();
    }
  }

  private bucket(id: number, at: number): void {
    if (this.timer === null) {
      this.swept = Math.floor(this.clock.monoMs() / this.tickMs);
      this.timer = setInterval(() => this.sweep(), this.tickMs);
    }
    // A time already behind the sweep cursor is handled at the next tick.
    const b = Math.max(Math.ceil(at / this.tickMs), this.swept);
    const list = this.buckets.get(b);
    if (list) list.push(id);
    else this.buckets.set(b, [id]);
  }

  private stop(): void {
    if (this.timer !== null) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }
}
