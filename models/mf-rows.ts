import { ModelArgumentError } from './errors.js';
import { sgdAt, stepRegs, type SgdStep } from './mf.js';
import type { RatingsTable } from './ratings.js';
import type { KernelBase, WasmArena } from './wasm-arena.js';

/**
 * Training in place: the kernels read and write rows where they live in a kernel instance's
 * linear memory (a one-process run's own arrays, or a node's shard arenas), addressed rather
 * than indexed, so that a user's row can sit in any shard's arena and nothing is copied in or
 * out around an epoch.
 *
 * A row is the factors, then the bias, in a slot of `rowFloats(factors)` floats (whole
 * 16-byte vectors, so that every row is aligned for SIMD).
 */

/** Floats of one row's slot: `factors + 1` rounded up to a multiple of 4. */
export function rowFloats(factors: number): number {
  return (factors + 4) & ~3;
}

/** Where a run's rows are, as byte offsets in the arena's memory. */
export interface RowsAt {
  readonly factors: number;
  /** A table of `userCount` u32: user u's row is at `memory[users + 4u]`. */
  readonly users: number;
  readonly userCount: number;
  /** Item i's row is at `q + i * stride`. */
  readonly q: number;
  readonly itemCount: number;
  /** Bytes between item rows (`4 · rowFloats(factors)` for a packed block). */
  readonly stride: number;
}

/** What `mf.as.ts` exports. */
interface MfExports extends KernelBase {
  checkOrder(order: number, n: number, rows: number): number;
  sgdEpoch(
    users: number, q: number, stride: number,
    records: number, order: number, scratch: number, block: number, touch: boolean,
    n: number, k: number,
    mu: number, lr: number, regUser: number, regItem: number, regUserBias: number, regItemBias: number,
  ): number;
}

/** Bytes of one rating record in the kernel's memory: user (u32), item (u32), rating (f32), unused. */
const RECORD_BYTES = 16;
/**
 * Rows the kernel gathers at a time (`mf.as.ts`): their records (16 KiB) stay in L1 and
 * their user and item rows (about 290 KiB at 32 factors) in L2 until their updates.
 */
export const MF_GATHER_BLOCK = 1024;
/**
 * Above this many bytes of rows the kernel loads each block's rows ahead of its updates:
 * measured, it pays on 10 million ratings (14 MB of factors, 2.5× faster) and costs about 15%
 * on ml-100k (330 KB, which stays in L2 anyway).
 */
export const MF_TOUCH_ABOVE_BYTES = 1 << 20;
/**
 * Rows per kernel call (about a millisecond): V8 runs a call to its end in the code it began
 * with, so a first epoch of millions of rows in one call would run wholly in the baseline
 * compiler's code, two to three times slower; in slices, the optimised code takes over within
 * the epoch.
 */
export const MF_CALL_ROWS = 1 << 16;

/** One MF-SGD run over rows in place: `sgd` runs an order of the table's rows, `release` gives back its memory. */
export interface MfRowsRunner {
  sgd(order: Uint32Array, step: SgdStep): number;
  release(): void;
}

/**
 * The WebAssembly SIMD kernel over the rows at `at` in `arena`: the table's ratings are
 * copied in once as 16-byte records (user, item, rating: one cache line serves a random row
 * instead of three), beside the kernel's gather scratch; each call copies in its order.
 */
export class WasmMfRows implements MfRowsRunner {
  private readonly records: number;
  private readonly scratch: number;
  private order = { at: 0, capacity: 0 };
  private readonly rows: number;
  private readonly touch: boolean;

  constructor(
    private readonly arena: WasmArena,
    private readonly at: RowsAt,
    table: RatingsTable,
    private readonly mu: number,
  ) {
    checkRowsFit(at, table);
    const n = (this.rows = table.n);
    this.touch = (at.userCount + at.itemCount) * at.stride > MF_TOUCH_ABOVE_BYTES;
    this.records = arena.alloc(n * RECORD_BYTES);
    this.scratch = arena.alloc((MF_GATHER_BLOCK + 1) * RECORD_BYTES);
    const rec = arena.u32(this.records, n * 4);
    const recRatings = arena.f32(this.records, n * 4);
    const { users: tu, items: ti, ratings: tr } = table;
    for (let j = 0, w = 0; j < n; j++, w += 4) {
      rec[w] = tu[j]!;
      rec[w + 1] = ti[j]!;
      recRatings[w + 2] = tr[j]!;
    }
  }

