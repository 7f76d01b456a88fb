import { ensureMemory, instantiateKernels, type WasmMemory } from './mf-wasm.js';

/** What every kernel instance exports besides its kernels. */
export interface KernelBase {
  memory: WasmMemory;
  heapBase(): number;
}

const align16 = (x: number): number => (x + 15) & ~15;

/**
 * A fresh instance of the kernel module and a bump allocator over its linear memory: a
 * loader places its arrays once (each 16-aligned, past the module's static data, memory grown
 * as needed) and hands their offsets to the kernels. Nothing is ever freed: an arena lives as
 * long as one training run.
 */
export class WasmArena<E extends KernelBase> {
  readonly ex: E;
  private end: number;

  constructor(ex: E = instantiateKernels<E>()) {
    this.ex = ex;
    this.end = align16(ex.heapBase());
  }

  /** Room for `bytes` bytes; returns its offset. */
  alloc(bytes: number): number {
    const at = this.end;
    this.end = align16(at + bytes);
    ensureMemory(this.ex.memory, this.end);
    return at;
  }

  /** A copy of `a` placed in memory; returns its offset. */
  put(a: Float32Array | Uint32Array): number {
    const at = this.alloc(a.byteLength);
    (a instanceof Float32Array ? this.f32(at, a.length) : this.u32(at, a.length)).set(a);
    return at;
  }

  // Views are made at each use: growing memory detaches the previous buffer.
  f32(at: number, len: number): Float32Array {
    return new Float32Array(this.ex.memory.buffer, at, len);
  }

  u32(at: number, len: number): Uint32Array {
    return new Uint32Array(this.ex.memory.buffer, at, len);
  }
}
