import {
  BprSampler, EpochOrders, MF_KERNELS, RatingsTableBuilder, Rng, tsBprKernel, wasmBprKernel,
  type BprEpochRunner, type BprModel, type MfEpochRunner, type MfModel, type RatingsTable,
} from '../../models/index.js';
import { fmix32, fnv1a, FNV_OFFSET } from '../../runtime/index.js';
import type { ClockStats } from './messages.js';
import type { TitleInterner, UserHistory } from './node-params.js';
import type { TrainSpec } from './spec.js';

/** Ratings (or interactions) held out for validation: a stable hash of (user, title) below this share of 2^32. */
const HOLDOUT_SALT = 0x7f4a7c15;

/** A user of this worker: its shard, key and history. */
export interface LocalUser {
  shard: number;
  key: string;
  history: UserHistory;
}

/** What a worker's data holds: its users and the identity of its data, before any model exists. */
export interface LocalData {
  users: LocalUser[];
  /** The node's title indices, which the histories hold. */
  titleIndex: TitleInterner;
  /** Sum of the training ratings (the global mean's share; 0 for implicit models) and their count. */
  sum: number;
  count: number;
  /** Sum of stable hashes of (user, title) of the data, for the job's fingerprint. */
  hash: number;
}

/** The hash of user `key` that `holdoutHash` combines with a title's (`TitleInterner.hash`). */
function userHash(key: string): number {
  return fnv1a((FNV_OFFSET ^ HOLDOUT_SALT) >>> 0, key);
}

/** A stable hash of (user, title), the same on every node: below the cut, the pair is held out. */
function holdoutHash(user: number, title: number): number {
  return fmix32((user ^ Math.imul(title, 0x9e3779b1)) >>> 0);
}

/**
 * Lets the event loop run (lease renewals, heartbeats, asks) every `sliceMs` of a long loop:
 * a worker preparing ten million interactions must not starve its node.
 */
export class Yielder {
  private last = performance.now();

  constructor(private readonly sliceMs = 20) {}

  /** Resolves at once, or after a turn of the event loop when the slice is used up. */
  maybe(): Promise<void> | undefined {
    if (performance.now() - this.last < this.sliceMs) return undefined;
    return new Promise<void>((r) => setImmediate(() => ((this.last = performance.now()), r())));
  }
}

/**
 * Each interaction of the worker's users that trains (RATING interactions for MF, all for
 * BPR), with whether it is held out: `visit(user, title, value, held)`, the title as the
 * node's index. Yields to the event loop as it goes.
 */
async function eachInteraction(
  spec: TrainSpec,
  data: Pick<LocalData, 'users' | 'titleIndex'>,
  visit: (u: number, title: number, value: number, held: boolean, hash: number) => void,
  y = new Yielder(),
): Promise<void> {
  const cut = spec.validationFraction * 4294967296;
  const ti = data.titleIndex;
  for (let u = 0; u < data.users.length; u++) {
    const user = data.users[u]!;
    const uh = userHash(user.key);
    const titles = user.history.titles;
    const values = user.history.values;
    for (let x = 0; x < titles.length; x++) {
      const r = values[x]!;
      if (spec.model === 'mf' && Number.isNaN(r)) continue;
      const hh = holdoutHash(uh, ti.hash(titles[x]!));
      visit(u, titles[x]!, r, hh < cut, hh);
    }
    await y.maybe();
  }
}

/** The worker's users and their data identity: RATING interactions for MF, every interaction for BPR. */
export async function localData(spec: TrainSpec, users: LocalUser[], titleIndex: TitleInterner, yielder?: Yielder): Promise<LocalData> {
  let sum = 0;
  let count = 0;
  let hash = 0;
  await eachInteraction(spec, { users, titleIndex }, (_u, _t, r, held, hh) => {
    hash = (hash + hh) >>> 0;
    if (held) return;
    count++;
    if (spec.model === 'mf') sum += r;
  }, yielder);
  return { users, titleIndex, sum, count, hash };
}

/** Rows a kernel runs before the event loop may turn: about 10 ms at 25 million updates/s. */
export const COMPUTE_SLICE_ROWS = 1 << 18;

/**
 * Runs rows [from, to) through `run` in slices of `COMPUTE_SLICE_ROWS`, between `begin` and
 * `end` (the kernel's copies in and out); between slices (never after the last) the event loop may turn. Counts the
 * rows in `stats.n` and the time in the kernel, not in the turns, in `stats.compute`.
 */
async function inSlices(from: number, to: number, stats: ClockStats, y: Yielder, begin: () => void, run: (a: number, b: number) => void, end: () => void): Promise<void> {
  let t = performance.now();
  begin();
  for (let a = from; a < to; a += COMPUTE_SLICE_ROWS) {
    run(a, Math.min(to, a + COMPUTE_SLICE_ROWS));
    // Only between slices: a clock of one slice runs as one step, copies in and out included.
    const turn = a + COMPUTE_SLICE_ROWS < to ? y.maybe() : undefined;
    if (turn !== undefined) {
      stats.compute += (performance.now() - t) / 1000;
      await turn;
      t = performance.now();
    }
  }
  end();
  stats.n += to - from;
  stats.compute += (performance.now() - t) / 1000;
}

