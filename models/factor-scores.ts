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
  for (let i = 0; i < items; i++) out[i] = dot4(x, o, y, i * k, k);
}

/**
 * x[xo .. xo + k) · y[yo .. yo + k) in four partial sums (factor f into sum f mod 4, the tail
 * into the first), added as (s0 + s1) + (s2 + s3): about twice as fast in V8 as one sum.
 */
export function dot4(x: Float32Array, xo: number, y: Float32Array, yo: number, k: number): number {
  const k4 = k & ~3;
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let a = 0;
  for (; a < k4; a += 4) {
    s0 += x[xo + a]! * y[yo + a]!;
    s1 += x[xo + a + 1]! * y[yo + a + 1]!;
    s2 += x[xo + a + 2]! * y[yo + a + 2]!;
    s3 += x[xo + a + 3]! * y[yo + a + 3]!;
  }
  for (; a < k; a++) s0 += x[xo + a]! * y[yo + a]!;
  return s0 + s1 + (s2 + s3);
}
