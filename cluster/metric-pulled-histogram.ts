import type { Aggregator, Metric, Registry } from 'prom-client';

/** Bucket counts kept elsewhere: `counts[i]` observations in (bounds[i-1], bounds[i]], the last slot +Inf. */
export interface BucketCounts {
  readonly counts: ArrayLike<number>;
  readonly sum: number;
  readonly count: number;
}

/** One labelled series of a pulled histogram. */
export interface PulledSeries<T extends string> {
  labels: Record<T, string>;
  histogram: BucketCounts;
}

/** How a pulled histogram is declared. */
export interface PulledHistogramConfiguration<T extends string> {
  name: string;
  help: string;
  labelNames: readonly T[];
  /** The buckets' upper bounds, ascending; every series read must have one count more (+Inf). */
  bounds: readonly number[];
  registers: Registry[];
  /** Cross-process aggregation. @default 'sum' */
  aggregator?: Aggregator;
  /** The series now, read at scrape time. */
  read(): Iterable<PulledSeries<T>>;
}

interface Sample {
  metricName: string;
  labels: Record<string, string | number>;
  value: number;
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * A Prometheus histogram whose buckets are counted elsewhere (the runtime's plain-number
 * histograms) and read at scrape time. prom-client's Histogram can only be fed single
 * observations, so this is a small custom metric: the registry needs only `name`, `type`,
 * `get()` and `reset()`.
 */
export class PulledHistogram<T extends string> {
  readonly type = 'histogram';
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly T[];
  readonly aggregator: Aggregator;
  private readonly bounds: readonly number[];
  private readonly read: () => Iterable<PulledSeries<T>>;

  constructor(config: PulledHistogramConfiguration<T>) {
    if (!METRIC_NAME.test(config.name)) throw new Error(`invalid metric name '${config.name}'`);
    for (const l of config.labelNames) {
      if (!LABEL_NAME.test(l) || l === 'le' || l.startsWith('__')) throw new Error(`invalid label name '${l}' on ${config.name}`);
    }
    for (let i = 1; i < config.bounds.length; i++) {
      if (!(config.bounds[i]! > config.bounds[i - 1]!)) throw new Error(`bucket bounds of ${config.name} must ascend`);
    }
    this.name = config.name;
    this.help = config.help;
    this.labelNames = config.labelNames;
    this.aggregator = config.aggregator ?? 'sum';
    this.bounds = config.bounds;
    this.read = config.read;
    // The registry keeps any object with this shape; its typings list only the built-in classes.
    for (const r of config.registers) r.registerMetric(this as unknown as Metric<T>);
  }

  async get(): Promise<{ name: string; help: string; type: 'histogram'; aggregator: Aggregator; values: Sample[] }> {
    const values: Sample[] = [];
    for (const { labels, histogram: h } of this.read()) {
      if (h.counts.length !== this.bounds.length + 1) {
        throw new Error(`${this.name}: ${h.counts.length} bucket counts for ${this.bounds.length} bounds (+Inf)`);
      }
      let cumulative = 0;
      for (let i = 0; i < this.bounds.length; i++) {
        cumulative += h.counts[i]!;
        values.push({ metricName: `${this.name}_bucket`, labels: { ...labels, le: this.bounds[i]! }, value: cumulative });
      }
      // +Inf equals _count by definition, whatever the buckets summed to.
      values.push({ metricName: `${this.name}_bucket`, labels: { ...labels, le: '+Inf' }, value: h.count });
      values.push({ metricName: `${this.name}_sum`, labels: { ...labels }, value: h.sum });
      values.push({ metricName: `${this.name}_count`, labels: { ...labels }, value: h.count });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  /** Nothing to reset: the counts belong to their owner. */
  reset(): void {}
}
