import { ModelArgumentError, TrainingDiverged } from './errors.js';
import { checkEpochs, parseMfHyperparameters, type MfHyperparameters } from './mf-options.js';
import type { Scorer } from './metrics.js';
import { countsOf, ratingRange, type RatingsTable } from './ratings.js';
import { EpochOrders, Rng } from './rng.js';

/**
 * Biased matrix factorization for explicit ratings (Funk; Koren, Bell and Volinsky 2009):
 * r̂(u, i) = mu + b_u + b_i + p_u · q_i. Every parameter sits in a flat `Float32Array`, so
 * that the same memory can be handed to a WebAssembly kernel, moved with a shard or written
 * to a checkpoint without conversion.
 *
 * Layout: the factors of user u are `p[u*factors .. (u+1)*factors)`, of item i
 * `q[i*factors .. (i+1)*factors)`. Users and items are the dense indices of a
 * `RatingsTable`; an index at or past `users` (`items`) is one training never saw.
 */
export interface MfModel {
  readonly users: number;
  readonly items: number;
  readonly factors: number;
  /** users × factors, row-major. */
  readonly p: Float32Array;
  /** items × factors, row-major. */
  readonly q: Float32Array;
  /** User biases, one per user. */
  readonly bu: Float32Array;
  /** Item biases, one per item. */
  readonly bi: Float32Array;
  /** The global mean of the training ratings; fixed, not learned. */
  readonly mu: number;
  /** Predictions are clamped to [minRating, maxRating], the training ratings' range. */
  readonly minRating: number;
  readonly maxRating: number;
}

/**
 * One epoch's scalars: the learning rate after its schedule, and the regularisation, per
 * parameter: `regFactor` and `regBias` for every factor and bias, each override for one kind.
 */
export interface SgdStep {
  /** Learning rate of this epoch (biases and factors alike). */
  lr: number;
  /** L2 regularisation of the factors. */
  regFactor: number;
  /** L2 regularisation of the biases. */
  regBias: number;
  /** Of the user factors p_u alone. @default regFactor */
  regUser?: number;
  /** Of the item factors q_i alone. @default regFactor */
  regItem?: number;
  /** Of the user biases b_u alone. @default regBias */
  regUserBias?: number;
  /** Of the item biases b_i alone. @default regBias */
  regItemBias?: number;
}

/**
 * The factors each parameter is multiplied by before its gradient step, 1 − lr·λ, for the
 * step's four regularisations (the SGD epochs of MF and SVD++ share them).
 */
export function stepShrinks(step: SgdStep): { shrinkP: number; shrinkQ: number; shrinkBu: number; shrinkBi: number } {
  const regs = stepRegs(step);
  return {
    shrinkP: 1 - step.lr * regs.regUser,
    shrinkQ: 1 - step.lr * regs.regItem,
    shrinkBu: 1 - step.lr * regs.regUserBias,
    shrinkBi: 1 - step.lr * regs.regItemBias,
  };
}

/** The four regularisations of a step, each override resolved. */
export function stepRegs(step: SgdStep): { regUser: number; regItem: number; regUserBias: number; regItemBias: number } {
  return {
    regUser: step.regUser ?? step.regFactor,
    regItem: step.regItem ?? step.regFactor,
    regUserBias: step.regUserBias ?? step.regBias,
    regItemBias: step.regItemBias ?? step.regBias,
  };
}

/** The step of an epoch at learning rate `lr` under parsed hyperparameters `h`. */
export function stepOf(h: Required<MfHyperparameters>, lr: number): SgdStep {
  return { lr, regFactor: h.regFactor, regBias: h.regBias, regUser: h.regUser, regItem: h.regItem, regUserBias: h.regUserBias, regItemBias: h.regItemBias };
}

/**
 * A new model for `table` (sized by its `userCount` and `itemCount`): mu the mean rating,
 * biases 0, factors normal with standard deviation `initStd` drawn from `seed`, users first
 * then items, row by row. Rows no rating of `table` touches stay 0, so that an id present
 * only in a held-out part predicts from the biases instead of random noise.
 */
export function createMfModel(table: RatingsTable, hp: MfHyperparameters, seed: number): MfModel {
  const { factors, initStd } = parseMfHyperparameters(hp);
  if (table.n === 0) throw new ModelArgumentError('cannot train on an empty ratings table', ['table']);
  const { userCount: users, itemCount: items } = table;
  const rng = new Rng(seed);
  const p = new Float32Array(users * factors);
  const q = new Float32Array(items * factors);
  for (let j = 0; j < p.length; j++) p[j] = rng.normal() * initStd;
  for (let j = 0; j < q.length; j++) q[j] = rng.normal() * initStd;
  zeroUntouchedRows(p, countsOf(table.users, users), factors);
  zeroUntouchedRows(q, countsOf(table.items, items), factors);
  let sum = 0;
  for (let j = 0; j < table.n; j++) sum += table.ratings[j]!;
  const { min, max } = ratingRange(table);
  return { users, items, factors, p, q, bu: new Float32Array(users), bi: new Float32Array(items), mu: sum / table.n, minRating: min, maxRating: max };
}

