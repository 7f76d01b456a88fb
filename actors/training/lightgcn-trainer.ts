import { BprSampler, NormalizedGraph, RatingsTableBuilder, Rng, WasmPropagator, propagateReference, type Propagate } from '../../models/index.js';
import type { VersionParams } from './arena.js';
import type { ClockStats, GraphAdamStep } from './messages.js';
import { DEFAULT_LIGHTGCN_BATCH, DEFAULT_LIGHTGCN_LAYERS, type TrainSpec } from './spec.js';
import { DEFAULT_CONTENT_SPEC } from './content-phase.js';
import { catalogInteractions, heldOutAuc, TrainerRows, type LocalData, type Trainer, type Yielder } from './trainers.js';
import { contentPhase, type ContentHost, type ServedContentModel } from './content-phase.js';

/** Adam's decay rates and ε, as the owners' step (`graph-reducer.ts`) and `trainLightGcn` use them. */
const B1 = 0.9;
const B2 = 0.999;
const EPS = 1e-8;

/**
 * A sum over every worker of the attempt of a `titles.length × width` matrix in catalog
 * order, through the titles' owners (one message per owning node and chunk): resolves with
 * the sums, or with `adam`, the owners' base rows after their Adam step. Adds its time to
 * `stats.nats` and the time spent waiting for other workers' shares to `stats.wait`.
 */
export interface GraphExchange {
  reduce(step: number, rows: Float32Array, width: number, stats: ClockStats, opts?: { accumulate?: number; adam?: GraphAdamStep }): Promise<Float32Array>;
}

/** Steps of the exchanges outside the batches (negative: the batches count up from 0). */
const DEGREES_STEP = -1;
const FINISH_STEP = -2;

/**
 * LightGCN trained across nodes by message passing between shards (He et al. 2020). Each
 * worker holds the base embeddings e⁰ of its own users (in their shard arenas) and the graph
 * of their interactions with every title of the catalog, weighted by the global degrees; a
 * title's base row lives with its owner. One propagation over that part of the graph gives
 * the worker's users' next layer whole and its share of the titles' next layer; the titles'
 * owners sum the shares (`GraphExchange`) and every worker gets them back: one exchange per
 * layer. Per mini-batch: L exchanges forward, the loss on the worker's share of the batch's
 * triples, the gradient's title rows summed, L exchanges backward (Â is symmetric), an Adam
 * step on the users here and on the titles at their owners (the last exchange carries the new
 * title rows back). Every worker runs the same number of batches, each a share of the global
 * batch ∝ its interactions. The final embeddings (the layer mean) replace e⁰ in the rows
 * when the job ends (`finish`), so serving reads them like any model's rows.
 */
export class LightGcnTrainer implements Trainer {
  readonly exchanges = true;
  readonly perEpoch: number;
  private readonly rows: TrainerRows;
  private readonly sampler: BprSampler;
  private readonly rng: Rng;
  private readonly propagate: Propagate;
  private readonly U: number;
  private readonly T: number;
  private readonly k: number;
  private readonly L: number;
  /** Batches per epoch, the same on every worker. */
  private readonly B: number;
  private readonly scale: number;
  /** Dense buffers over the local graph's nodes (users, then every title), `k` floats each. */
  private readonly cur: Float32Array;
  private readonly next: Float32Array;
  private readonly acc: Float32Array;
  private readonly final: Float32Array;
  private readonly grad: Float32Array;
  private readonly back: Float32Array;
  /** The users' base rows and their Adam moments. */
  private readonly eU: Float32Array;
  private readonly mU: Float32Array;
  private readonly vU: Float32Array;
  /** Every title's base row, as the owners last sent them. */
  private xT: Float32Array;
  private triples: ReturnType<BprSampler['next']> | undefined;
  private epoch = -1;
  /** Adam steps in this attempt (the owners' moments start again with each attempt too). */
  private t = 0;
  private hasFinal = false;

