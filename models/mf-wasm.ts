import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ModelArgumentError, WasmKernelMissing } from './errors.js';
import { checkTableFits, tsKernel, type MfEpochRunner, type MfKernel, type MfModel, type SgdStep } from './mf.js';
import { packedRowsAt, rowsIn, rowsOut, WasmMfRows, type RowsAt } from './mf-rows.js';
import { WasmArena } from './wasm-arena.js';
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

/**
 * One training run's parameters and ratings in a kernel instance's own linear memory, as
 * rows (factors, then the bias: `mf-rows.ts`) that the kernel trains in place: P, Q, bu and bi
 * are copied in at construction and by `reload`; the model given stays as it was until
 * `readBack`.
 */
export class WasmMfSession implements MfEpochRunner {
  private readonly arena: WasmArena;
  private readonly at: RowsAt & { p: number };
  private readonly runner: WasmMfRows;

  constructor(
    private readonly model: MfModel,
    table: RatingsTable,
    module: WasmModule = loadMfKernel(),
  ) {
    checkTableFits(model, table);
    this.arena = new WasmArena(module);
    this.at = packedRowsAt(this.arena, model.users, model.items, model.factors);
    this.runner = new WasmMfRows(this.arena, this.at, table, model.mu);
    this.reload();
  }

  /** `sgdEpoch` of `mf.ts` on this session's copy; an order entry past the table is refused before any update. */
  sgdEpoch(order: Uint32Array, step: SgdStep): number {
    return this.runner.sgd(order, step);
  }

  /** Copies the trained parameters into `model` (the session's own by default; any of the same shape). */
  readBack(model: MfModel = this.model): void {
    if (model.users !== this.model.users || model.items !== this.model.items || model.factors !== this.model.factors) {
      throw new ModelArgumentError(`cannot read back into a model of another shape (${model.users}×${model.items}×${model.factors}, not ${this.model.users}×${this.model.items}×${this.model.factors})`, ['model']);
    }
    rowsOut(this.arena, this.at.p, this.at.stride, model.factors, model.p, model.bu);
    rowsOut(this.arena, this.at.q, this.at.stride, model.factors, model.q, model.bi);
  }

  /** Copies the model's parameters in, as they are now. */
  reload(): void {
    const m = this.model;
    rowsIn(this.arena, this.at.p, this.at.stride, m.factors, m.p, m.bu);
    rowsIn(this.arena, this.at.q, this.at.stride, m.factors, m.q, m.bi);
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
