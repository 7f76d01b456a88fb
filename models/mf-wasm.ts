import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ModelArgumentError, WasmKernelMissing } from './errors.js';
import { checkTableFits, stepRegs, tsKernel, type MfEpochRunner, type MfKernel, type MfModel, type SgdStep } from './mf.js';
import type { RatingsTable } from './ratings.js';

/**
 * The MF-SGD hot loop in WebAssembly SIMD (`models/wasm/mf.as.ts`, compiled by
 * `npm run build` into `dist/models/wasm/kernels.wasm`): same contract as `sgdEpoch` of
 * `mf.ts`, which stays the reference the kernel is tested against.
 */

/**
 * The few pieces of the WebAssembly JS API used here: lib "dom" declares them, but this is
 * Node code compiled without it, and @types/node 20 does not.
 */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
/** A compiled module (opaque here). */
export interface WasmModule {
  readonly __wasmModule?: never;
}
const WebAssemblyApi = (globalThis as unknown as {
  WebAssembly: {
    Module: new (bytes: Uint8Array) => WasmModule;
    Instance: new (module: WasmModule, imports: object) => { exports: unknown };
  };
}).WebAssembly;

/** What `mf.as.ts` exports. */
interface MfExports {
  memory: WasmMemory;
  heapBase(): number;
  checkOrder(order: number, n: number, rows: number): number;
  sgdEpoch(
    p: number, q: number, bu: number, bi: number,
    records: number, order: number, scratch: number, block: number, touch: boolean,
    n: number, k: number,
    mu: number, lr: number, regUser: number, regItem: number, regUserBias: number, regItemBias: number,
  ): number;
}

/**
 * The kernel's file: next to this module once compiled (`dist/models/wasm/kernels.wasm`); run
 * from source (vitest imports the `.ts`), the one `npm run build` put in `dist/`.
 */
export function defaultMfKernelFile(): string {
  const fromSource = import.meta.url.endsWith('.ts');
  return fileURLToPath(new URL(fromSource ? '../dist/models/wasm/kernels.wasm' : './wasm/kernels.wasm', import.meta.url));
}

const compiled = new Map<string, WasmModule>();

/**
 * The compiled kernel module, compiled once per process (synchronously: Node sets no size
 * limit on it, and training is synchronous anyway). Throws `WasmKernelMissing` naming the
 * file when the build has not produced it.
 */
export function loadMfKernel(file = defaultMfKernelFile()): WasmModule {
  let m = compiled.get(file);
  if (!m) {
    if (!existsSync(file)) throw new WasmKernelMissing(file);
    m = new WebAssemblyApi.Module(readFileSync(file));
    compiled.set(file, m);
  }
  return m;
}

const PAGE = 65536;
/** A cache line: where every array starts, so that a row of 16 factors is exactly one line (SIMD loads need 16). */
const ALIGN = 64;
const alignUp = (x: number): number => (x + ALIGN - 1) & ~(ALIGN - 1);

/** A fresh instance of the kernel module, with its own linear memory; `T` is what the loader reads of its exports. */
export function instantiateKernels<T extends { memory: WasmMemory; heapBase(): number }>(module: WasmModule = loadMfKernel()): T {
  return new WebAssemblyApi.Instance(module, {}).exports as unknown as T;
}

/**
 * Byte offsets of arrays of `bytes` sizes placed one after another from `heapBase`, each
 * 64-aligned, and `end`, where an array that may grow goes (the last one).
 */
export function layoutArrays(heapBase: number, bytes: number[]): { at: number[]; end: number } {
  const at: number[] = [];
  let end = alignUp(heapBase);
  for (const s of bytes) {
    at.push(end);
    end = alignUp(end + s);
  }
  return { at, end };
}

/** Grows `memory` to hold at least `bytes`. */
export function ensureMemory(memory: WasmMemory, bytes: number): void {
  const need = Math.ceil(bytes / PAGE) - memory.buffer.byteLength / PAGE;
  if (need > 0) memory.grow(need);
}

/** Bytes of one rating record in the kernel's memory: user (u32), item (u32), rating (f32), unused. */
const RECORD_BYTES = 16;
/**
 * Rows the kernel gathers at a time (`mf.as.ts`): their records (16 KiB) stay in L1 and
 * their P and Q rows (256 KiB at 32 factors) in L2 until their updates.
 */
export const MF_GATHER_BLOCK = 1024;
/**
 * Above this many bytes of P and Q the kernel loads each block's rows ahead of its updates:
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

/**
 * One training run's parameters and ratings in a kernel instance's own linear memory:
 * P, Q, bu, bi and the ratings are copied in once, at construction; each epoch
 * copies in only its order. The model given stays as it was until `readBack`.
 *
 * Layout (byte offsets, each 64-aligned, from the module's heap base): P, Q, bu, bi, the
 * ratings as 16-byte records (user, item, rating: one cache line serves a random row
 * instead of three), the kernel's gather scratch (a block and one more), then the order last, so that a longer
 * order only grows memory.
 */
