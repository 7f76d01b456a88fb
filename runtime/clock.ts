import type { Clock } from './types.js';

/** A clock that moves only when told to: time-driven tests run under it. */
export class ManualClock implements Clock {
  constructor(private ms: number = Date.now()) {}

  now(): number {
    return this.ms;
  }

  /** Moves time forward by `ms`. */
  advance(ms: number): void {
    this.ms += ms;
  }

  set(ms: number): void {
    this.ms = ms;
  }
}
