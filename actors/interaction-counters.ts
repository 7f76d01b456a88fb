import type { InteractionBody } from './messages.js';

/** Counters every actor that receives interactions keeps (users and titles alike). */
export interface InteractionCounters {
  count: number;
  ratingSum: number;
  ratingCount: number;
  /** Latest event time seen, ms since the Unix epoch. */
  updateTimeMs: number;
}

export function emptyCounters(): InteractionCounters {
  return { count: 0, ratingSum: 0, ratingCount: 0, updateTimeMs: 0 };
}

/** Adds one interaction to the counters. */
export function countInteraction(c: InteractionCounters, b: InteractionBody): void {
  c.count++;
  if (b.type === 'RATING') {
    c.ratingSum += b.value;
    c.ratingCount++;
  }
  if (b.eventTimeMs > c.updateTimeMs) c.updateTimeMs = b.eventTimeMs;
}

/** Mean of RATING values; 0 when none. */
export function meanRating(c: InteractionCounters): number {
  return c.ratingCount ? c.ratingSum / c.ratingCount : 0;
}