  sgd(order: Uint32Array, step: SgdStep): number {
    const n = order.length;
    const a = this.arena;
    const ex = a.ex as MfExports;
    if (n > this.order.capacity) {
      if (this.order.capacity > 0) a.free(this.order.at, this.order.capacity * 4);
      this.order = { at: a.alloc(n * 4), capacity: n };
    }
    const o = this.order.at;
    a.u32(o, n).set(order);
    const bad = ex.checkOrder(o, n, this.rows);
    if (bad >= 0) throw new ModelArgumentError(`order[${bad}] = ${order[bad]} is not a row of the table (${this.rows} rows)`, ['order']);
    const g = stepRegs(step);
    const at = this.at;
    let sse = 0;
    for (let from = 0; from < n; from += MF_CALL_ROWS) {
      sse += ex.sgdEpoch(
        at.users, at.q, at.stride, this.records, o + from * 4, this.scratch, MF_GATHER_BLOCK, this.touch,
        Math.min(MF_CALL_ROWS, n - from), at.factors, this.mu, step.lr, g.regUser, g.regItem, g.regUserBias, g.regItemBias,
      );
    }
    return sse;
  }

  release(): void {
    const a = this.arena;
    a.free(this.records, this.rows * RECORD_BYTES);
    a.free(this.scratch, (MF_GATHER_BLOCK + 1) * RECORD_BYTES);
    if (this.order.capacity > 0) a.free(this.order.at, this.order.capacity * 4);
    this.order = { at: 0, capacity: 0 };
  }
}

/**
 * The same contract in plain TypeScript over the arena's memory: `sgdEpoch` of `mf.ts` (the
 * reference) with rows found by address. For `--kernel ts`, and to test the kernel against.
 */
export class TsMfRows implements MfRowsRunner {
  constructor(
    private readonly arena: WasmArena,
    private readonly at: RowsAt,
    private readonly table: RatingsTable,
    private readonly mu: number,
  ) {
    checkRowsFit(at, table);
  }

  sgd(order: Uint32Array, step: SgdStep): number {
    const rows = this.table.n;
    for (let t = 0; t < order.length; t++) {
      if (order[t]! >= rows) throw new ModelArgumentError(`order[${t}] = ${order[t]} is not a row of the table (${rows} rows)`, ['order']);
    }
    const heap = this.arena.heapF32();
    const addr = this.arena.heapU32();
    const { factors: k, users, q, stride } = this.at;
    const pu = (u: number): number => addr[(users >>> 2) + u]! >>> 2;
    const qi = (i: number): number => (q + i * stride) >>> 2;
    return sgdAt({ p: heap, pu, bu: heap, bu_: (u) => pu(u) + k, q: heap, qi, bi: heap, bi_: (i) => qi(i) + k }, k, this.mu, this.table, order, step);
  }

  release(): void {}
}

/** The runner of `kernel` over the rows at `at`. */
export function mfRows(kernel: 'wasm' | 'ts', arena: WasmArena, at: RowsAt, table: RatingsTable, mu: number): MfRowsRunner {
  return kernel === 'wasm' ? new WasmMfRows(arena, at, table, mu) : new TsMfRows(arena, at, table, mu);
}

function checkRowsFit(at: RowsAt, table: RatingsTable): void {
  if (table.userCount > at.userCount || table.itemCount > at.itemCount) {
    throw new ModelArgumentError(`the table (${table.userCount} users, ${table.itemCount} items) does not fit rows of ${at.userCount} users and ${at.itemCount} items`, ['table']);
  }
  if (at.stride % 16 !== 0 || at.stride < 4 * (at.factors + 1)) throw new ModelArgumentError(`a row stride of ${at.stride} bytes does not hold ${at.factors} factors and a bias in whole vectors`, ['stride']);
}

/**
 * A one-process run's rows in its own arena: `users` and `items` packed rows (factors, bias),
 * and the user rows' address table.
 */
export function packedRowsAt(arena: WasmArena, users: number, items: number, factors: number): RowsAt & { p: number } {
  const stride = rowFloats(factors) * 4;
  const p = arena.alloc(users * stride);
  const q = arena.alloc(items * stride);
  const table = arena.alloc(users * 4);
  const t = arena.u32(table, users);
  for (let r = 0; r < users; r++) t[r] = p + r * stride;
  return { factors, users: table, userCount: users, q, itemCount: items, stride, p };
}

/** Factors (`k` a row, row-major) and biases into packed rows at `at`, and back. */
export function rowsIn(arena: WasmArena, at: number, stride: number, k: number, factors: Float32Array, bias: Float32Array | undefined): void {
  const heap = arena.heapF32();
  const s = stride >>> 2;
  for (let r = 0, o = at >>> 2; r * k < factors.length; r++, o += s) {
    heap.set(factors.subarray(r * k, (r + 1) * k), o);
    heap[o + k] = bias === undefined ? 0 : bias[r]!;
  }
}

export function rowsOut(arena: WasmArena, at: number, stride: number, k: number, factors: Float32Array, bias: Float32Array | undefined): void {
  const heap = arena.heapF32();
  const s = stride >>> 2;
  for (let r = 0, o = at >>> 2; r * k < factors.length; r++, o += s) {
    factors.set(heap.subarray(o, o + k), r * k);
    if (bias !== undefined) bias[r] = heap[o + k]!;
  }
}
