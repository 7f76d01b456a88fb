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

  /** `out = Â x`, both `nodes × k` floats. */
  readonly propagate: Propagate = (x, out) => {
    const n = this.g.nodes * this.k;
    const heap = this.arena.heapF32();
    heap.set(x.subarray(0, n), this.at.x >> 2);
    this.arena.ex.spmm(this.at.offsets, this.at.cols, this.at.weights, this.g.nodes, this.k, this.at.x, this.at.out);
    out.set(heap.subarray(this.at.out >> 2, (this.at.out >> 2) + n));
  };
}