function zeroUntouchedRows(m: Float32Array, counts: Uint32Array, k: number): void {
  for (let r = 0; r < counts.length; r++) if (counts[r] === 0) m.fill(0, r * k, (r + 1) * k);
}

/**
 * One pass of stochastic gradient descent over the ratings of `table` in the order `order`
 * (row positions of the table, each below `table.n`; any subset or repetition works),
 * updating `model` in place.
 * This is the hot loop, and the contract a WebAssembly kernel implements: for each row j,
 *
 *     e    = r_j − (mu + b_u + b_i + p_u · q_i)      (unclamped; the dot product in the
 *                                                 order of `dotMf`)
 *     b_u += lr (e − regUserBias b_u)
 *     b_i += lr (e − regItemBias b_i)
 *     p_u += lr (e q_i − regUser p_u)       } both from the values before this row,
 *     q_i += lr (e p_u − regItem q_i)       } factor by factor
 *
 * (each per-parameter regularisation defaulting to `regFactor` or `regBias`, `stepRegs`).
 *
 * Returns the sum of e² over the rows, each e taken before its row's update: the epoch's
 * training loss as it went. The reference computes in doubles and stores floats; a float
 * kernel agrees within float tolerance, not bit for bit.
 */
export function sgdEpoch(model: MfModel, table: RatingsTable, order: Uint32Array, step: SgdStep): number {
  checkTableFits(model, table);
  const { p, q, bu, bi, factors: k } = model;
  return sgdAt({ p, pu: (u) => u * k, bu, bu_: (u) => u, q, qi: (i) => i * k, bi, bi_: (i) => i }, k, model.mu, table, order, step);
}

/**
 * Where `sgdAt` finds a run's parameters: the arrays holding the user factors, user biases,
 * item factors and item biases, and the offset of each row's factors and bias in them (the
 * same array may hold several: rows of factors then bias, trained in place, `mf-rows.ts`).
 */
export interface MfParamsAt {
  p: Float32Array;
  pu(u: number): number;
  bu: Float32Array;
  bu_(u: number): number;
  q: Float32Array;
  qi(i: number): number;
  bi: Float32Array;
  bi_(i: number): number;
}

/** `sgdEpoch`'s contract over parameters found through `at`. */
export function sgdAt(at: MfParamsAt, k: number, mu: number, table: RatingsTable, order: Uint32Array, step: SgdStep): number {
  const { p, q, bu, bi } = at;
  const { users, items, ratings } = table;
  const lr = step.lr;
  const { shrinkP, shrinkQ, shrinkBu, shrinkBi } = stepShrinks(step);
  const n = order.length;
  let sse = 0;
  for (let t = 0; t < n; t++) {
    const j = order[t]!;
    const u = users[j]!;
    const i = items[j]!;
    const pu = at.pu(u);
    const qi = at.qi(i);
    const bu_ = at.bu_(u);
    const bi_ = at.bi_(i);
    const e = ratings[j]! - (mu + bu[bu_]! + bi[bi_]! + dotMf(p, pu, q, qi, k));
    sse += e * e;
    const g = lr * e;
    // x += lr (e y − reg x) written as x·(1 − lr reg) + lr e y: the same update, fewer operations.
    bu[bu_] = bu[bu_]! * shrinkBu + g;
    bi[bi_] = bi[bi_]! * shrinkBi + g;
    for (let a = pu, b = qi, end = pu + k; a < end; a++, b++) {
      const pf = p[a]!;
      const qf = q[b]!;
      p[a] = pf * shrinkP + g * qf;
      q[b] = qf * shrinkQ + g * pf;
    }
  }
  return sse;
}

/**
 * p[pu ..] · q[qi ..] over `k` factors, summed in the order of the WebAssembly kernel's four
 * f32x4 accumulators (independent chains, so that the SIMD dot product is three additions
 * deep at 32 factors, not eight): sixteen partial sums, factor f of the whole groups of four
 * into sum f mod 16 in increasing f, the factors past them into sum 0; then lane by lane
 * (s_l + s_4+l) + (s_8+l + s_12+l), and those four lanes as (l0 + l1) + (l2 + l3).
 */