  /**
   * The trainer of `data`'s interactions against the catalog `titles`, over the rows of
   * version `v`; `total` is the number of training interactions over all workers. Exchanges
   * the titles' degrees with the other workers (every worker creates its trainer together).
   */
  static async create(spec: TrainSpec, data: LocalData, v: VersionParams, titles: readonly string[], seed: number, total: number, exchange: GraphExchange, content?: ContentHost & { writeModel(m: ServedContentModel): Promise<void> }): Promise<LightGcnTrainer> {
    const { b, held, seen } = await catalogInteractions(spec, data, titles);
    const table = b.build();
    const U = data.users.length;
    const T = titles.length;
    const local = NormalizedGraph.fromPairs(U, T, table.users, table.items);
    const degrees = new Float32Array(T);
    for (let i = 0; i < T; i++) degrees[i] = local.offsets[U + i + 1]! - local.offsets[U + i]!;
    const stats: ClockStats = { loss: 0, n: 0, validationSum: 0, validationN: 0, compute: 0, encode: 0, nats: 0, wait: 0 };
    const global = await exchange.reduce(DEGREES_STEP, degrees, 1, stats);
    const graph = NormalizedGraph.fromPairs(U, T, table.users, table.items, global);
    return new LightGcnTrainer(spec, data, v, titles, seed, total, exchange, table, graph, held, seen, global, content);
  }

  private constructor(
    private readonly spec: TrainSpec,
    data: LocalData,
    v: VersionParams,
    readonly titles: readonly string[],
    seed: number,
    total: number,
    private readonly exchange: GraphExchange,
    table: ReturnType<RatingsTableBuilder['build']>,
    graph: NormalizedGraph,
    private readonly held: Array<[number, number]>,
    private readonly seen: Set<number>[],
    /** Every title's degree in the whole graph (its interactions over all workers). */
    private readonly degrees: Float32Array,
    /** content-gnn: the content-aware phase's host. */
    private readonly content?: ContentHost & { writeModel(m: ServedContentModel): Promise<void> },
  ) {
    this.U = data.users.length;
    this.T = titles.length;
    this.k = spec.factors;
    this.L = spec.layers ?? DEFAULT_LIGHTGCN_LAYERS;
    const batch = spec.batchSize ?? DEFAULT_LIGHTGCN_BATCH;
    this.B = Math.max(1, Math.ceil(total / batch));
    this.scale = this.B / Math.max(1, total);
    this.perEpoch = table.n;
    this.rows = new TrainerRows(v, data.users, titles.length);
    this.sampler = new BprSampler(table, spec.negatives, spec.popularityExponent, seed, titles.length);
    this.rng = new Rng((seed ^ 0x1b873593) >>> 0);
    this.propagate = spec.kernel === 'ts' ? (x, out) => propagateReference(graph, x, this.k, out) : new WasmPropagator(graph, this.k).propagate;
    const n = graph.nodes * this.k;
    this.cur = new Float32Array(n);
    this.next = new Float32Array(n);
    this.acc = new Float32Array(n);
    this.final = new Float32Array(n);
    this.grad = new Float32Array(n);
    this.back = new Float32Array(n);
    this.eU = new Float32Array(this.U * this.k);
    this.mU = new Float32Array(this.U * this.k);
    this.vU = new Float32Array(this.U * this.k);
    this.xT = new Float32Array(this.T * this.k);
    this.readUsers();
  }

  get slot(): number {
    return this.rows.at.stride >>> 2;
  }

  titleRows(): Float32Array {
    return this.rows.titleRows();
  }

  beginEpoch(): void {
    this.epoch++;
    this.triples = this.sampler.next();
  }

  async clock(c: number, C: number, lr: number, stats: ClockStats, y: Yielder): Promise<void> {
    // The title rows were just pulled from their owners: the batches start from them.
    const pulled = this.rows.titleRows();
    for (let i = 0; i < this.T; i++) this.xT.set(pulled.subarray(i * this.slot, i * this.slot + this.k), i * this.k);
    const first = Math.floor((c * this.B) / C);
    const end = Math.floor(((c + 1) * this.B) / C);
    for (let b = first; b < end; b++) {
      await this.batch(b, lr, stats);
      await y.maybe();
    }
    this.writeUsers(this.eU);
  }

