import {
  BprSampler, EpochOrders, RatingsTableBuilder, Rng, bprRows, mfRows, rowFloats,
  type BprRowsRunner, type MfRowsRunner, type RowsAt, type WasmArena,
} from '../../models/index.js';
import { fmix32, fnv1a, FNV_OFFSET } from '../../runtime/index.js';
import { Kind } from '../kinds.js';
import type { VersionParams } from './arena.js';
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
export async function eachInteraction(
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
 * Runs rows [from, to) through `run` in slices of `COMPUTE_SLICE_ROWS`; between slices (never
 * after the last) the event loop may turn. Counts the rows in `stats.n` and the time in the
 * kernel, not in the turns, in `stats.compute`.
 */
export async function inSlices(from: number, to: number, stats: ClockStats, y: Yielder, run: (a: number, b: number) => void): Promise<void> {
  let t = performance.now();
  for (let a = from; a < to; a += COMPUTE_SLICE_ROWS) {
    run(a, Math.min(to, a + COMPUTE_SLICE_ROWS));
    // Only between slices: a clock of one slice runs as one step.
    const turn = a + COMPUTE_SLICE_ROWS < to ? y.maybe() : undefined;
    if (turn !== undefined) {
      stats.compute += (performance.now() - t) / 1000;
      await turn;
      t = performance.now();
    }
  }
  stats.n += to - from;
  stats.compute += (performance.now() - t) / 1000;
}

/**
 * One model's training on one worker, in place: the kernel reads and writes the users' rows
 * in their shard arenas (`VersionParams`), and the title rows in a block of the same memory
 * that the worker pulls into before each clock (`titleRows`) and pushes the changes of after.
 */
export interface Trainer {
  readonly titles: readonly string[];
  /** Floats of a title row's slot in `titleRows`: title i's row (factors, then bias) starts at `i * slot`. */
  readonly slot: number;
  /** The pulled title rows, in place (a view: valid until memory grows). */
  titleRows(): Float32Array;
  /** Ratings or triples per epoch. */
  readonly perEpoch: number;
  /** Starts an epoch (its order, or its triples). */
  beginEpoch(): void;
  /**
   * Trains slice `c` of `C` of the epoch at learning rate `lr` (the title rows were just
   * pulled), adding its compute time to `stats.compute`; between runs of
   * `COMPUTE_SLICE_ROWS` rows it lets the event loop turn (`y`), so that this node answers
   * other workers' pulls and pushes and renews its leases while it trains.
   */
  clock(c: number, C: number, lr: number, stats: ClockStats, y: Yielder): Promise<void>;
  /** Adds the held-out part's figure to `stats` (validationSum, validationN). */
  validate(stats: ClockStats): void;
  /** Gives back the memory the trainer placed beside the rows. */
  release(): void;
  /** True: the trainer sends its title rows' changes itself (LightGCN's exchanges), there is no push after a clock. */
  readonly exchanges?: boolean;
  /**
   * After the last epoch's barrier, before its checkpoint: the rows to serve, when they are not
   * the rows trained (LightGCN's final embeddings). `owned` is the live row of a title this
   * node owns, undefined for another's.
   */
  finish?(stats: ClockStats, owned: (key: string) => Float32Array | undefined): Promise<void>;
}

/**
 * Where a trainer's rows are in its version's memory: the users' rows in their shard arenas,
 * through an address table it keeps current (an arena that grows moves its rows), and a
 * block for the pulled title rows.
 */
export class TrainerRows {
  readonly at: RowsAt;
  private seen: number;

  constructor(
    private readonly v: VersionParams,
    private readonly users: readonly LocalUser[],
    titles: number,
  ) {
    const mem = v.memory;
    const k = v.shape.factors;
    const stride = rowFloats(k) * 4;
    this.at = { factors: k, users: mem.alloc(users.length * 4), userCount: users.length, q: mem.alloc(titles * stride), itemCount: titles, stride };
    mem.f32(this.at.q, titles * (stride >>> 2)).fill(0);
    this.seen = v.moves;
    this.find();
  }

  get memory(): WasmArena {
    return this.v.memory;
  }

  /** Finds the users' rows again if any moved since. */
  current(): void {
    if (this.v.moves !== this.seen) this.find();
  }

  titleRows(): Float32Array {
    return this.v.memory.f32(this.at.q, this.at.itemCount * (this.at.stride >>> 2));
  }

  /** Float index of user u's row and title i's row in `memory.heapF32()`. */
  userFloat(addr: Uint32Array, u: number): number {
    return addr[(this.at.users >>> 2) + u]! >>> 2;
  }

  titleFloat(i: number): number {
    return (this.at.q + i * this.at.stride) >>> 2;
  }

  release(): void {
    const mem = this.v.memory;
    mem.free(this.at.users, this.at.userCount * 4);
    mem.free(this.at.q, this.at.itemCount * this.at.stride);
  }

  private find(): void {
    this.seen = this.v.moves;
    const table = this.v.memory.u32(this.at.users, this.users.length);
    for (let u = 0; u < this.users.length; u++) {
      const user = this.users[u]!;
      const a = this.v.arena(Kind.User, user.shard);
      table[u] = a.address(a.row(user.key));
    }
    // Making a row may have moved an arena: the table must hold the addresses after the last move.
    if (this.v.moves !== this.seen) this.find();
  }
}

/** Biased MF by SGD: the local ratings table, the MF kernel over the rows in place; validation RMSE on held-out ratings. */
export class MfTrainer implements Trainer {
  readonly titles: string[];
  readonly perEpoch: number;
  private readonly rows: TrainerRows;
  private readonly runner: MfRowsRunner;
  private readonly orders: EpochOrders;
  private order: Uint32Array = new Uint32Array(0);

  /** The trainer of `data`'s ratings over the rows of version `v` (yields to the event loop while it reads the data). */
  static async create(spec: TrainSpec, data: LocalData, v: VersionParams, mean: number, seed: number): Promise<MfTrainer> {
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
    return new MfTrainer(spec, data, v, mean, seed, b, held);
  }

  private constructor(
    private readonly spec: TrainSpec,
    data: LocalData,
    v: VersionParams,
    private readonly mean: number,
    seed: number,
    b: RatingsTableBuilder,
    private readonly held: Array<[number, number, number]>,
  ) {
    const table = b.build();
    this.perEpoch = table.n;
    this.titles = Array.from({ length: b.itemIds.size }, (_, i) => b.itemIds.idOf(i));
    this.rows = new TrainerRows(v, data.users, this.titles.length);
    this.runner = mfRows(spec.kernel, v.memory, this.rows.at, table, mean);
    this.orders = new EpochOrders(table.n, seed);
  }

  get slot(): number {
    return this.rows.at.stride >>> 2;
  }

  titleRows(): Float32Array {
    return this.rows.titleRows();
  }

  beginEpoch(): void {
    this.order = this.orders.next();
  }

  async clock(c: number, C: number, lr: number, stats: ClockStats, y: Yielder): Promise<void> {
    const from = Math.floor((c * this.order.length) / C);
    const to = Math.floor(((c + 1) * this.order.length) / C);
    const step = { lr, regFactor: this.spec.regFactor, regBias: this.spec.regBias };
    await inSlices(from, to, stats, y, (a, b) => {
      // A turn of the event loop may have grown an arena (an actor made a row): addresses first.
      this.rows.current();
      stats.loss += this.runner.sgd(this.order.subarray(a, b), step);
    });
  }

  validate(stats: ClockStats): void {
    this.rows.current();
    const heap = this.rows.memory.heapF32();
    const addr = this.rows.memory.heapU32();
    const k = this.spec.factors;
    for (const [u, i, r] of this.held) {
      const pu = this.rows.userFloat(addr, u);
      const qi = this.rows.titleFloat(i);
      let y = this.mean + heap[pu + k]! + heap[qi + k]!;
      for (let f = 0; f < k; f++) y += heap[pu + f]! * heap[qi + f]!;
      y = Math.min(5, Math.max(0.5, y));
      stats.validationSum += (y - r) * (y - r);
      stats.validationN++;
    }
  }

  release(): void {
    this.runner.release();
    this.rows.release();
  }
}

/**
 * `data`'s interactions as positives against the catalog `titles` (every title of the version,
 * interned first, so that an item's index is its place in the catalog and negatives come from
 * every node's titles): the training ones in a table builder, the held-out ones apart, and
 * each user's titles (`seen`, which a negative never is). BPR's and LightGCN's trainers.
 */
export async function catalogInteractions(spec: TrainSpec, data: LocalData, titles: readonly string[]): Promise<{ b: RatingsTableBuilder; held: Array<[number, number]>; seen: Set<number>[] }> {
  const b = new RatingsTableBuilder();
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
  return { b, held, seen };
}

/**
 * The AUC of held-out positives against one negative each (drawn uniformly over `titles`
 * titles, never one the user has), added to `stats`' validation sums: `score(u, i)` ranks.
 */
export function heldOutAuc(held: ReadonlyArray<[number, number]>, seen: ReadonlyArray<Set<number>>, titles: number, rng: Rng, score: (u: number, i: number) => number, stats: ClockStats): void {
  for (const [u, i] of held) {
    let j = rng.below(titles);
    for (let tries = 0; seen[u]!.has(j) && tries < 64; tries++) j = rng.below(titles);
    if (seen[u]!.has(j)) continue;
    stats.validationSum += score(u, i) > score(u, j) ? 1 : 0;
    stats.validationN++;
  }
}

/**
 * BPR-MF by SGD on (user, positive, negative) triples: every interaction of this node's users
 * is a positive, negatives come from the whole catalog (every title of the version, pulled
 * each clock), uniform or ∝ local popularity^β. Validation: the AUC of held-out positives
 * against one sampled negative each. A user row's bias stays 0 (BPR has none).
 */
export class BprTrainer implements Trainer {
  readonly perEpoch: number;
  private readonly rows: TrainerRows;
  private readonly runner: BprRowsRunner;
  private readonly sampler: BprSampler;
  private readonly rng: Rng;
  private triples: ReturnType<BprSampler['next']> | undefined;

  /** The trainer of `data`'s interactions against the catalog `titles`, over the rows of version `v` (yields to the event loop while it reads the data). */
  static async create(spec: TrainSpec, data: LocalData, v: VersionParams, titles: readonly string[], seed: number): Promise<BprTrainer> {
    const { b, held, seen } = await catalogInteractions(spec, data, titles);
    return new BprTrainer(spec, data, v, titles, seed, b, held, seen);
  }

  private constructor(
    private readonly spec: TrainSpec,
    data: LocalData,
    v: VersionParams,
    readonly titles: readonly string[],
    seed: number,
    b: RatingsTableBuilder,
    private readonly held: Array<[number, number]>,
    private readonly seen: Set<number>[],
  ) {
    const table = b.build();
    this.perEpoch = table.n;
    this.rows = new TrainerRows(v, data.users, titles.length);
    this.runner = bprRows(spec.kernel, v.memory, this.rows.at);
    this.sampler = new BprSampler(table, spec.negatives, spec.popularityExponent, seed, titles.length);
    this.rng = new Rng((seed ^ 0x1b873593) >>> 0);
  }

  get slot(): number {
    return this.rows.at.stride >>> 2;
  }

  titleRows(): Float32Array {
    return this.rows.titleRows();
  }

  beginEpoch(): void {
    this.triples = this.sampler.next();
  }

  async clock(c: number, C: number, lr: number, stats: ClockStats, y: Yielder): Promise<void> {
    const t = this.triples!;
    const from = Math.floor((c * t.n) / C);
    const to = Math.floor(((c + 1) * t.n) / C);
    const step = { lr, reg: this.spec.regFactor, regBias: this.spec.regBias };
    await inSlices(from, to, stats, y, (a, b) => {
      this.rows.current();
      stats.loss += this.runner.epoch({ n: b - a, u: t.u.subarray(a, b), i: t.i.subarray(a, b), j: t.j.subarray(a, b) }, step);
    });
  }

  validate(stats: ClockStats): void {
    this.rows.current();
    const heap = this.rows.memory.heapF32();
    const addr = this.rows.memory.heapU32();
    const T = this.titles.length;
    const k = this.spec.factors;
    const score = (u: number, i: number): number => {
      const pu = this.rows.userFloat(addr, u);
      const qi = this.rows.titleFloat(i);
      let s = heap[qi + k]!;
      for (let f = 0; f < k; f++) s += heap[pu + f]! * heap[qi + f]!;
      return s;
    };
    heldOutAuc(this.held, this.seen, T, this.rng, score, stats);
  }

  release(): void {
    this.runner.release();
    this.rows.release();
  }
}