/**
 * One model's training on one worker, over local dense indices: users of this node, and the
 * titles it pulls each clock. Title rows go in and out of `q` (titles × factors) and `bi`
 * around each clock; user rows stay here between clocks and go back to the arena by `userRow`.
 */
export interface Trainer {
  readonly titles: readonly string[];
  readonly q: Float32Array;
  readonly bi: Float32Array;
  /** Ratings or triples per epoch. */
  readonly perEpoch: number;
  /** Starts an epoch (its order, or its triples). */
  beginEpoch(): void;
  /**
   * Trains slice `c` of `C` of the epoch at learning rate `lr` (the title rows were just
   * pulled into `q`, `bi`), adding its compute time to `stats.compute`; between runs of
   * `COMPUTE_SLICE_ROWS` rows it lets the event loop turn (`y`), so that this node answers
   * other workers' pulls and pushes and renews its leases while it trains.
   */
  clock(c: number, C: number, lr: number, stats: ClockStats, y: Yielder): Promise<void>;
  /** Adds the held-out part's figure to `stats` (validationSum, validationN). */
  validate(stats: ClockStats): void;
  /** User `u`'s factors then bias, into `out`. */
  userRow(u: number, out: Float32Array): void;
}

/** A user's arena row into the trainer's arrays. */
type RowOf = (u: LocalUser) => Float32Array;

/** Biased MF by SGD: the local ratings table, the MF kernel; validation RMSE on held-out ratings. */
export class MfTrainer implements Trainer {
  readonly titles: string[];
  readonly perEpoch: number;
  private readonly model: MfModel;
  private readonly runner: MfEpochRunner;
  private readonly table: RatingsTable;
  private readonly orders: EpochOrders;
  private order: Uint32Array = new Uint32Array(0);

  /** The trainer of `data`'s ratings, its users' rows from `rowOf` (yields to the event loop while it reads the data). */
  static async create(spec: TrainSpec, data: LocalData, rowOf: RowOf, mean: number, seed: number): Promise<MfTrainer> {
    const b = new RatingsTableBuilder();
    for (const u of data.users) b.userIds.intern(u.key);
    const local = new Int32Array(data.titleIndex.size).fill(-1);
    const held: Array<[number, number, number]> = [];
    await eachInteraction(spec, data, (u, t, r, isHeld) => {
      let i = local[t]!;
      if (i < 0) local[t] = i = b.itemIds.intern(data.titleIndex.key(t));
      if (isHeld) held.push([u, i, r]);
      else b.addIndexed(u, i, r);
    });
    return new MfTrainer(spec, data, rowOf, mean, seed, b, held);
  }

  private constructor(
    private readonly spec: TrainSpec,
    data: LocalData,
    rowOf: RowOf,
    mean: number,
    seed: number,
    b: RatingsTableBuilder,
    private readonly held: Array<[number, number, number]>,
  ) {
    this.table = b.build();
    this.perEpoch = this.table.n;
    this.titles = Array.from({ length: b.itemIds.size }, (_, i) => b.itemIds.idOf(i));
    const k = spec.factors;
    const U = data.users.length;
    const T = this.titles.length;
    const p = new Float32Array(U * k);
    const bu = new Float32Array(U);
    for (let u = 0; u < U; u++) {
      const row = rowOf(data.users[u]!);
      p.set(row.subarray(0, k), u * k);
      bu[u] = row[k]!;
    }
    this.model = { users: U, items: T, factors: k, p, q: new Float32Array(T * k), bu, bi: new Float32Array(T), mu: mean, minRating: -Infinity, maxRating: Infinity };
    this.runner = MF_KERNELS[spec.kernel](this.model, this.table);
    this.orders = new EpochOrders(this.table.n, seed);
  }

  get q(): Float32Array {
    return this.model.q;
  }

  get bi(): Float32Array {
    return this.model.bi;
  }

  beginEpoch(): void {
    this.order = this.orders.next();
  }

  async clock(c: number, C: number, lr: number, stats: ClockStats, y: Yielder): Promise<void> {
    const from = Math.floor((c * this.order.length) / C);
    const to = Math.floor(((c + 1) * this.order.length) / C);
    const step = { lr, regFactor: this.spec.regFactor, regBias: this.spec.regBias };
    await inSlices(from, to, stats, y, () => this.runner.reload(), (a, b) => (stats.loss += this.runner.sgdEpoch(this.order.subarray(a, b), step)), () => this.runner.readBack());
  }

