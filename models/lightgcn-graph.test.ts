import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../data/random.js';
import { layerMean, NormalizedGraph, propagateReference } from './lightgcn-graph.js';
import { WasmPropagator } from './lightgcn-wasm.js';

/** A random bipartite graph: `users` × `items`, about `perUser` items each (repeats included). */
function randomPairs(users: number, items: number, perUser: number, seed: number): { us: number[]; is: number[] } {
  const rand = mulberry32(seed);
  const us: number[] = [];
  const is: number[] = [];
  for (let u = 0; u < users; u++) for (let j = 0; j < perUser; j++) (us.push(u), is.push(Math.floor(rand() * items)));
  return { us, is };
}

/** Â as a dense nodes × nodes matrix, from the pairs by the paper's definition (in doubles). */
function denseAdjacency(users: number, items: number, us: number[], is: number[]): Float64Array[] {
  const n = users + items;
  const a = Array.from({ length: n }, () => new Float64Array(n));
  for (let e = 0; e < us.length; e++) a[us[e]!]![users + is[e]!] = a[users + is[e]!]![us[e]!] = 1;
  const deg = a.map((row) => row.reduce((s, x) => s + x, 0));
  return a.map((row, i) => row.map((x, j) => (x === 0 ? 0 : 1 / Math.sqrt(deg[i]! * deg[j]!))));
}

function denseTimes(m: Float64Array[], x: Float64Array, k: number): Float64Array {
  const n = m.length;
  const out = new Float64Array(n * k);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (m[i]![j] !== 0) for (let d = 0; d < k; d++) out[i * k + d] += m[i]![j]! * x[j * k + d]!;
  return out;
}

const randomRows = (n: number, seed: number) => {
  const rand = mulberry32(seed);
  return Float32Array.from({ length: n }, () => rand() * 2 - 1);
};