export class WasmMfSession implements MfEpochRunner {
  private readonly ex: MfExports;
  private readonly off: { p: number; q: number; bu: number; bi: number; records: number; scratch: number; order: number };
  private orderCapacity = 0;
  private readonly k: number;
  private readonly mu: number;
  private readonly rows: number;
  private readonly touch: boolean;

  constructor(
    private readonly model: MfModel,
    table: RatingsTable,
    module: WasmModule = loadMfKernel(),
  ) {
    checkTableFits(model, table);
    this.ex = instantiateKernels<MfExports>(module);
    const { users, items, factors: k } = model;
    this.k = k;
    this.mu = model.mu;
    const n = (this.rows = table.n);
    this.touch = (users + items) * k * 4 > MF_TOUCH_ABOVE_BYTES;
    const { at, end } = layoutArrays(this.ex.heapBase(), [users * k * 4, items * k * 4, users * 4, items * 4, n * RECORD_BYTES, (MF_GATHER_BLOCK + 1) * RECORD_BYTES]);
    this.off = { p: at[0]!, q: at[1]!, bu: at[2]!, bi: at[3]!, records: at[4]!, scratch: at[5]!, order: end };
    this.ensureOrderCapacity(n);
    this.reload();
    const rec = this.u32(this.off.records, n * 4);
    const recRatings = this.f32(this.off.records, n * 4);
    const { users: tu, items: ti, ratings: tr } = table;
    for (let j = 0, w = 0; j < n; j++, w += 4) {
      rec[w] = tu[j]!;
      rec[w + 1] = ti[j]!;
      recRatings[w + 2] = tr[j]!;
    }
  }

  /** `sgdEpoch` of `mf.ts` on this session's copy; an order entry past the table is refused before any update. */
  sgdEpoch(order: Uint32Array, step: SgdStep): number {
    const n = order.length;
    this.ensureOrderCapacity(n);
    this.u32(this.off.order, n).set(order);
    const o = this.off;
    const bad = this.ex.checkOrder(o.order, n, this.rows);
    if (bad >= 0) throw new ModelArgumentError(`order[${bad}] = ${order[bad]} is not a row of the table (${this.rows} rows)`, ['order']);
    const g = stepRegs(step);
    let sse = 0;
    for (let from = 0; from < n; from += MF_CALL_ROWS) {
      sse += this.ex.sgdEpoch(
        o.p, o.q, o.bu, o.bi, o.records, o.order + from * 4, o.scratch, MF_GATHER_BLOCK, this.touch,
        Math.min(MF_CALL_ROWS, n - from), this.k, this.mu, step.lr, g.regUser, g.regItem, g.regUserBias, g.regItemBias,
      );
    }
    return sse;
  }

  /** Copies the trained parameters into `model` (the session's own by default; any of the same shape). */
  readBack(model: MfModel = this.model): void {
    if (model.users !== this.model.users || model.items !== this.model.items || model.factors !== this.k) {
      throw new ModelArgumentError(`cannot read back into a model of another shape (${model.users}×${model.items}×${model.factors}, not ${this.model.users}×${this.model.items}×${this.k})`, ['model']);
    }
    model.p.set(this.f32(this.off.p, model.p.length));
    model.q.set(this.f32(this.off.q, model.q.length));
    model.bu.set(this.f32(this.off.bu, model.users));
    model.bi.set(this.f32(this.off.bi, model.items));
  }

  /** Copies the model's parameters in, as they are now. */
  reload(): void {
    const m = this.model;
    this.f32(this.off.p, m.p.length).set(m.p);
    this.f32(this.off.q, m.q.length).set(m.q);
    this.f32(this.off.bu, m.users).set(m.bu);
    this.f32(this.off.bi, m.items).set(m.bi);
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

/** `trainMf`'s `kernel` for WebAssembly: one session per training run. */
export const wasmKernel: MfKernel = (model, table) => new WasmMfSession(model, table);

/** The kernels by name, for a `--kernel` flag and the benchmark: WebAssembly SIMD first, the default. */
export const MF_KERNELS = { wasm: wasmKernel, ts: tsKernel } as const satisfies Record<string, MfKernel>;
export type MfKernelName = keyof typeof MF_KERNELS;
export const DEFAULT_MF_KERNEL: MfKernelName = 'wasm';

/**
 * `sgdEpoch` of `mf.ts`, signature and all, run by the kernel: one session for one epoch
 * (copy in, epoch, read back), for tests and one-offs. Training uses a session per run.
 */
export function sgdEpochWasm(model: MfModel, table: RatingsTable, order: Uint32Array, step: SgdStep): number {
  const s = new WasmMfSession(model, table);
  const sse = s.sgdEpoch(order, step);
  s.readBack();
  return sse;
}
