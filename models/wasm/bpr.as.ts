// AssemblyScript, compiled by `asc` into dist/models/wasm/kernels.wasm through kernels.as.ts.
// The loader is models/bpr-wasm.ts, which owns the memory layout; this module only computes.
//
// BPR-MF's SGD over a batch of sampled triples (u, i, j), the contract of `bprEpoch` in
// models/bpr.ts: the dot p_u·(q_i − q_j) in one f32x4 accumulator (lane f mod 4, the tail to
// lane 0, then (l0 + l1) + (l2 + l3)) as the reference spells out. The sampling stays in
// TypeScript; this only applies the triples. Pointers are byte offsets; nothing allocates.

/**
 * SGD over triples `us/is/js[0 .. n)`, updating the user and item rows in place; returns
 * Σ softplus(−x). A row is `k` factors then a bias (16-aligned); user u's row is at the
 * address `userRows[u]` (a u32 table), item i's at `q + i * stride`, its bias the item bias
 * (a user row's bias is unused). A triple past `users` or `items` is refused before any
 * update: it returns −(t + 1) for its position t.
 */
export function bprEpoch(
  userRows: usize, q: usize, stride: usize, us: usize, is: usize, js: usize,
  n: u32, users: u32, items: u32, k: u32,
  lr: f32, reg: f32, regBias: f32,
): f64 {
  for (let t: u32 = 0; t < n; t++) {
    const at = <usize>t << 2;
    if (load<u32>(us + at) >= users || load<u32>(is + at) >= items || load<u32>(js + at) >= items) return -(<f64>t + 1);
  }
  const rowBytes = <usize>k << 2;
  const k4Bytes = <usize>(k & ~3) << 2;
  const lrv = f32x4.splat(lr);
  const regv = f32x4.splat(reg);
  let loss: f64 = 0;
  for (let t: u32 = 0; t < n; t++) {
    const at = <usize>t << 2;
    const pu = <usize>load<u32>(userRows + (<usize>load<u32>(us + at) << 2));
    const qi = q + <usize>load<u32>(is + at) * stride;
    const qj = q + <usize>load<u32>(js + at) * stride;

    let acc = f32x4.splat(0);
    let f: usize = 0;
    for (; f < k4Bytes; f += 16) {
      acc = f32x4.add(acc, f32x4.mul(v128.load(pu + f), f32x4.sub(v128.load(qi + f), v128.load(qj + f))));
    }
    let l0 = f32x4.extract_lane(acc, 0);
    for (; f < rowBytes; f += 4) l0 += load<f32>(pu + f) * (load<f32>(qi + f) - load<f32>(qj + f));
    const dot = (l0 + f32x4.extract_lane(acc, 1)) + (f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3));

    const bip = qi + rowBytes;
    const bjp = qj + rowBytes;
    const bi = load<f32>(bip);
    const bj = load<f32>(bjp);
    const x = <f64>(bi - bj + dot);
    loss += x < 0 ? -x + Math.log1p(Math.exp(x)) : Math.log1p(Math.exp(-x));
    const g = <f32>(1 / (1 + Math.exp(x)));
    store<f32>(bip, bi + lr * (g - regBias * bi));
    store<f32>(bjp, bj + lr * (-g - regBias * bj));

    // All three rows from their values before this triple.
    const gv = f32x4.splat(g);
    f = 0;
    for (; f < k4Bytes; f += 16) {
      const pv = v128.load(pu + f);
      const qiv = v128.load(qi + f);
      const qjv = v128.load(qj + f);
      v128.store(pu + f, f32x4.add(pv, f32x4.mul(lrv, f32x4.sub(f32x4.mul(gv, f32x4.sub(qiv, qjv)), f32x4.mul(regv, pv)))));
      v128.store(qi + f, f32x4.add(qiv, f32x4.mul(lrv, f32x4.sub(f32x4.mul(gv, pv), f32x4.mul(regv, qiv)))));
      v128.store(qj + f, f32x4.sub(qjv, f32x4.mul(lrv, f32x4.add(f32x4.mul(gv, pv), f32x4.mul(regv, qjv)))));
    }
    for (; f < rowBytes; f += 4) {
      const pf = load<f32>(pu + f);
      const qif = load<f32>(qi + f);
      const qjf = load<f32>(qj + f);
      store<f32>(pu + f, pf + lr * (g * (qif - qjf) - reg * pf));
      store<f32>(qi + f, qif + lr * (g * pf - reg * qif));
      store<f32>(qj + f, qjf + lr * (-g * pf - reg * qjf));
    }
  }
  return loss;
}