export function dotMf(p: Float32Array, pu: number, q: Float32Array, qi: number, k: number): number {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
  let s8 = 0, s9 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0, s14 = 0, s15 = 0;
  const k4 = k & ~3;
  const k16 = k & ~15;
  let f = 0;
  for (; f < k16; f += 16) {
    const a = pu + f;
    const b = qi + f;
    s0 += p[a]! * q[b]!; s1 += p[a + 1]! * q[b + 1]!; s2 += p[a + 2]! * q[b + 2]!; s3 += p[a + 3]! * q[b + 3]!;
    s4 += p[a + 4]! * q[b + 4]!; s5 += p[a + 5]! * q[b + 5]!; s6 += p[a + 6]! * q[b + 6]!; s7 += p[a + 7]! * q[b + 7]!;
    s8 += p[a + 8]! * q[b + 8]!; s9 += p[a + 9]! * q[b + 9]!; s10 += p[a + 10]! * q[b + 10]!; s11 += p[a + 11]! * q[b + 11]!;
    s12 += p[a + 12]! * q[b + 12]!; s13 += p[a + 13]! * q[b + 13]!; s14 += p[a + 14]! * q[b + 14]!; s15 += p[a + 15]! * q[b + 15]!;
  }
  // At most three whole groups of four are left: sums 0–3, then 4–7, then 8–11.
  if (f < k4) {
    s0 += p[pu + f]! * q[qi + f]!; s1 += p[pu + f + 1]! * q[qi + f + 1]!; s2 += p[pu + f + 2]! * q[qi + f + 2]!; s3 += p[pu + f + 3]! * q[qi + f + 3]!;
    f += 4;
  }
  if (f < k4) {
    s4 += p[pu + f]! * q[qi + f]!; s5 += p[pu + f + 1]! * q[qi + f + 1]!; s6 += p[pu + f + 2]! * q[qi + f + 2]!; s7 += p[pu + f + 3]! * q[qi + f + 3]!;
    f += 4;
  }
  if (f < k4) {
    s8 += p[pu + f]! * q[qi + f]!; s9 += p[pu + f + 1]! * q[qi + f + 1]!; s10 += p[pu + f + 2]! * q[qi + f + 2]!; s11 += p[pu + f + 3]! * q[qi + f + 3]!;
    f += 4;
  }
  for (; f < k; f++) s0 += p[pu + f]! * q[qi + f]!;
  const l0 = (s0 + s4) + (s8 + s12);
  const l1 = (s1 + s5) + (s9 + s13);
  const l2 = (s2 + s6) + (s10 + s14);
  const l3 = (s3 + s7) + (s11 + s15);
  return (l0 + l1) + (l2 + l3);
}

/** Refuses a table whose user or item indices reach past the model's rows (every kernel's precondition). */
export function checkTableFits(model: MfModel, table: RatingsTable): void {
  if (table.userCount > model.users || table.itemCount > model.items) {
    throw new ModelArgumentError(`the table's indices (${table.userCount} users, ${table.itemCount} items) exceed the model's (${model.users}, ${model.items})`, ['table']);
  }
}

/**
 * Epochs of one model's SGD contract on one model and table, whatever computes them: the
 * reference updates the model in place; a WebAssembly session works on its own copy and
 * writes it back on `readBack`, so that the copy in is paid once per training run.
 */
export interface EpochRunner<S extends SgdStep = SgdStep> {
  sgdEpoch(order: Uint32Array, step: S): number;
  /** Brings the model up to date with the epochs run so far. */
  readBack(): void;
  /** Takes the model's parameters as they are now (changed outside, e.g. pulled from a parameter server). */
  reload(): void;
}

/** The runner of `sgdEpoch`'s contract. */
export type MfEpochRunner = EpochRunner<SgdStep>;

/** Makes the runner of a training run. */
export type Kernel<M extends MfModel, S extends SgdStep> = (model: M, table: RatingsTable) => EpochRunner<S>;
export type MfKernel = Kernel<MfModel, SgdStep>;

/** The plain-TypeScript reference, `sgdEpoch`, in place. */
export const tsKernel: MfKernel = (model, table) => ({
  sgdEpoch: (order, step) => sgdEpoch(model, table, order, step),
  readBack: () => undefined,
  reload: () => undefined,
});

/** The predicted rating of user `u` for item `i`, clamped; unseen ids contribute nothing. */
export function predictMf(model: MfModel, u: number, i: number): number {
  const ku = u < model.users;
  const ki = i < model.items;
  let r = model.mu + (ku ? model.bu[u]! : 0) + (ki ? model.bi[i]! : 0);
  if (ku && ki) {
    const { p, q, factors: k } = model;
    for (let f = 0, pu = u * k, qi = i * k; f < k; f++) r += p[pu + f]! * q[qi + f]!;
  }
  return r < model.minRating ? model.minRating : r > model.maxRating ? model.maxRating : r;
}

