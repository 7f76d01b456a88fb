import { ModelArgumentError } from './errors.js';

/**
 * LightGCN's graph (He et al., SIGIR 2020): users and items as the nodes of one bipartite
 * graph (user u is node u, item i node `users + i`), each interaction an undirected edge, and
 * the symmetrically normalised adjacency Â = D^−½ A D^−½, whose entry for an edge (a, b) is
 * 1 / √(deg a · deg b). Stored as compressed rows: each node's neighbours in ascending order
 * with their weights. Â is symmetric, which makes the backward pass of a propagation the same
 * propagation of the gradients.
 */
export class NormalizedGraph {
  private constructor(
    readonly users: number,
    readonly items: number,
    /** `nodes + 1` entries: node a's neighbours are `cols[offsets[a] .. offsets[a + 1])`. */
    readonly offsets: Uint32Array,
    readonly cols: Uint32Array,
    readonly weights: Float32Array,
  ) {}

  get nodes(): number {
    return this.users + this.items;
  }

  get edges(): number {
    return this.cols.length / 2;
  }

  /**
   * The graph of `pairs` (user, item) over `users` users and `items` items; a repeated pair is
   * one edge. `itemDegrees`, when given, are the items' degrees in a larger graph of which this
   * is the part around some of its users (a node's share of the users in distributed
   * training): the weights are those of the whole graph, so propagating over this part gives
   * its users' rows whole and the items' rows as this part's share of the sum.
   */
  static fromPairs(users: number, items: number, pairUsers: ArrayLike<number>, pairItems: ArrayLike<number>, itemDegrees?: ArrayLike<number>): NormalizedGraph {
    if (itemDegrees !== undefined && itemDegrees.length !== items) throw new ModelArgumentError(`${itemDegrees.length} item degrees for ${items} items`, ['itemDegrees']);
    if (pairUsers.length !== pairItems.length) throw new ModelArgumentError('pair arrays differ in length', ['pairs']);
    const n = users + items;
    const seen = new Set<number>();
    const us: number[] = [];
    const is: number[] = [];
    for (let j = 0; j < pairUsers.length; j++) {
      const u = pairUsers[j]!;
      const i = pairItems[j]!;
      if (!(u >= 0 && u < users && i >= 0 && i < items)) throw new ModelArgumentError(`pair ${j} (${u}, ${i}) is outside ${users} users × ${items} items`, ['pairs']);
      const key = u * items + i;
      if (seen.has(key)) continue;
      seen.add(key);
      us.push(u);
      is.push(i);
    }
    const degree = new Uint32Array(n);
    for (let e = 0; e < us.length; e++) {
      degree[us[e]!]++;
      degree[users + is[e]!]++;
    }
    const offsets = new Uint32Array(n + 1);
    for (let a = 0; a < n; a++) offsets[a + 1] = offsets[a]! + degree[a]!;
    const fill = offsets.slice(0, n);
    const cols = new Uint32Array(2 * us.length);
    for (let e = 0; e < us.length; e++) {
      const a = us[e]!;
      const b = users + is[e]!;
      cols[fill[a]!++] = b;
      cols[fill[b]!++] = a;
    }
    if (itemDegrees !== undefined) {
      for (let i = 0; i < items; i++) {
        const d = itemDegrees[i]!;
        if (!(Number.isInteger(d) && d >= degree[users + i]!)) throw new ModelArgumentError(`item ${i}'s degree ${d} is below its ${degree[users + i]} edges here`, ['itemDegrees']);
        degree[users + i] = d;
      }
    }
    const weights = new Float32Array(cols.length);
    for (let a = 0; a < n; a++) {
      const row = cols.subarray(offsets[a]!, offsets[a + 1]!).sort();
      for (let x = 0; x < row.length; x++) weights[offsets[a]! + x] = 1 / Math.sqrt(degree[a]! * degree[row[x]!]!);
    }
    return new NormalizedGraph(users, items, offsets, cols, weights);
  }
}

/**
 * out = Â x for `x` of `g.nodes` rows of `k` floats (row-major): each node's row the weighted
 * sum of its neighbours' rows, neighbours in ascending order, in f32 (each product and each
 * sum rounded, as the WebAssembly kernel computes lane by lane). The reference of `spmm`.
 */
export function propagateReference(g: NormalizedGraph, x: Float32Array, k: number, out: Float32Array): void {
  const f = Math.fround;
  for (let a = 0; a < g.nodes; a++) {
    const o = a * k;
    for (let d = 0; d < k; d++) out[o + d] = 0;
    for (let e = g.offsets[a]!; e < g.offsets[a + 1]!; e++) {
      const w = g.weights[e]!;
      const b = g.cols[e]! * k;
      for (let d = 0; d < k; d++) out[o + d] = f(out[o + d]! + f(w * x[b + d]!));
    }
  }
}

/** One propagation `out = Â x`: the TypeScript reference or the WebAssembly kernel. */
export type Propagate = (x: Float32Array, out: Float32Array) => void;

/**
 * LightGCN's final embeddings: the mean of the layers e⁰, Âe⁰, …, Â^L e⁰ (`layers` = L
 * propagations). Because Â is symmetric, the same call on the gradient of a loss in the final
 * embeddings gives its gradient in e⁰: the backward pass. `scratch` holds two layers.
 */
export function layerMean(propagate: Propagate, e0: Float32Array, layers: number, out: Float32Array, scratch: [Float32Array, Float32Array]): void {
  if (!Number.isInteger(layers) || layers < 0) throw new ModelArgumentError(`layers must be a whole number ≥ 0, got ${layers}`, ['layers']);
  const scale = 1 / (layers + 1);
  let cur = e0;
  for (let x = 0; x < out.length; x++) out[x] = e0[x]!;
  for (let l = 0; l < layers; l++) {
    const next = scratch[l % 2]!;
    propagate(cur, next);
    for (let x = 0; x < out.length; x++) out[x] += next[x]!;
    cur = next;
  }
  for (let x = 0; x < out.length; x++) out[x] *= scale;
}
