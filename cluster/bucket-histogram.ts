/**
 * Observations counted into fixed buckets: plain numbers that code on a hot or control path
 * writes and that metrics read at scrape time, so the writer needs no metrics library.
 */
export class BucketHistogram {
  /** counts[i]: observations in (bounds[i-1], bounds[i]]; the last slot is +Inf. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  /** `bounds`: the buckets' upper bounds, ascending. */
  constructor(readonly bounds: readonly number[]) {
    for (let i = 1; i < bounds.length; i++) {
      if (!(bounds[i]! > bounds[i - 1]!)) throw new RangeError(`bucket bounds must ascend: ${bounds.join(', ')}`);
    }
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    let i = 0;
    while (i < this.bounds.length && value > this.bounds[i]!) i++;
    this.counts[i]!++;
    this.sum += value;
    this.count++;
  }
}
