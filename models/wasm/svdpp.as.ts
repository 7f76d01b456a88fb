// AssemblyScript, not TypeScript: compiled into dist/models/wasm/kernels.wasm through
// kernels.as.ts. The loader is models/svdpp-wasm.ts, which owns the memory layout; this
// module only computes.
//
// The hot loop of SVD++ by user-grouped SGD, the contract of `svdppEpoch` in
// models/svdpp.ts: per run of one user's rows, the implicit sum z once, the rows, then one
// write of every y_j of N(u). The dot product q_i · (p_u + z) is one f32x4 accumulator
// (lane f mod 4), factors past the last whole group of four added to lane 0, then
// (l0 + l1) + (l2 + l3), as the reference spells out. Pointers are byte offsets.

/**
 * One epoch over the rows `order[0 .. n)` (each below `rows`), updating P, Q, Y, bu and bi
 * in place; N(u) is `nItems[nOffsets[u] .. nOffsets[u+1])`; `z` and `acc` are scratch rows
 * of k floats. Returns the sum of e²; on an order entry at or past `rows` it returns
 * −(t + 1) for its position t before any update.
 */
export function svdppEpoch(
  p: usize, q: usize, y: usize, bu: usize, bi: usize,
  users: usize, items: usize, ratings: usize, order: usize,
  nOffsets: usize, nItems: usize, z: usize, acc: usize,
  n: u32, rows: u32, k: u32,
  mu: f32, lr: f32, regUser: f32, regItem: f32, regY: f32, regUserBias: f32, regItemBias: f32,
): f64 {
  for (let t: u32 = 0; t < n; t++) {
    if (load<u32>(order + (<usize>t << 2)) >= rows) return -(<f64>t + 1);
  }
  const shrinkP = f32(1) - lr * regUser;
  const shrinkQ = f32(1) - lr * regItem;
  const shrinkY = f32(1) - lr * regY;
  const shrinkBu = f32(1) - lr * regUserBias;
  const shrinkBi = f32(1) - lr * regItemBias;
  const shrinkPv = f32x4.splat(shrinkP);
  const shrinkQv = f32x4.splat(shrinkQ);
  const shrinkYv = f32x4.splat(shrinkY);
  const rowBytes = <usize>k << 2;
  const k4Bytes = <usize>(k & ~3) << 2;
  let sse: f64 = 0;
  let t: u32 = 0;
  while (t < n) {
    const u = load<u32>(users + (<usize>load<u32>(order + (<usize>t << 2)) << 2));
    let end: u32 = t + 1;
    while (end < n && load<u32>(users + (<usize>load<u32>(order + (<usize>end << 2)) << 2)) == u) end++;
    const a = load<u32>(nOffsets + (<usize>u << 2));
    const b = load<u32>(nOffsets + ((<usize>u + 1) << 2));
    const norm: f32 = b > a ? f32(1) / Mathf.sqrt(<f32>(b - a)) : f32(0);
    const track: f32 = b > a ? lr : f32(0);

    // z = norm Σ y_j, acc = 0
    memory.fill(z, 0, rowBytes);
    memory.fill(acc, 0, rowBytes);
    for (let x = a; x < b; x++) {
      const yj = y + <usize>load<u32>(nItems + (<usize>x << 2)) * rowBytes;
      let f: usize = 0;
      for (; f < k4Bytes; f += 16) v128.store(z + f, f32x4.add(v128.load(z + f), v128.load(yj + f)));
      for (; f < rowBytes; f += 4) store<f32>(z + f, load<f32>(z + f) + load<f32>(yj + f));
    }
    const normv = f32x4.splat(norm);
    let f: usize = 0;
    for (; f < k4Bytes; f += 16) v128.store(z + f, f32x4.mul(v128.load(z + f), normv));
    for (; f < rowBytes; f += 4) store<f32>(z + f, load<f32>(z + f) * norm);

    let decay: f32 = 1;
    const pu = p + <usize>u * rowBytes;
    for (; t < end; t++) {
      const j = <usize>load<u32>(order + (<usize>t << 2)) << 2;
      const i = <usize>load<u32>(items + j);
      const qi = q + i * rowBytes;

      let dotv = f32x4.splat(0);
      f = 0;
      for (; f < k4Bytes; f += 16) {
        dotv = f32x4.add(dotv, f32x4.mul(v128.load(qi + f), f32x4.add(v128.load(pu + f), v128.load(z + f))));
      }
      let l0 = f32x4.extract_lane(dotv, 0);
      for (; f < rowBytes; f += 4) l0 += load<f32>(qi + f) * (load<f32>(pu + f) + load<f32>(z + f));
      const dot = (l0 + f32x4.extract_lane(dotv, 1)) + (f32x4.extract_lane(dotv, 2) + f32x4.extract_lane(dotv, 3));

      const bup = bu + (<usize>u << 2);
      const bip = bi + (i << 2);
      const oldBu = load<f32>(bup);
      const oldBi = load<f32>(bip);
      const e = load<f32>(ratings + j) - (mu + oldBu + oldBi + dot);
      sse += <f64>e * <f64>e;
      const g = lr * e;
      const gz = track * e;
      store<f32>(bup, oldBu * shrinkBu + g);
      store<f32>(bip, oldBi * shrinkBi + g);

      const gv = f32x4.splat(g);
      const gzv = f32x4.splat(gz);
      const ev = f32x4.splat(e);
      f = 0;
      for (; f < k4Bytes; f += 16) {
        const pv = v128.load(pu + f);
        const qv = v128.load(qi + f);
        const zv = v128.load(z + f);
        v128.store(pu + f, f32x4.add(f32x4.mul(pv, shrinkPv), f32x4.mul(gv, qv)));
        v128.store(qi + f, f32x4.add(f32x4.mul(qv, shrinkQv), f32x4.mul(gv, f32x4.add(pv, zv))));
        v128.store(z + f, f32x4.add(f32x4.mul(zv, shrinkYv), f32x4.mul(gzv, qv)));
        v128.store(acc + f, f32x4.add(f32x4.mul(v128.load(acc + f), shrinkYv), f32x4.mul(ev, qv)));
      }
      for (; f < rowBytes; f += 4) {
        const pf = load<f32>(pu + f);
        const qf = load<f32>(qi + f);
        const zf = load<f32>(z + f);
        store<f32>(pu + f, pf * shrinkP + g * qf);
        store<f32>(qi + f, qf * shrinkQ + g * (pf + zf));
        store<f32>(z + f, zf * shrinkY + gz * qf);
        store<f32>(acc + f, load<f32>(acc + f) * shrinkY + e * qf);
      }
      decay *= shrinkY;
    }

    // y_j = decay y_j + lr norm acc, for every j of N(u)
    const push = lr * norm;
    const decayv = f32x4.splat(decay);
    const pushv = f32x4.splat(push);
    for (let x = a; x < b; x++) {
      const yj = y + <usize>load<u32>(nItems + (<usize>x << 2)) * rowBytes;
      f = 0;
      for (; f < k4Bytes; f += 16) {
        v128.store(yj + f, f32x4.add(f32x4.mul(v128.load(yj + f), decayv), f32x4.mul(pushv, v128.load(acc + f))));
      }
      for (; f < rowBytes; f += 4) store<f32>(yj + f, load<f32>(yj + f) * decay + push * load<f32>(acc + f));
    }
  }
  return sse;
}
