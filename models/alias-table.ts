import { ModelArgumentError } from './errors.js';
import type { Rng } from './rng.js';

/**
 * Walker's alias method (Vose's construction): draws index i with probability
 * weights[i] / Σ weights in O(1) per draw, after O(n) set-up. BPR's popularity-aware negative
 * sampler draws millions of items per training run from one fixed distribution.
 */
export class AliasTable {
  /** Chance of keeping the column drawn (else its alias), per column. */
  private readonly keep: Float64Array;
  private readonly alias: Uint32Array;

  constructor(weights: ArrayLike<number>) {
    const n = weights.length;
    let total = 0;
    for (let i = 0; i < n; i++) {
      const w = weights[i]!;
      if (!(w >= 0) || !Number.isFinite(w)) throw new ModelArgumentError(`weight ${i} is ${w}: weights must be finite and non-negative`, ['weights']);
      total += w;
    }
    if (!(total > 0)) throw new ModelArgumentError('the weights are all zero: nothing to draw', ['weights']);
    this.keep = new Float64Array(n);
    this.alias = new Uint32Array(n);
    const scaled = Float64Array.from({ length: n }, (_, i) => (weights[i]! * n) / total);
    const small: number[] = [];
    const large: number[] = [];
    for (let i = 0; i < n; i++) (scaled[i]! < 1 ? small : large).push(i);
    while (small.length > 0 && large.length > 0) {
      const s = small.pop()!;
      const l = large[large.length - 1]!;
      this.keep[s] = scaled[s]!;
      this.alias[s] = l;
      scaled[l] = scaled[l]! + scaled[s]! - 1;
      if (scaled[l]! < 1) small.push(large.pop()!);
    }
    // What is left is 1 up to rounding: kept for sure.
    for (const i of large) this.keep[i] = 1;
    for (const i of small) this.keep[i] = 1;
  }

  get size(): number {
    return this.keep.length;
  }

  /** One draw. */
  sample(rng: Rng): number {
    const i = rng.below(this.keep.length);
    return rng.next() < this.keep[i]! ? i : this.alias[i]!;
  }
}
