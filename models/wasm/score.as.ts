// AssemblyScript, compiled by `asc` into dist/models/wasm/kernels.wasm through kernels.as.ts.
// The loader is models/score-rows.ts, which owns the memory layout; this module only computes.
//
// Serving's scoring of every title against one user: out[r] = bias_r + p·q_r, the dot in one
// f32x4 accumulator (lane f mod 4, the tail to lane 0, then (l0 + l1) + (l2 + l3)), as the
// reference `scoreRowsReference` spells out. Pointers are byte offsets; nothing allocates.

/**
 * Scores `n` rows of `k` factors then a bias, one after another from `rows` (a row is k + 1
 * floats, not necessarily 16-aligned), against the `k` factors at `user`, into `out[0 .. n)`.
 */
export function scoreRows(rows: usize, n: u32, k: u32, user: usize, out: usize): void {
  const rowBytes = <usize>(k + 1) << 2;
  const kBytes = <usize>k << 2;
  const k4Bytes = <usize>(k & ~3) << 2;
  let q = rows;
  for (let r: u32 = 0; r < n; r++) {
    let acc = f32x4.splat(0);
    let f: usize = 0;
    for (; f < k4Bytes; f += 16) acc = f32x4.add(acc, f32x4.mul(v128.load(user + f), v128.load(q + f)));
    let l0 = f32x4.extract_lane(acc, 0);
    for (; f < kBytes; f += 4) l0 += load<f32>(user + f) * load<f32>(q + f);
    const dot = (l0 + f32x4.extract_lane(acc, 1)) + (f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3));
    store<f32>(out + (<usize>r << 2), load<f32>(q + kBytes) + dot);
    q += rowBytes;
  }
}
