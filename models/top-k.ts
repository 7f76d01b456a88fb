/**
 * The k best-scored items out of n by partial selection: a binary heap of k entries whose
 * root is the worst kept, O(n log k) per user instead of a full sort's O(n log n), with
 * buffers allocated once and reused for every user.
 *
 * Order: higher score first; equal scores by lower item index first, so that results do not
 * depend on the engine's sort. NaN scores are never selected.
 */
export class TopK {
  /** The selected items, best first, in `items[0 .. count)` after `select`. */
  readonly items: Uint32Array;
  /** Their scores, in the same order. */
  readonly scores: Float32Array;
  private readonly heapItems: Uint32Array;
  private readonly heapScores: Float64Array;

  constructor(readonly k: number) {
    if (!Number.isInteger(k) || k < 1) throw new RangeError(`k must be a whole number ≥ 1, got ${k}`);
    this.items = new Uint32Array(k);
    this.scores = new Float32Array(k);
    this.heapItems = new Uint32Array(k);
    this.heapScores = new Float64Array(k);
  }

  /**
   * Selects the best k of items 0..n-1 scored by `scores`, leaving out every item i with
   * `skip[i]` non-zero. Returns how many were selected: k, or fewer when fewer can be.
   */
  select(scores: ArrayLike<number>, n: number, skip?: Uint8Array): number {
    const hs = this.heapScores;
    const hi = this.heapItems;
    const k = this.k;
    let size = 0;
    for (let i = 0; i < n; i++) {
      if (skip !== undefined && skip[i] !== 0) continue;
      const s = scores[i]!;
      if (s !== s) continue; // NaN
      if (size < k) {
        // Sift up: the root holds the worst (lowest score, then highest index).
        let c = size++;
        while (c > 0) {
          const parent = (c - 1) >> 1;
          if (!worse(s, i, hs[parent]!, hi[parent]!)) break;
          hs[c] = hs[parent]!;
          hi[c] = hi[parent]!;
          c = parent;
        }
        hs[c] = s;
        hi[c] = i;
      } else if (worse(hs[0]!, hi[0]!, s, i)) {
        siftDown(hs, hi, size, s, i);
      }
    }
    // Pop the worst repeatedly into the back of the output: best first at the front.
    for (let out = size - 1; out >= 0; out--) {
      this.items[out] = hi[0]!;
      this.scores[out] = hs[0]!;
      const last = out;
      if (last > 0) siftDown(hs, hi, last, hs[last]!, hi[last]!);
    }
    return size;
  }
}

/** Whether (s1, i1) ranks below (s2, i2). */
function worse(s1: number, i1: number, s2: number, i2: number): boolean {
  return s1 < s2 || (s1 === s2 && i1 > i2);
}

/** Puts (s, i) at the root of the heap of `size` entries and sifts it down. */
function siftDown(hs: Float64Array, hi: Uint32Array, size: number, s: number, i: number): void {
  let c = 0;
  for (;;) {
    const l = 2 * c + 1;
    if (l >= size) break;
    const r = l + 1;
    const w = r < size && worse(hs[r]!, hi[r]!, hs[l]!, hi[l]!) ? r : l;
    if (!worse(hs[w]!, hi[w]!, s, i)) break;
    hs[c] = hs[w]!;
    hi[c] = hi[w]!;
    c = w;
  }
  hs[c] = s;
  hi[c] = i;
}