/** `predictMf` for every rating of `table` (read against the model's indices). */
export function predictTable(model: MfModel, table: RatingsTable, out = new Float32Array(table.n)): Float32Array {
  for (let j = 0; j < table.n; j++) out[j] = predictMf(model, table.users[j]!, table.items[j]!);
  return out;
}

/**
 * Ranking scores of every trained item for user `u` into `out` (length ≥ `items`):
 * b_i + p_u · q_i, unclamped (clamping would tie the top), without mu + b_u, which are the
 * same for every item. An unseen user ranks by item bias alone.
 */
export function scoreItemsMf(model: MfModel, u: number, out: Float32Array): void {
  const { q, bi, factors: k, items } = model;
  if (u >= model.users) {
    out.set(bi);
    return;
  }
  const pu = u * k;
  const p = model.p;
  for (let i = 0; i < items; i++) {
    let s = bi[i]!;
    for (let f = 0, qi = i * k; f < k; f++) s += p[pu + f]! * q[qi + f]!;
    out[i] = s;
  }
}

/** What `train` reports after each epoch. */
export interface EpochReport<M extends MfModel = MfModel> {
  /** 1-based. */
  epoch: number;
  /** The learning rate this epoch ran with. */
  lr: number;
  /** √(sse / n) of the epoch, from `sgdEpoch`. */
  trainRmse: number;
  /** Wall time of `sgdEpoch` alone, in seconds. */
  seconds: number;
  model: M;
}

export interface TrainOptions<M extends MfModel = MfModel, S extends SgdStep = SgdStep> {
  /** Epochs to run (a whole number ≥ 1). */
  epochs: number;
  /** Seeds the initial factors and every epoch's order. */
  seed: number;
  /** Called after each epoch; returning false stops training there (early stopping). */
  onEpoch?: (report: EpochReport<M>) => boolean | void;
  /** What runs the epochs: the plain-TypeScript reference (the default) or the WebAssembly kernel. */
  kernel?: Kernel<M, S>;
}

/**
 * The loop every SGD model shares: per epoch an order from `nextOrder`, the step of the
 * current learning rate, a divergence check, the report, then the rate times `lrDecay`.
 */
export function runSgdEpochs<M extends MfModel, S extends SgdStep>(
  model: M,
  schedule: { lr: number; lrDecay: number; epochs: number },
  runner: EpochRunner<S>,
  nextOrder: () => Uint32Array,
  stepAt: (lr: number) => S,
  onEpoch?: (report: EpochReport<M>) => boolean | void,
): M {
  let lr = schedule.lr;
  for (let epoch = 1; epoch <= schedule.epochs; epoch++) {
    const order = nextOrder();
    const t0 = performance.now();
    const sse = runner.sgdEpoch(order, stepAt(lr));
    const seconds = (performance.now() - t0) / 1000;
    if (!Number.isFinite(sse)) throw new TrainingDiverged(epoch, schedule.lr);
    if (onEpoch) {
      // The callback may evaluate the model (early stopping): it must see this epoch.
      runner.readBack();
      if (onEpoch({ epoch, lr, trainRmse: Math.sqrt(sse / order.length), seconds, model }) === false) return model;
    }
    lr *= schedule.lrDecay;
  }
  runner.readBack();
  return model;
}

/**
 * Trains a model on `table`: a seeded initial model, then `epochs` passes of `sgdEpoch`,
 * the order reshuffled before every epoch by the same seeded generator and the learning
 * rate multiplied by `lrDecay` after every epoch. Deterministic for a given table, seed and
 * hyperparameters.
 */
export function trainMf(table: RatingsTable, hp: MfHyperparameters, opts: TrainOptions): MfModel {
  const h = parseMfHyperparameters(hp);
  const epochs = checkEpochs(opts.epochs);
  const model = createMfModel(table, h, opts.seed);
  const orders = new EpochOrders(table.n, opts.seed);
  const runner = (opts.kernel ?? tsKernel)(model, table);
  return runSgdEpochs(model, { lr: h.lr, lrDecay: h.lrDecay, epochs }, runner, () => orders.next(), (lr) => stepOf(h, lr), opts.onEpoch);
}

/** The model as a `Scorer` for top-K metrics. */
export function mfScorer(model: MfModel): Scorer {
  return { items: model.items, score: (u, out) => scoreItemsMf(model, u, out) };
}
