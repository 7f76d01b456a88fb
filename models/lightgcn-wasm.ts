import { ModelArgumentError } from './errors.js';
import type { NormalizedGraph, Propagate } from './lightgcn-graph.js';
import { WasmArena, type KernelBase } from './wasm-arena.js';

/** The propagation kernel's export (`models/wasm/spmm.as.ts`). */
interface SpmmKernel extends KernelBase {
  spmm(offsets: number, cols: number, weights: number, nodes: number, k: number, x: number, out: number, acc: number): void;
}

/**
 * A graph's normalised adjacency copied once into a kernel instance's memory, with room for
 * two layers and their sum: `propagate` computes `out = Â x` by the WebAssembly SIMD kernel,
 * equal to `propagateReference` bit for bit, and `layerMean` the whole layer mean there.
 */
export class WasmPropagator {
  private readonly arena = new WasmArena<SpmmKernel>();
  private readonly at: { offsets: number; cols: number; weights: number; x: number; out: number; sum: number };

  constructor(
    private readonly g: NormalizedGraph,
    readonly k: number,
  ) {
    const layer = 4 * g.nodes * k;
    this.at = { offsets: this.arena.put(g.offsets), cols: this.arena.put(g.cols), weights: this.arena.put(g.weights), x: this.arena.alloc(layer), out: this.arena.alloc(layer), sum: this.arena.alloc(layer) };
  }

  /** `out = Â x`, both `nodes × k` floats (`out` may be `x`). */
  readonly propagate: Propagate = (x, out) => {
    const n = this.g.nodes * this.k;
    const heap = this.arena.heapF32();
    const { offsets, cols, weights, x: from, out: to } = this.at;
    heap.set(x.subarray(0, n), from >> 2);
    this.arena.ex.spmm(offsets, cols, weights, this.g.nodes, this.k, from, to, 0);
    out.set(heap.subarray(to >> 2, (to >> 2) + n));
  };

  /**
   * `layerMean(propagate, e0, layers, out, scratch)` in the kernel's memory, equal to it bit for
   * bit: e⁰ is copied in once, each propagation adds its layer into the sum as it writes it, and
   * only the mean is copied out.
   */
  layerMean(e0: Float32Array, layers: number, out: Float32Array): void {
    if (!Number.isInteger(layers) || layers < 0) throw new ModelArgumentError(`layers must be a whole number ≥ 0, got ${layers}`, ['layers']);
    const n = this.g.nodes * this.k;
    const heap = this.arena.heapF32();
    const { offsets, cols, weights, x, out: other, sum } = this.at;
    heap.set(e0.subarray(0, n), x >> 2);
    heap.copyWithin(sum >> 2, x >> 2, (x >> 2) + n);
    let [from, to] = [x, other];
    for (let l = 0; l < layers; l++) {
      this.arena.ex.spmm(offsets, cols, weights, this.g.nodes, this.k, from, to, sum);
      [from, to] = [to, from];
    }
    const scale = 1 / (layers + 1);
    const s = sum >> 2;
    for (let j = 0; j < n; j++) out[j] = heap[s + j]! * scale;
  }
}