  validate(stats: ClockStats): void {
    const m = this.model;
    const k = m.factors;
    for (const [u, i, r] of this.held) {
      let y = m.mu + m.bu[u]! + m.bi[i]!;
      for (let f = 0; f < k; f++) y += m.p[u * k + f]! * m.q[i * k + f]!;
      y = Math.min(5, Math.max(0.5, y));
      stats.validationSum += (y - r) * (y - r);
      stats.validationN++;
    }
  }

  userRow(u: number, out: Float32Array): void {
    const k = this.model.factors;
    out.set(this.model.p.subarray(u * k, (u + 1) * k));
    out[k] = this.model.bu[u]!;
  }
}

/**
 * BPR-MF by SGD on (user, positive, negative) triples: every interaction of this node's users
 * is a positive, negatives come from the whole catalog (every title of the version, pulled
 * each clock), uniform or ∝ local popularity^β. Validation: the AUC of held-out positives
 * against one sampled negative each.
 */
export class BprTrainer implements Trainer {
  readonly perEpoch: number;
  private readonly model: BprModel;
  private readonly runner: BprEpochRunner;
  private readonly sampler: BprSampler;
  private readonly rng: Rng;
  private triples: ReturnType<BprSampler['next']> | undefined;

  /** The trainer of `data`'s interactions against the catalog `titles` (yields to the event loop while it reads the data). */
  static async create(spec: TrainSpec, data: LocalData, rowOf: RowOf, titles: readonly string[], seed: number): Promise<BprTrainer> {
    const b = new RatingsTableBuilder();
    // The catalog first: negatives are drawn from every title, not only this node's.
    for (const t of titles) b.itemIds.intern(t);
    for (const u of data.users) b.userIds.intern(u.key);
    const catalog = new Int32Array(data.titleIndex.size);
    for (let t = 0; t < catalog.length; t++) catalog[t] = b.itemIds.get(data.titleIndex.key(t)) ?? -1;
    const held: Array<[number, number]> = [];
    const seen = data.users.map(() => new Set<number>());
    await eachInteraction(spec, data, (u, t, _r, isHeld) => {
      const i = catalog[t]!;
      if (i < 0) return;
      seen[u]!.add(i);
      if (isHeld) held.push([u, i]);
      else b.addIndexed(u, i, 1);
    });
    return new BprTrainer(spec, data, rowOf, titles, seed, b, held, seen);
  }

  private constructor(
    private readonly spec: TrainSpec,
    data: LocalData,
    rowOf: RowOf,
    readonly titles: readonly string[],
    seed: number,
    b: RatingsTableBuilder,
    private readonly held: Array<[number, number]>,
    private readonly seen: Set<number>[],
  ) {
    const table = b.build();
    this.perEpoch = table.n;
    const k = spec.factors;
    const U = data.users.length;
    const T = titles.length;
    const p = new Float32Array(U * k);
    for (let u = 0; u < U; u++) p.set(rowOf(data.users[u]!).subarray(0, k), u * k);
    this.model = { users: U, items: T, factors: k, p, q: new Float32Array(T * k), b: new Float32Array(T) };
    this.runner = (spec.kernel === 'wasm' ? wasmBprKernel : tsBprKernel)(this.model);
    this.sampler = new BprSampler(table, spec.negatives, spec.popularityExponent, seed, T);
    this.rng = new Rng((seed ^ 0x1b873593) >>> 0);
  }

  get q(): Float32Array {
    return this.model.q;
  }

  get bi(): Float32Array {
    return this.model.b;
  }

  beginEpoch(): void {
    this.triples = this.sampler.next();
  }

  async clock(c: number, C: number, lr: number, stats: ClockStats, y: Yielder): Promise<void> {
    const t = this.triples!;
    const from = Math.floor((c * t.n) / C);
    const to = Math.floor(((c + 1) * t.n) / C);
    const step = { lr, reg: this.spec.regFactor, regBias: this.spec.regBias };
    await inSlices(from, to, stats, y, () => this.runner.reload(), (a, b) => (stats.loss += this.runner.epoch({ n: b - a, u: t.u.subarray(a, b), i: t.i.subarray(a, b), j: t.j.subarray(a, b) }, step)), () => this.runner.readBack());
  }

  validate(stats: ClockStats): void {
    const T = this.model.items;
    for (const [u, i] of this.held) {
      let j = this.rng.below(T);
      for (let tries = 0; this.seen[u]!.has(j) && tries < 64; tries++) j = this.rng.below(T);
      if (this.seen[u]!.has(j)) continue;
      stats.validationSum += this.score(u, i) > this.score(u, j) ? 1 : 0;
      stats.validationN++;
    }
  }

  private score(u: number, i: number): number {
    const k = this.model.factors;
    let s = this.model.b[i]!;
    for (let f = 0; f < k; f++) s += this.model.p[u * k + f]! * this.model.q[i * k + f]!;
    return s;
  }

  userRow(u: number, out: Float32Array): void {
    const k = this.model.factors;
    out.set(this.model.p.subarray(u * k, (u + 1) * k));
    out[k] = 0;
  }
}
