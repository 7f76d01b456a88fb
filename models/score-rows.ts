import { WasmArena, type KernelBase } from './wasm-arena.js';

/** The scoring kernel's export (`models/wasm/score.as.ts`). */
interface ScoreKernel extends KernelBase {
  scoreRows(rows: number, n: number, k: number, user: number, out: number): void;
}

/**
 * `out[r]` = row r's bias + `user` · its `k` factors, for the `n` rows of `k + 1` floats in
 * `rows`: the contract of the WebAssembly kernel `scoreRows`, in TypeScript, rounding to f32
 * where it does (four lane sums, factor f into lane f mod 4, the tail into lane 0, then
 * (l0 + l1) + (l2 + l3), then the bias), so that the two agree exactly.
 */
export function scoreRowsReference(rows: Float32Array, n: number, k: number, user: Float32Array, out: Float32Array): void {
  const f = Math.fround;
  const w = k + 1;
  const k4 = k & ~3;
  for (let r = 0, at = 0; r < n; r++, at += w) {
    let l0 = 0;
    let l1 = 0;
    let l2 = 0;
    let l3 = 0;
    let x = 0;
    for (; x < k4; x += 4) {
      l0 = f(l0 + f(user[x]! * rows[at + x]!));
      l1 = f(l1 + f(user[x + 1]! * rows[at + x + 1]!));
      l2 = f(l2 + f(user[x + 2]! * rows[at + x + 2]!));
      l3 = f(l3 + f(user[x + 3]! * rows[at + x + 3]!));
    }
    for (; x < k; x++) l0 = f(l0 + f(user[x]! * rows[at + x]!));
    out[r] = f(rows[at + k]! + f(f(l0 + l1) + f(l2 + l3)));
  }
}

/**
 * A fixed set of rows (k factors then a bias each) copied once into a kernel instance's own
 * memory, scored against one user at a time by the WebAssembly SIMD kernel: serving ranks a
 * whole catalogue this way on every recommendation.
 */
export class WasmRowScorer {
  private readonly arena = new WasmArena<ScoreKernel>();
  private readonly rowsAt: number;
  private readonly userAt: number;
  private readonly outAt: number;

  constructor(
    rows: Float32Array,
    readonly n: number,
    readonly k: number,
  ) {
    this.rowsAt = this.arena.put(rows.subarray(0, n * (k + 1)));
    this.userAt = this.arena.alloc(4 * k);
    this.outAt = this.arena.alloc(4 * Math.max(1, n));
  }

  /** `out[0 .. n)` = each row's score against `user`'s first `k` values (as `scoreRowsReference`). */
  score(user: Float32Array, out: Float32Array): void {
    const heap = this.arena.heapF32();
    heap.set(user.subarray(0, this.k), this.userAt >> 2);
    this.arena.ex.scoreRows(this.rowsAt, this.n, this.k, this.userAt, this.outAt);
    out.set(heap.subarray(this.outAt >> 2, (this.outAt >> 2) + this.n));
  }
}
