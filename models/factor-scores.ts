/** out[i] = x_u · y_i for i < items, or 0s when u is past `users`: the ranking side of factor models. */
export function scoreDots(x: Float32Array, y: Float32Array, u: number, users: number, items: number, k: number, out: Float32Array): void {
  if (u >= users) {
    out.fill(0, 0, items);
    return;
  }
  const o = u * k;
  for (let i = 0; i < items; i++) {
    let s = 0;
    for (let a = 0, q = i * k; a < k; a++) s += x[o + a]! * y[q + a]!;
    out[i] = s;
  }
}
