/** Days kept: enough for the longest popularity window (a month). */
export const DAYS_KEPT = 32;
const DAY_MS = 86_400_000;

/** The day (since the Unix epoch, UTC) of a time in ms. */
export function dayOf(ms: number): number {
  return Math.floor(ms / DAY_MS);
}

/**
 * A title's interactions per day over its last `DAYS_KEPT` days of events (by event time), in a
 * ring: what the popularity windows (day, week, month) sum. An event older than the ring's
 * oldest day is not counted there (the all-time count has it).
 */
export class DailyCounts {
  private readonly days = new Int32Array(DAYS_KEPT).fill(-1);
  private readonly counts = new Int32Array(DAYS_KEPT);

  add(eventTimeMs: number): void {
    const day = dayOf(eventTimeMs);
    const slot = ((day % DAYS_KEPT) + DAYS_KEPT) % DAYS_KEPT;
    const held = this.days[slot]!;
    if (held === day) this.counts[slot]!++;
    else if (held < day) {
      this.days[slot] = day;
      this.counts[slot] = 1;
    }
  }

  /** The newest day counted, or -1. */
  get newestDay(): number {
    let d = -1;
    for (const x of this.days) if (x > d) d = x;
    return d;
  }

  /** `[day, count, day, count, …]` of the days counted, oldest first: what snapshots and the catalog keep. */
  stored(): number[] {
    const out: Array<[number, number]> = [];
    for (let s = 0; s < DAYS_KEPT; s++) if (this.days[s]! >= 0 && this.counts[s]! > 0) out.push([this.days[s]!, this.counts[s]!]);
    return out.sort((a, b) => a[0] - b[0]).flat();
  }

  static from(stored: readonly number[] | undefined): DailyCounts {
    const d = new DailyCounts();
    for (let j = 0; stored !== undefined && j + 1 < stored.length; j += 2) {
      const day = stored[j]!;
      const slot = ((day % DAYS_KEPT) + DAYS_KEPT) % DAYS_KEPT;
      if (day > d.days[slot]!) {
        d.days[slot] = day;
        d.counts[slot] = stored[j + 1]!;
      }
    }
    return d;
  }
}

/** Interactions of `stored` (as `DailyCounts.stored`) in the `days` days ending with day `last`. */
export function countWithin(stored: readonly number[], last: number, days: number): number {
  let n = 0;
  for (let j = 0; j + 1 < stored.length; j += 2) if (stored[j]! <= last && stored[j]! > last - days) n += stored[j + 1]!;
  return n;
}
