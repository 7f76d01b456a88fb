import { performance } from 'node:perf_hooks';
import { percentile } from './common.js';

/**
 * What one ask of the generator resolves with; a rejection counts as a failed ask. `i` is the
 * ask's sequence number: the callback may label the ask by setting `tag[i]` of its generator.
 */
export type AskOnce = (i: number) => Promise<unknown>;

/** Which asks of a window count, by their tag (see `OpenLoop.tag`). */
export type TagFilter = (tag: number) => boolean;

/**
 * An open-loop ask generator: every tick it sends the asks due for a fixed rate since it
 * started, whatever the latency of those already sent (it never waits for a reply to send
 * the next). Send times, latencies and failures are kept per ask, by sequence number.
 */
export class OpenLoop {
  readonly sentAt: Float64Array;
  /** ms from send to answer; NaN until answered (or forever, for a failed ask). */
  readonly latency: Float64Array;
  readonly failed: Uint8Array;
  /**
   * A caller's label of each ask (the shard it went to, say), set by the `AskOnce` callback when
   * the ask is issued; -1 for an ask it did not label. Windows can be read for some tags only.
   */
  readonly tag: Int32Array;
  readonly failures = new Map<string, number>();
  /** The error code of each failed ask, by sequence number. */
  private readonly failedCode = new Map<number, string>();
  /** Answers that were not what `check` expected (wrong state). */
  wrong = 0;
  sent = 0;
  settled = 0;
  /** Largest backlog found at a tick (asks due but not yet sent): the generator's own lag. */
  maxBacklog = 0;
  private t0 = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    readonly ratePerS: number,
    readonly capacity: number,
    private readonly once: AskOnce,
    private readonly check: (v: unknown) => boolean,
    private readonly tickMs = 2,
  ) {
    this.sentAt = new Float64Array(capacity);
    this.latency = new Float64Array(capacity).fill(Number.NaN);
    this.failed = new Uint8Array(capacity);
    this.tag = new Int32Array(capacity).fill(-1);
  }

  start(): void {
    this.t0 = performance.now();
    this.timer = setInterval(() => this.tick(), this.tickMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  get pending(): number {
    return this.sent - this.settled;
  }

  private tick(): void {
    const now = performance.now();
    const due = Math.min(this.capacity, Math.floor(((now - this.t0) * this.ratePerS) / 1000));
    if (due - this.sent > this.maxBacklog) this.maxBacklog = due - this.sent;
    while (this.sent < due) {
      const i = this.sent++;
      this.sentAt[i] = now;
      this.once(i).then(
        (v) => {
          this.latency[i] = performance.now() - this.sentAt[i]!;
          if (!this.check(v)) this.wrong++;
          this.settled++;
        },
        (err: unknown) => {
          this.failed[i] = 1;
          const code = (err as { code?: string } | null)?.code ?? 'Error';
          this.failures.set(code, (this.failures.get(code) ?? 0) + 1);
          this.failedCode.set(i, code);
          this.settled++;
        },
      );
    }
  }

  /**
   * Asks sent within any of `ranges` (`[from, to)`, performance.now() ms), and whose tag passes
   * `only` when given: count (of those settled), failures and latency percentiles, a failed ask
   * counting as `failedMs`.
   */
  window(ranges: Array<[number, number]>, failedMs: number, only?: TagFilter): { n: number; failed: number; p50: number; p99: number; max: number } {
    const xs: number[] = [];
    let failed = 0;
    for (let i = 0; i < this.sent; i++) {
      const t = this.sentAt[i]!;
      if (!ranges.some(([from, to]) => t >= from && t < to)) continue;
      if (only !== undefined && !only(this.tag[i]!)) continue;
      if (this.failed[i]) {
        failed++;
        xs.push(failedMs);
      } else if (!Number.isNaN(this.latency[i]!)) xs.push(this.latency[i]!);
    }
    xs.sort((a, b) => a - b);
    return { n: xs.length, failed, p50: percentile(xs, 0.5), p99: percentile(xs, 0.99), max: xs.length ? xs[xs.length - 1]! : Number.NaN };
  }

  /** Failed asks sent within any of `ranges`, by error code. */
  failuresIn(ranges: Array<[number, number]>): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [i, code] of this.failedCode) {
      const t = this.sentAt[i]!;
      if (ranges.some(([from, to]) => t >= from && t < to)) out[code] = (out[code] ?? 0) + 1;
    }
    return out;
  }

  /** Failed asks per second of send time, relative to `origin` (for locating failures). */
  failuresBySecond(origin: number): Record<string, number> {
    const out: Record<string, number> = {};
    for (let i = 0; i < this.sent; i++) {
      if (!this.failed[i]) continue;
      const s = Math.floor((this.sentAt[i]! - origin) / 1000);
      out[s] = (out[s] ?? 0) + 1;
    }
    return out;
  }
}