describe('lightgcn graph', () => {
  it('lightgcn - the normalised adjacency: one edge per distinct pair, symmetric, each weight 1 / √(deg a · deg b); a pair outside the shape is refused', () => {
    // u0–i0, u0–i1 (twice), u1–i1.
    const g = NormalizedGraph.fromPairs(2, 2, [0, 0, 0, 1], [0, 1, 1, 1]);
    expect(g.nodes).toBe(4);
    expect(g.edges).toBe(3);
    const w = (a: number, b: number) => {
      for (let e = g.offsets[a]!; e < g.offsets[a + 1]!; e++) if (g.cols[e] === b) return g.weights[e]!;
      return 0;
    };
    // deg: u0 2, u1 1, i0 1, i1 2.
    expect(w(0, 2)).toBeCloseTo(1 / Math.sqrt(2), 6);
    expect(w(0, 3)).toBeCloseTo(1 / 2, 6);
    expect(w(1, 3)).toBeCloseTo(1 / Math.sqrt(2), 6);
    for (const [a, b] of [[0, 2], [0, 3], [1, 3]] as const) expect(w(a, b)).toBe(w(b, a));
    expect(w(0, 1)).toBe(0);
    expect(() => NormalizedGraph.fromPairs(2, 2, [2], [0])).toThrow(/outside/);
  });

  it('lightgcn - one propagation equals the dense Â x, and the layer mean equals (I + Â + Â² + Â³) / 4 applied to e⁰', () => {
    const users = 30;
    const items = 20;
    const k = 6;
    const { us, is } = randomPairs(users, items, 4, 1);
    const g = NormalizedGraph.fromPairs(users, items, us, is);
    const dense = denseAdjacency(users, items, us, is);
    const x = randomRows(g.nodes * k, 2);
    const out = new Float32Array(g.nodes * k);
    propagateReference(g, x, k, out);
    const want = denseTimes(dense, Float64Array.from(x), k);
    for (let j = 0; j < out.length; j++) expect(out[j]!).toBeCloseTo(want[j]!, 5);

    const mean = new Float32Array(g.nodes * k);
    layerMean((a, b) => propagateReference(g, a, k, b), x, 3, mean, [new Float32Array(g.nodes * k), new Float32Array(g.nodes * k)]);
    let layer: Float64Array = Float64Array.from(x);
    const sum = Float64Array.from(x);
    for (let l = 0; l < 3; l++) {
      layer = denseTimes(dense, layer, k);
      for (let j = 0; j < sum.length; j++) sum[j] += layer[j]!;
    }
    for (let j = 0; j < mean.length; j++) expect(mean[j]!).toBeCloseTo(sum[j]! / 4, 5);
  });

  it('lightgcn - the backward pass is the same layer mean of the gradients: for L = Σ w ⊙ final(e⁰), ∂L/∂e⁰ = layerMean(w), checked by finite differences', () => {
    const users = 12;
    const items = 9;
    const k = 4;
    const { us, is } = randomPairs(users, items, 3, 3);
    const g = NormalizedGraph.fromPairs(users, items, us, is);
    const prop = (a: Float32Array, b: Float32Array) => propagateReference(g, a, k, b);
    const n = g.nodes * k;
    const scratch: [Float32Array, Float32Array] = [new Float32Array(n), new Float32Array(n)];
    const wts = Float64Array.from(randomRows(n, 4));
    const loss = (e0: Float32Array) => {
      const f = new Float32Array(n);
      layerMean(prop, e0, 3, f, scratch);
      return f.reduce((s, v, j) => s + v * wts[j]!, 0);
    };
    const grad = new Float32Array(n);
    layerMean(prop, Float32Array.from(wts), 3, grad, scratch);
    const e0 = randomRows(n, 5);
    for (const j of [0, 7, 20, n - 1]) {
      const h = 1e-2;
      const plus = Float32Array.from(e0);
      plus[j] += h;
      const minus = Float32Array.from(e0);
      minus[j] -= h;
      expect((loss(plus) - loss(minus)) / (2 * h)).toBeCloseTo(grad[j]!, 2);
    }
  });

  it('lightgcn - the WebAssembly SIMD propagation and layer mean equal their TypeScript references bit for bit, for factor counts with and without a tail', () => {
    const { us, is } = randomPairs(200, 150, 8, 6);
    const g = NormalizedGraph.fromPairs(200, 150, us, is);
    for (const k of [1, 3, 4, 6, 32, 39, 64, 71]) {
      const x = randomRows(g.nodes * k, 7 + k);
      const ref = new Float32Array(g.nodes * k);
      const wasm = new Float32Array(g.nodes * k);
      propagateReference(g, x, k, ref);
      const p = new WasmPropagator(g, k);
      p.propagate(x, wasm);
      expect(Array.from(wasm), `k = ${k}`).toEqual(Array.from(ref));
      // Again on its own output: its buffers are reused.
      p.propagate(wasm, wasm);
      propagateReference(g, Float32Array.from(ref), k, ref);
      expect(Array.from(wasm), `k = ${k}, second layer`).toEqual(Array.from(ref));
      // The whole layer mean in the kernel's memory, for 0 to 3 layers (a scale of 1/3 included).
      for (const layers of [0, 1, 2, 3]) {
        const want = new Float32Array(g.nodes * k);
        layerMean((a, b) => propagateReference(g, a, k, b), x, layers, want, [new Float32Array(g.nodes * k), new Float32Array(g.nodes * k)]);
        const got = new Float32Array(g.nodes * k);
        p.layerMean(x, layers, got);
        expect(Array.from(got), `k = ${k}, ${layers} layers`).toEqual(Array.from(want));
      }
    }
  });

  it('lightgcn - the graph split by users with the whole graph\'s item degrees: each part gives its users\' rows whole, and the parts\' item rows sum to the whole propagation', () => {
    const users = 30;
    const items = 12;
    const k = 4;
    const { us, is } = randomPairs(users, items, 5, 11);
    const whole = NormalizedGraph.fromPairs(users, items, us, is);
    const x = randomRows(whole.nodes * k, 12);
    const want = new Float32Array(whole.nodes * k);
    propagateReference(whole, x, k, want);
    // Two parts: even users and odd users, each numbered from 0 within its part.
    const degrees = Array.from({ length: items }, (_, i) => whole.offsets[users + i + 1]! - whole.offsets[users + i]!);
    const itemSums = new Float64Array(items * k);
    for (const parity of [0, 1]) {
      const mine = Array.from({ length: users }, (_, u) => u).filter((u) => u % 2 === parity);
      const local = new Map(mine.map((u, j) => [u, j]));
      const pu: number[] = [];
      const pi: number[] = [];
      us.forEach((u, e) => {
        if (local.has(u)) (pu.push(local.get(u)!), pi.push(is[e]!));
      });
      const part = NormalizedGraph.fromPairs(mine.length, items, pu, pi, degrees);
      const px = new Float32Array(part.nodes * k);
      mine.forEach((u, j) => px.set(x.subarray(u * k, (u + 1) * k), j * k));
      px.set(x.subarray(users * k), mine.length * k);
      const out = new Float32Array(part.nodes * k);
      new WasmPropagator(part, k).propagate(px, out);
      mine.forEach((u, j) => {
        for (let d = 0; d < k; d++) expect(out[j * k + d]).toBeCloseTo(want[u * k + d]!, 5);
      });
      for (let y = 0; y < items * k; y++) itemSums[y] += out[mine.length * k + y]!;
    }
    for (let y = 0; y < items * k; y++) expect(itemSums[y]).toBeCloseTo(want[users * k + y]!, 5);
    expect(() => NormalizedGraph.fromPairs(2, 2, [0, 1], [0, 0], [1, 1])).toThrow(/degree 1 is below its 2 edges/);
  });
});