  /** Mini-batch `b` of this epoch: forward, loss, backward, Adam (users here, titles at their owners). */
  private async batch(b: number, lr: number, stats: ClockStats): Promise<void> {
    const { U, k, L } = this;
    const g = this.epoch * this.B + b;
    const base = g * (2 * L + 1);
    await this.forward(base, stats);
    let t0 = performance.now();
    const tr = this.triples!;
    const from = Math.floor((b * tr.n) / this.B);
    const to = Math.floor(((b + 1) * tr.n) / this.B);
    const G = this.grad.fill(0);
    const F = this.final;
    const countsT = new Float32Array(this.T);
    const countsU = new Float32Array(U);
    let loss = 0;
    for (let x = from; x < to; x++) {
      const u = tr.u[x]!;
      const pu = u * k;
      const pi = (U + tr.i[x]!) * k;
      const pj = (U + tr.j[x]!) * k;
      let dot = 0;
      for (let d = 0; d < k; d++) dot += F[pu + d]! * (F[pi + d]! - F[pj + d]!);
      loss += dot > 0 ? Math.log1p(Math.exp(-dot)) : -dot + Math.log1p(Math.exp(dot));
      const s = -this.scale / (1 + Math.exp(dot));
      for (let d = 0; d < k; d++) {
        const fu = F[pu + d]!;
        G[pu + d] += s * (F[pi + d]! - F[pj + d]!);
        G[pi + d] += s * fu;
        G[pj + d] -= s * fu;
      }
      countsU[u]++;
      countsT[tr.i[x]!]++;
      countsT[tr.j[x]!]++;
    }
    if (!Number.isFinite(loss)) throw new Error(`LightGCN diverged at epoch ${this.epoch + 1} (learning rate ${lr}): the loss is not finite`);
    stats.loss += loss;
    stats.n += to - from;
    // The gradient's layers: layer 0 is G (its title rows summed over the workers), layer l is Â^l G.
    const accU = Float32Array.from(G.subarray(0, U * k));
    let cur = G;
    let nxt = this.back;
    this.t++;
    for (let l = 0; l <= L; l++) {
      if (l > 0) {
        this.propagate(cur, nxt);
        for (let x = 0; x < accU.length; x++) accU[x] += nxt[x]!;
        [cur, nxt] = [nxt, cur];
      }
      // `cur` is layer l: its users' rows whole, its titles' rows this worker's share.
      stats.compute += (performance.now() - t0) / 1000;
      const shares = cur.subarray(U * k);
      if (l < L) cur.set(await this.exchange.reduce(base + L + l, shares, k, stats, { accumulate: g }), U * k);
      else {
        const adam: GraphAdamStep = { batch: g, t: this.t, lr, reg: this.spec.regFactor, scale: this.scale, layers: L, counts: countsT };
        this.xT = await this.exchange.reduce(base + 2 * L, shares, k, stats, { adam });
      }
      t0 = performance.now();
    }
    this.adamUsers(accU, countsU, lr);
    stats.compute += (performance.now() - t0) / 1000;
  }

  /** The final embeddings (`final`) of the current base rows: L exchanges. */
  private async forward(base: number, stats: ClockStats): Promise<void> {
    const { U, k, L } = this;
    let t0 = performance.now();
    let cur = this.cur;
    let nxt = this.next;
    cur.set(this.eU, 0);
    cur.set(this.xT, U * k);
    this.acc.set(cur);
    for (let l = 1; l <= L; l++) {
      this.propagate(cur, nxt);
      stats.compute += (performance.now() - t0) / 1000;
      nxt.set(await this.exchange.reduce(base + l - 1, nxt.subarray(U * k), k, stats), U * k);
      t0 = performance.now();
      for (let x = 0; x < this.acc.length; x++) this.acc[x] += nxt[x]!;
      [cur, nxt] = [nxt, cur];
    }
    const mean = 1 / (L + 1);
    for (let x = 0; x < this.acc.length; x++) this.final[x] = this.acc[x]! * mean;
    this.hasFinal = true;
    stats.compute += (performance.now() - t0) / 1000;
  }

