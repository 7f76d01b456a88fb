/**
 * out[i] = x_u · y_i for every i < items, or 0s when u is past `users`: the ranking side of
 * the factor models. Four partial sums, as in `mf.ts`: about twice as fast in V8 as one.
 */
export function scoreDots(x: Float32Array, y: Float32Array, u: number, users: number, items: number, k: number, out: Float32Array): void {
  if (u >= users) {
    out.fill(0, 0, items);
    return;
  }
  const o = u * k;
  const k4 = k & ~3;
  for (let i = 0; i < items; i++) {
    const q = i * k;
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    let a = 0;
    for (; a < k4; a += 4) {
      s0 += x[o + a]! * y[q + a]!;
      s1 += x[o + a + 1]! * y[q + a + 1]!;
      s2 += x[o + a + 2]! * y[q + a + 2]!;
      s3 += x[o + a + 3]! * y[q + a + 3]!;
    }
    for (; a < k; a++) s0 += x[o + a]! * y[q + a]!;
    out[i] = (s0 + s1) + (s2 + s3);
  }
}
