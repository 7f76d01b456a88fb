import { DeadlineExceeded } from './errors.js';
import type { Clock, Reply } from './types.js';

interface PendingAsk {
  resolve(v: unknown): void;
  reject(e: unknown): void;
  deadline: number;
  /** Resolve with the whole reply (value, node, epoch) rather than the value. */
  full: boolean;
  kind: string;
  key: string;
  shard: number;
}

/**
 * Asks in flight on one node: one map from ask id to its promise, and one timer that
 * expires them by deadline bucket (instead of a timer, or a NATS request, per ask).
 */
export class AskRegistry {
  private readonly pending = new Map<number, PendingAsk>();
  /** Deadline bucket (deadline / tick, rounded up) → ask ids; cleaned lazily. */
  private readonly buckets = new Map<number, number[]>();
  private nextId = 1;
  private timer: NodeJS.Timeout | null = null;
  private swept = 0;

  constructor(
    private readonly clock: Clock,
    private readonly tickMs: number,
  ) {}

  get size(): number {
    return this.pending.size;
  }

  /** Registers an ask; returns its id and the promise of its answer. */
  open<R>(deadline: number, full: boolean, kind: string, key: string, shard: number): { id: number; promise: Promise<R> } {
    const id = this.nextId++;
    let p!: PendingAsk;
    const promise = new Promise<R>((resolve, reject) => {
      p = { resolve: resolve as (v: unknown) => void, reject, deadline, full, kind, key, shard };
    });
    this.pending.set(id, p);
    if (this.timer === null) {
      this.swept = Math.floor(this.clock.now() / this.tickMs);
      this.timer = setInterval(() => this.sweep(), this.tickMs);
    }
    // A deadline already behind the sweep cursor expires at the next tick.
    const b = Math.max(Math.ceil(deadline / this.tickMs), this.swept);
    const list = this.buckets.get(b);
    if (list) list.push(id);
    else this.buckets.set(b, [id]);
    return { id, promise };
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

  /** What an ask was addressed to, for error messages. */
  target(id: number): { kind: string; key: string; shard: number } | undefined {
    return this.pending.get(id);
  }

  /** Fails every pending ask (system shutdown). */
  failAll(err: Error): void {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    this.buckets.clear();
    this.stop();
  }

  /** Expires asks whose deadline bucket has passed. */
  sweep(): void {
    const now = Math.floor(this.clock.now() / this.tickMs);
    for (let b = this.swept; b <= now; b++) {
      const ids = this.buckets.get(b);
      if (ids === undefined) continue;
      this.buckets.delete(b);
      for (const id of ids) {
        const p = this.pending.get(id);
        if (p === undefined) continue;
        this.pending.delete(id);
        p.reject(new DeadlineExceeded(`ask to ${p.kind}/${p.key} (shard ${p.shard}) got no answer before its deadline`, { kind: p.kind, key: p.key, shard: p.shard }));
      }
    }
    this.swept = now;
    if (this.pending.size === 0) {
      this.buckets.clear();
      this.stop();
    }
  }

  private stop(): void {
    if (this.timer !== null) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }
}
