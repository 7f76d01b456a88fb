import { ensureMemory, instantiateKernels, type WasmMemory, type WasmModule } from './mf-wasm.js';

/** What every kernel instance exports besides its kernels. */
export interface KernelBase {
  memory: WasmMemory;
  heapBase(): number;
}

/** Where every block starts: a cache line, so that a row of 16 factors is one line and SIMD loads are aligned. */
const ALIGN = 64;
const alignUp = (x: number): number => (x + ALIGN - 1) & ~(ALIGN - 1);

/**
 * A fresh instance of the kernel module and an allocator over its linear memory: loaders and
 * parameter arenas place their arrays in it (each 64-aligned, past the module's static data,
 * memory grown as needed) and hand their offsets to the kernels, which read and write them
 * in place. A freed block is reused by later allocations (first fit, neighbours merged);
 * linear memory itself never shrinks, so a long-lived owner that freed much makes a new
 * arena and moves its blocks there.
 */
export class WasmArena<E extends KernelBase = KernelBase> {
  readonly ex: E;
  private end: number;
  /** Free blocks below `end`, by offset: [at, bytes], sorted, never adjacent. */
  private readonly holes: Array<[number, number]> = [];
  private live = 0;

  constructor(module?: WasmModule) {
    this.ex = instantiateKernels<E>(module);
    this.end = alignUp(this.ex.heapBase());
  }

  /** Room for `bytes` bytes (contents unspecified); returns its offset. */
  alloc(bytes: number): number {
    const size = alignUp(Math.max(bytes, 1));
    this.live += size;
    for (let h = 0; h < this.holes.length; h++) {
      const [at, free] = this.holes[h]!;
      if (free < size) continue;
      if (free === size) this.holes.splice(h, 1);
      else this.holes[h] = [at + size, free - size];
      return at;
    }
    const at = this.end;
    this.end = at + size;
    ensureMemory(this.ex.memory, this.end);
    return at;
  }

  /** Gives back the block of `bytes` at `at` (as allocated). */
  free(at: number, bytes: number): void {
    const size = alignUp(Math.max(bytes, 1));
    this.live -= size;
    if (at + size === this.end) {
      this.end = at;
      const last = this.holes[this.holes.length - 1];
      if (last !== undefined && last[0] + last[1] === this.end) {
        this.end = last[0];
        this.holes.pop();
      }
      return;
    }
    let h = 0;
    while (h < this.holes.length && this.holes[h]![0] < at) h++;
    const before = this.holes[h - 1];
    const after = this.holes[h];
    if (before !== undefined && before[0] + before[1] === at) {
      before[1] += size;
      if (after !== undefined && at + size === after[0]) {
        before[1] += after[1];
        this.holes.splice(h, 1);
      }
    } else if (after !== undefined && at + size === after[0]) {
      after[0] = at;
      after[1] += size;
    } else {
      this.holes.splice(h, 0, [at, size]);
    }
  }

  /** Bytes allocated and not freed. */
  get liveBytes(): number {
    return this.live;
  }

  /** Bytes of linear memory the instance holds (never less than it once needed). */
  get memoryBytes(): number {
    return this.ex.memory.buffer.byteLength;
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

  /** The whole memory as floats (index = byte offset / 4), valid until memory grows. */
  heapF32(): Float32Array {
    return new Float32Array(this.ex.memory.buffer);
  }

  heapU32(): Uint32Array {
    return new Uint32Array(this.ex.memory.buffer);
  }
}
