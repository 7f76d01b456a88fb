import parsePrometheusTextFormat from 'parse-prometheus-text-format';

/** One sample line: its full name (`x_bucket`, `x_count`, …), labels and value. */
export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A parsed scrape: each family's type, and every sample line. */
export interface PromScrape {
  /** Family name to type, as declared by `# TYPE` (upper case: `COUNTER`, `HISTOGRAM`, …). */
  types: Map<string, string>;
  samples: PromSample[];
  /** Samples named `name` whose labels include `labels`. */
  select(name: string, labels?: Record<string, string>): PromSample[];
  /** The sum of `select(name, labels)`'s values. */
  sum(name: string, labels?: Record<string, string>): number;
}

/**
 * Parses Prometheus text format with parse-prometheus-text-format. That parser folds every
 * series of a labelled histogram or summary into one (yunyu/parse-prometheus-text-format#13),
 * so samples are read with those families declared untyped: each `_bucket`, `_sum` and
 * `_count` line then keeps its own labels. Types come from a parse of the text as served.
 */
export function parsePrometheus(text: string): PromScrape {
  const types = new Map(parsePrometheusTextFormat(text).map((f) => [f.name, f.type] as const));
  const untyped = text.replace(/^# TYPE (\S+) (histogram|summary)$/gm, '# TYPE $1 untyped');
  const samples: PromSample[] = [];
  for (const f of parsePrometheusTextFormat(untyped)) {
    for (const m of f.metrics) samples.push({ name: f.name, labels: m.labels ?? {}, value: Number(m.value) });
  }
  const select = (name: string, labels: Record<string, string> = {}) =>
    samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  return { types, samples, select, sum: (name, labels) => select(name, labels).reduce((a, s) => a + s.value, 0) };
}
