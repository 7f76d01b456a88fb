import type { Clock } from './types.js';

/** The machine's clocks: `Date.now()` for labels, `performance.now()` for every duration. */
export const systemClock: Clock = {
  wallMs: () => Date.now(),
  monoMs: () => performance.now(),
};

/** A clock that moves only when told to: time-driven tests run under it. */
export class ManualClock implements Clock {
  private wall: number;
  private mono: number;

  constructor(start: { wallMs?: number; monoMs?: number } = {}) {
    this.wall = start.wallMs ?? Date.now();
    this.mono = start.monoMs ?? performance.now();
  }

  wallMs(): number {
    return this.wall;
  }

  monoMs(): number {
    return this.mono;
  }

  /** Time passes: both readings move forward by `ms`. */
  advance(ms: number): void {
    if (ms < 0) throw new RangeError('a monotonic clock never goes back: use stepWall for the wall clock');
    this.wall += ms;
    this.mono += ms;
  }

  /** The wall clock alone jumps (an NTP step, an operator's `date -s`), forward or back. */
  stepWall(ms: number): void {
    this.wall += ms;
  }
}

/**
 * Another clock read through fixed offsets, which can be stepped while it runs: how a test runs
 * one node's clocks ahead of the others', or steps its wall clock back. Never used in production.
 */
export class OffsetClock implements Clock {
  constructor(
    private readonly base: Clock,
    private wallOffsetMs: number,
    private monoOffsetMs: number,
  ) {}

  wallMs(): number {
    return this.base.wallMs() + this.wallOffsetMs;
  }

  monoMs(): number {
    return this.base.monoMs() + this.monoOffsetMs;
  }

  /** Steps the wall clock by `wallMs` (either way) and the monotonic clock forward by `monoMs`. */
  step(wallMs: number, monoMs = 0): void {
    if (monoMs < 0) throw new RangeError('a monotonic clock never goes back');
    this.wallOffsetMs += wallMs;
    this.monoOffsetMs += monoMs;
  }
}
