import { InvalidArgument, Unavailable } from '../../runtime/index.js';
import type { GraphAdamStep, GraphReduceAnswer, GraphReduceBody } from './messages.js';

/** Adam's decay rates and ε (Kingma & Ba), as `trainLightGcn` uses them. */
const B1 = 0.9;
const B2 = 0.999;
const EPS = 1e-8;

interface Pending {
  parts: Map<string, { body: GraphReduceBody; arrived: number }>;
  waiters: Array<{ worker: string; arrived: number; resolve: (a: GraphReduceAnswer) => void; reject: (e: Error) => void }>;
}

/** A version's exchange state on the titles' owner, for one attempt. */
interface VersionState {
  attempt: number;
  pending: Map<string, Pending>;
  /** Per (batch, chunk): the sum of the gradient's title layers so far. */
  acc: Map<string, Float32Array>;
  /** Per title: Adam's first and second moments of its base row. */
  moments: Map<string, { m: Float32Array; v: Float32Array }>;
}

/**
 * The owner's side of LightGCN's exchange between shards: it sums the workers' shares of a
 * layer over the titles it owns, in the order of the workers' names (the same sum whatever
 * order they arrive in), and answers all of them at once. The gradient's layers of a batch
 * add up here; its last layer completes the gradient of the owner's base rows, which take an
 * Adam step in place (`row`) before the answer carries them to every worker. Adam's moments
 * live here and start again with each attempt: a checkpoint holds the rows, not the moments.
 */
export class GraphReducer {
  private readonly versions = new Map<string, VersionState>();

  constructor(
    /** The live base row (factors, then bias) of a title this node owns for (version, attempt); throws Unavailable otherwise. */
    private readonly row: (version: string, attempt: number, key: string) => Float32Array,
  ) {}

  /**
   * `version`'s attempt on this node: shares of an older one are refused from now on, its
   * waiters released. The same attempt again (a worker that joined it once more) keeps what
   * the others already sent.
   */
  reset(version: string, attempt: number): void {
    if (this.versions.get(version)?.attempt === attempt) return;
    this.drop(version, `attempt ${attempt} of ${version} began`);
    this.versions.set(version, { attempt, pending: new Map(), acc: new Map(), moments: new Map() });
  }

  /** Forgets `version` (its job ended or its shards left). */
  drop(version: string, why = `${version} was dropped`): void {
    const s = this.versions.get(version);
    if (s === undefined) return;
    this.versions.delete(version);
    for (const p of s.pending.values()) for (const w of p.waiters) w.reject(new Unavailable(`exchange abandoned: ${why}`, {}));
  }

  /** Adds a worker's share; resolves once every worker's share of the same step and chunk is in. */
  reduce(b: GraphReduceBody): Promise<GraphReduceAnswer> {
    const s = this.versions.get(b.version);
    if (s === undefined || s.attempt !== b.attempt) {
      return Promise.reject(new Unavailable(`not ready for ${b.version} attempt ${b.attempt}`, {}));
    }
    if (!(b.width >= 1) || b.rows.length !== b.keys.length * b.width) {
      return Promise.reject(new InvalidArgument(`a share of ${b.keys.length} titles × ${b.width} carries ${b.rows.length} values`, { fields: ['rows'] }));
    }
    if (b.adam !== undefined && b.adam.counts.length !== b.keys.length) {
      return Promise.reject(new InvalidArgument(`an Adam step's counts name ${b.adam.counts.length} titles, not ${b.keys.length}`, { fields: ['adam'] }));
    }
    // Every key must be this node's for the attempt before anything is added.
    if (b.adam !== undefined) for (const k of b.keys) this.row(b.version, b.attempt, k);
    const id = `${b.step}/${b.chunk}`;
    let p = s.pending.get(id);
    if (p === undefined) s.pending.set(id, (p = { parts: new Map(), waiters: [] }));
    const arrived = performance.now();
    p.parts.set(b.worker, { body: b, arrived });
    const answer = new Promise<GraphReduceAnswer>((resolve, reject) => p.waiters.push({ worker: b.worker, arrived, resolve, reject }));
    if (p.parts.size >= b.workers) {
      s.pending.delete(id);
      try {
        const rows = this.complete(s, b, p);
        const done = performance.now();
        for (const w of p.waiters) w.resolve({ rows, waited: (done - w.arrived) / 1000 });
      } catch (err) {
        for (const w of p.waiters) w.reject(err as Error);
      }
    }
    return answer;
  }

  private complete(s: VersionState, b: GraphReduceBody, p: Pending): Float32Array {
    const parts = [...p.parts].sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0)).map(([, x]) => x.body);
    const first = parts[0]!;
    for (const q of parts) {
      if (q.keys.length !== first.keys.length || q.width !== first.width || q.keys.some((k, j) => k !== first.keys[j])) {
        throw new InvalidArgument(`workers' shares of step ${b.step} chunk ${b.chunk} name different titles`, { fields: ['keys'] });
      }
    }
    const sum = new Float32Array(first.rows.length);
    for (const q of parts) for (let x = 0; x < sum.length; x++) sum[x] += q.rows[x]!;
    const accKey = (batch: number) => `${batch}/${b.chunk}`;
    if (first.accumulate !== undefined) {
      const key = accKey(first.accumulate);
      const acc = s.acc.get(key);
      if (acc === undefined) s.acc.set(key, Float32Array.from(sum));
      else for (let x = 0; x < sum.length; x++) acc[x] += sum[x]!;
      return sum;
    }
    if (first.adam === undefined) return sum;
    const key = accKey(first.adam.batch);
    const acc = s.acc.get(key);
    s.acc.delete(key);
    const counts = new Float32Array(first.keys.length);
    for (const q of parts) for (let j = 0; j < counts.length; j++) counts[j] += q.adam!.counts[j]!;
    return this.adamStep(s, first, first.adam, sum, acc, counts);
  }

  /** The base rows of `b.keys` after one Adam step on the gradient (acc + last) / (L + 1) + L2. */
  private adamStep(s: VersionState, b: GraphReduceBody, a: GraphAdamStep, last: Float32Array, acc: Float32Array | undefined, counts: Float32Array): Float32Array {
    const k = b.width;
    const out = new Float32Array(b.keys.length * k);
    const mean = 1 / (a.layers + 1);
    const c1 = 1 - B1 ** a.t;
    const c2 = 1 - B2 ** a.t;
    for (let j = 0; j < b.keys.length; j++) {
      const key = b.keys[j]!;
      const row = this.row(b.version, b.attempt, key);
      let mo = s.moments.get(key);
      if (mo === undefined) s.moments.set(key, (mo = { m: new Float32Array(k), v: new Float32Array(k) }));
      const l2 = a.reg * a.scale * counts[j]!;
      for (let f = 0; f < k; f++) {
        const x = j * k + f;
        const g = (last[x]! + (acc?.[x] ?? 0)) * mean + l2 * row[f]!;
        const m = (mo.m[f] = B1 * mo.m[f]! + (1 - B1) * g);
        const v = (mo.v[f] = B2 * mo.v[f]! + (1 - B2) * g * g);
        row[f] -= (a.lr * (m / c1)) / (Math.sqrt(v / c2) + EPS);
        out[x] = row[f]!;
      }
    }
    return out;
  }
}
