import type { NormalizedGraph, Propagate } from './lightgcn-graph.js';
import { WasmArena, type KernelBase } from './wasm-arena.js';

/** The propagation kernel's export (`models/wasm/spmm.as.ts`). */
interface SpmmKernel extends KernelBase {
  spmm(offsets: number, cols: number, weights: number, nodes: number, k: number, x: number, out: number): void;
}

/**
 * A graph's normalised adjacency copied once into a kernel instance's memory, with room for
 * one layer in and one out: `propagate` computes `out = Â x` by the WebAssembly SIMD kernel,
 * equal to `propagateReference` bit for bit.
 */
export class WasmPropagator {
  private readonly arena = new WasmArena<SpmmKernel>();
  private readonly at: { offsets: number; cols: number; weights: number; x: number; out: number };

  constructor(
    private readonly g: NormalizedGraph,
    readonly k: number,
  ) {
    const layer = 4 * g.nodes * k;
    this.at = { offsets: this.arena.put(g.offsets), cols: this.arena.put(g.cols), weights: this.arena.put(g.weights), x: this.arena.alloc(layer), out: this.arena.alloc(layer) };
  }

  /**
   * Two layers in the kernel's memory, as `layerMean`'s scratch: a propagation from one to the
   * other copies nothing in or out (the memory never grows after construction, so the views
   * stay valid).
   */
  scratch(): [Float32Array, Float32Array] {
    const n = this.g.nodes * this.k;
    return [this.arena.f32(this.at.x, n), this.arena.f32(this.at.out, n)];
  }

  /** `out = Â x`, both `nodes × k` floats; either may be a `scratch` layer (then it is used in place). */
  readonly propagate: Propagate = (x, out) => {
    const n = this.g.nodes * this.k;
    const heap = this.arena.heapF32();
    const here = (a: Float32Array) => a.buffer === heap.buffer;
    // A layer given from outside goes into whichever of the two the output is not.
    const target = here(out) ? out.byteOffset : undefined;
    let from = target === this.at.x ? this.at.out : this.at.x;
    if (here(x)) from = x.byteOffset;
    else heap.set(x.subarray(0, n), from >> 2);
    const to = target ?? (from === this.at.out ? this.at.x : this.at.out);
    this.arena.ex.spmm(this.at.offsets, this.at.cols, this.at.weights, this.g.nodes, this.k, from, to);
    if (!here(out)) out.set(heap.subarray(to >> 2, (to >> 2) + n));
  };
}