  /** Adam on the users' base rows: gradient accU / (L + 1) plus L2 per occurrence in the batch. */
  private adamUsers(accU: Float32Array, countsU: Float32Array, lr: number): void {
    const k = this.k;
    const mean = 1 / (this.L + 1);
    const c1 = 1 - B1 ** this.t;
    const c2 = 1 - B2 ** this.t;
    for (let u = 0; u < this.U; u++) {
      const l2 = this.spec.regFactor * this.scale * countsU[u]!;
      for (let f = 0; f < k; f++) {
        const x = u * k + f;
        const g = accU[x]! * mean + l2 * this.eU[x]!;
        const m = (this.mU[x] = B1 * this.mU[x]! + (1 - B1) * g);
        const v = (this.vU[x] = B2 * this.vU[x]! + (1 - B2) * g * g);
        this.eU[x] -= (lr * (m / c1)) / (Math.sqrt(v / c2) + EPS);
      }
    }
  }

  validate(stats: ClockStats): void {
    if (!this.hasFinal) return;
    const { U, k, T } = this;
    const F = this.final;
    const score = (u: number, i: number): number => {
      let s = 0;
      for (let f = 0; f < k; f++) s += F[u * k + f]! * F[(U + i) * k + f]!;
      return s;
    };
    heldOutAuc(this.held, this.seen, T, this.rng, score, stats);
  }

  /**
   * The job's end: the final embeddings of the last base rows replace them, the users' here and
   * `owned` titles' (this node's) in their arenas, each checked finite; the bias stays 0. With
   * the content-aware phase (content-gnn), the titles' rows come from it instead: a title without
   * interactions gets one from its features, and every title a popularity bias.
   */
  async finish(stats: ClockStats, owned: (key: string) => Float32Array | undefined): Promise<void> {
    await this.forward(FINISH_STEP - 2 * this.L, stats);
    if (this.content !== undefined) {
      await this.finishContent(stats, owned, this.content);
      return;
    }
    const { U, k } = this;
    const F = this.final;
    const bad = (x: Float32Array, what: string) => {
      for (let f = 0; f < x.length; f++) if (!Number.isFinite(x[f]!)) throw new Error(`LightGCN: the final embedding of ${what} is not finite`);
    };
    const users = F.subarray(0, U * k);
    for (let u = 0; u < U; u++) bad(users.subarray(u * k, (u + 1) * k), `user ${u}`);
    this.writeUsers(users);
    for (let i = 0; i < this.T; i++) {
      const row = owned(this.titles[i]!);
      if (row === undefined) continue;
      const f = F.subarray((U + i) * k, (U + i + 1) * k);
      bad(f, `title ${this.titles[i]}`);
      row.set(f);
      row[k] = 0;
    }
  }

  private async finishContent(stats: ClockStats, owned: (key: string) => Float32Array | undefined, host: ContentHost & { writeModel(m: ServedContentModel): Promise<void> }): Promise<void> {
    const { U, k } = this;
    const t0 = performance.now();
    const users = this.final.subarray(0, U * k);
    if (!users.every(Number.isFinite)) throw new Error('content-gnn: a user\'s final embedding is not finite');
    this.writeUsers(users);
    const mine = this.titles.flatMap((key, i) => (owned(key) !== undefined ? [i] : []));
    const { model, rows } = await contentPhase({
      spec: this.spec.content ?? DEFAULT_CONTENT_SPEC, seed: this.spec.seed, factors: k, titles: this.titles, degrees: this.degrees,
      finalTitles: this.final.subarray(U * k), owned: mine, host,
    });
    for (const [i, served] of rows) owned(this.titles[i]!)!.set(served);
    await host.writeModel(model);
    stats.compute += (performance.now() - t0) / 1000;
  }

  private readUsers(): void {
    this.rows.current();
    const heap = this.rows.memory.heapF32();
    const addr = this.rows.memory.heapU32();
    for (let u = 0; u < this.U; u++) {
      const p = this.rows.userFloat(addr, u);
      this.eU.set(heap.subarray(p, p + this.k), u * this.k);
    }
  }

  private writeUsers(from: Float32Array): void {
    this.rows.current();
    const heap = this.rows.memory.heapF32();
    const addr = this.rows.memory.heapU32();
    for (let u = 0; u < this.U; u++) {
      const p = this.rows.userFloat(addr, u);
      heap.set(from.subarray(u * this.k, (u + 1) * this.k), p);
      heap[p + this.k] = 0;
    }
  }

  release(): void {
    this.rows.release();
  }
}
