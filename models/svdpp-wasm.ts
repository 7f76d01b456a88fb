import { ModelArgumentError } from './errors.js';
import { checkTableFits, stepRegs, type EpochRunner } from './mf.js';
import { ensureMemory, instantiateKernels, layoutArrays, loadMfKernel, type WasmMemory, type WasmModule } from './mf-wasm.js';
import type { RatingsTable } from './ratings.js';
import { tsSvdppKernel, type SvdppKernel, type SvdppModel, type SvdppStep } from './svdpp.js';

/**
 * The SVD++ hot loop in WebAssembly SIMD (`models/wasm/svdpp.as.ts`, in the one module
 * `npm run build` compiles): same contract as `svdppEpoch` of `svdpp.ts`, which stays the
 * reference the kernel is tested against.
 */

/** What `svdpp.as.ts` exports. */
interface SvdppExports {
  memory: WasmMemory;
  heapBase(): number;
  svdppEpoch(
    p: number, q: number, y: number, bu: number, bi: number,
    users: number, items: number, ratings: number, order: number,
    nOffsets: number, nItems: number, z: number, acc: number,
    n: number, rows: number, k: number,
    mu: number, lr: number, regUser: number, regItem: number, regY: number, regUserBias: number, regItemBias: number,
  ): number;
}

type Offsets = Record<'p' | 'q' | 'y' | 'bu' | 'bi' | 'users' | 'items' | 'ratings' | 'nOffsets' | 'nItems' | 'z' | 'acc' | 'order', number>;

/**
 * One training run's parameters, ratings and N(u) in a kernel instance's own memory,
 * copied in once; each epoch copies in only its order. The model stays as it was until
 * `readBack`. Layout (16-aligned byte offsets from the heap base): P, Q, Y, bu, bi, users,
 * items, ratings, N(u) offsets, N(u) items, the z and acc scratch rows, then the order.
 */
export class WasmSvdppSession implements EpochRunner<SvdppStep> {
  private readonly ex: SvdppExports;
  private readonly off: Offsets;
  private orderCapacity = 0;
  private readonly rows: number;

  constructor(
    private readonly model: SvdppModel,
    table: RatingsTable,
    module: WasmModule = loadMfKernel(),
  ) {
    checkTableFits(model, table);
    this.ex = instantiateKernels<SvdppExports>(module);
    const { users, items, factors: k, implicit } = model;
    this.rows = table.n;
    const n = table.n;
    const { at, end } = layoutArrays(this.ex.heapBase(), [
      users * k * 4, items * k * 4, items * k * 4, users * 4, items * 4, n * 4, n * 4, n * 4, (users + 1) * 4, implicit.items.length * 4, k * 4, k * 4,
    ]);
    const names = ['p', 'q', 'y', 'bu', 'bi', 'users', 'items', 'ratings', 'nOffsets', 'nItems', 'z', 'acc'] as const;
    this.off = { ...Object.fromEntries(names.map((name, x) => [name, at[x]!])), order: end } as Offsets;
    this.ensureOrderCapacity(n);
    const o = this.off;
    this.reload();
    this.u32(o.users, n).set(table.users.subarray(0, n));
    this.u32(o.items, n).set(table.items.subarray(0, n));
    this.f32(o.ratings, n).set(table.ratings.subarray(0, n));
    this.u32(o.nOffsets, users + 1).set(implicit.offsets.subarray(0, users + 1));
    this.u32(o.nItems, implicit.items.length).set(implicit.items);
  }

  /** `svdppEpoch` of `svdpp.ts` on this session's copy; an order entry past the table is refused before any update. */
  sgdEpoch(order: Uint32Array, step: SvdppStep): number {
    this.ensureOrderCapacity(order.length);
    this.u32(this.off.order, order.length).set(order);
    const o = this.off;
    const g = stepRegs(step);
    const r = this.ex.svdppEpoch(
      o.p, o.q, o.y, o.bu, o.bi, o.users, o.items, o.ratings, o.order, o.nOffsets, o.nItems, o.z, o.acc,
      order.length, this.rows, this.model.factors,
      this.model.mu, step.lr, g.regUser, g.regItem, step.regY, g.regUserBias, g.regItemBias,
    );
    if (r < 0) {
      const t = -r - 1;
      throw new ModelArgumentError(`order[${t}] = ${order[t]} is not a row of the table (${this.rows} rows)`, ['order']);
    }
    return r;
  }

  /** Copies the trained parameters into the session's model. */
  readBack(): void {
    const m = this.model;
    m.p.set(this.f32(this.off.p, m.p.length));
    m.q.set(this.f32(this.off.q, m.q.length));
    m.y.set(this.f32(this.off.y, m.y.length));
    m.bu.set(this.f32(this.off.bu, m.users));
    m.bi.set(this.f32(this.off.bi, m.items));
  }

  /** Copies the model's parameters in, as they are now. */
  reload(): void {
    const m = this.model;
    const o = this.off;
    this.f32(o.p, m.p.length).set(m.p);
    this.f32(o.q, m.q.length).set(m.q);
    this.f32(o.y, m.y.length).set(m.y);
    this.f32(o.bu, m.users).set(m.bu);
    this.f32(o.bi, m.items).set(m.bi);
  }

  private ensureOrderCapacity(n: number): void {
    if (n <= this.orderCapacity) return;
    ensureMemory(this.ex.memory, this.off.order + n * 4);
    this.orderCapacity = n;
  }

  // Views are made at each use: growing memory detaches the previous buffer.
  private f32(at: number, len: number): Float32Array {
    return new Float32Array(this.ex.memory.buffer, at, len);
  }

  private u32(at: number, len: number): Uint32Array {
    return new Uint32Array(this.ex.memory.buffer, at, len);
  }
}

/** `trainSvdpp`'s `kernel` for WebAssembly: one session per training run. */
export const wasmSvdppKernel: SvdppKernel = (model, table) => new WasmSvdppSession(model, table);

/** The kernels by name, as `MF_KERNELS`: WebAssembly SIMD first, the default. */
export const SVDPP_KERNELS = { wasm: wasmSvdppKernel, ts: tsSvdppKernel } as const satisfies Record<string, SvdppKernel>;

/** `svdppEpoch` run by the kernel: one session for one epoch (copy in, epoch, read back), for tests. */
export function svdppEpochWasm(model: SvdppModel, table: RatingsTable, order: Uint32Array, step: SvdppStep): number {
  const s = new WasmSvdppSession(model, table);
  const sse = s.sgdEpoch(order, step);
  s.readBack();
  return sse;
}
