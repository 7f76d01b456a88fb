import {
  BprSampler, EpochOrders, MF_KERNELS, RatingsTableBuilder, Rng, tsBprKernel, wasmBprKernel,
  type BprEpochRunner, type BprModel, type MfEpochRunner, type MfModel, type RatingsTable,
} from '../../models/index.js';
import { fmix32, fnv1a, FNV_OFFSET } from '../../runtime/index.js';
import type { ClockStats } from './messages.js';
import type { UserHistory } from './node-params.js';
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
  /** Sum of the training ratings (the global mean's share; 0 for implicit models) and their count. */
  sum: number;
  count: number;
  /** Sum of stable hashes of (user, title) of the data, for the job's fingerprint. */
  hash: number;
}

function holdoutHash(user: string, title: string): number {
  return fmix32(fnv1a(fnv1a((FNV_OFFSET ^ HOLDOUT_SALT) >>> 0, user), title));
}

/** The worker's users and their data identity: RATING interactions for MF, every interaction for BPR. */
export function localData(spec: TrainSpec, users: LocalUser[]): LocalData {
  const cut = spec.validationFraction * 4294967296;
  let sum = 0;
  let count = 0;
  let hash = 0;
  for (const u of users) {
    const h = u.history;
    for (let x = 0; x < h.titles.length; x++) {
      const r = h.values[x]!;
      if (spec.model === 'mf' && Number.isNaN(r)) continue;
      const hh = holdoutHash(u.key, h.titles[x]!);
      hash = (hash + hh) >>> 0;
      if (hh < cut) continue;
      count++;
      if (spec.model === 'mf') sum += r;
    }
  }
  return { users, sum, count, hash };
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
  /** Trains slice `c` of `C` of the epoch at learning rate `lr` (the title rows were just pulled into `q`, `bi`). */
  clock(c: number, C: number, lr: number, stats: ClockStats): void;
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
  private readonly held: Array<[number, number, number]> = [];
  private readonly orders: EpochOrders;
  private order: Uint32Array = new Uint32Array(0);

  constructor(
    private readonly spec: TrainSpec,
    data: LocalData,
    rowOf: RowOf,
    mean: number,
    seed: number,
  ) {
    const b = new RatingsTableBuilder();
    const cut = spec.validationFraction * 4294967296;
    for (const u of data.users) {
      const ui = b.userIds.intern(u.key);
      const h = u.history;
      for (let x = 0; x < h.titles.length; x++) {
        const r = h.values[x]!;
        if (Number.isNaN(r)) continue;
        const title = h.titles[x]!;
        if (holdoutHash(u.key, title) < cut) this.held.push([ui, b.itemIds.intern(title), r]);
        else b.add(u.key, title, r);
      }
    }
    this.table = b.build();
    this.perEpoch = this.table.n;
    this.titles = Array.from({ length: b.itemIds.size }, (_, i) => String(b.itemIds.idOf(i)));
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

  clock(c: number, C: number, lr: number, stats: ClockStats): void {
    this.runner.reload();
    const from = Math.floor((c * this.order.length) / C);
    const to = Math.floor(((c + 1) * this.order.length) / C);
    stats.loss += this.runner.sgdEpoch(this.order.subarray(from, to), { lr, regFactor: this.spec.regFactor, regBias: this.spec.regBias });
    stats.n += to - from;
    this.runner.readBack();
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
  private readonly held: Array<[number, number]> = [];
  private readonly seen: Set<number>[] = [];
  private readonly rng: Rng;
  private triples: ReturnType<BprSampler['next']> | undefined;

  constructor(
    private readonly spec: TrainSpec,
    data: LocalData,
    rowOf: RowOf,
    readonly titles: readonly string[],
    seed: number,
  ) {
    const b = new RatingsTableBuilder();
    // The catalog first: negatives are drawn from every title, not only this node's.
    for (const t of titles) b.itemIds.intern(t);
    const cut = spec.validationFraction * 4294967296;
    for (const u of data.users) {
      const ui = b.userIds.intern(u.key);
      const seen = new Set<number>();
      this.seen[ui] = seen;
      for (const title of u.history.titles) {
        const ti = b.itemIds.get(title);
        if (ti === undefined) continue;
        seen.add(ti);
        if (holdoutHash(u.key, title) < cut) this.held.push([ui, ti]);
        else b.add(u.key, title, 1);
      }
    }
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

  clock(c: number, C: number, lr: number, stats: ClockStats): void {
    const t = this.triples!;
    const from = Math.floor((c * t.n) / C);
    const to = Math.floor(((c + 1) * t.n) / C);
    this.runner.reload();
    stats.loss += this.runner.epoch({ n: to - from, u: t.u.subarray(from, to), i: t.i.subarray(from, to), j: t.j.subarray(from, to) }, { lr, reg: this.spec.regFactor, regBias: this.spec.regBias });
    stats.n += to - from;
    this.runner.readBack();
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
