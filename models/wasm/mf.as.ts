// AssemblyScript, not TypeScript: compiled by `asc` (see package.json "build") into
// dist/models/wasm/kernels.wasm (through kernels.as.ts), never by tsc (tsconfig excludes models/wasm). The loader is
// models/mf-wasm.ts, which owns the memory layout; this module only computes.
//
// The hot loop of biased MF by SGD, the contract of `sgdEpoch` in models/mf.ts, over arrays
// the loader placed in this module's linear memory. The dot product is one f32x4
// accumulator (lane f mod 4), factors past the last whole group of four added to lane 0,
// then (l0 + l1) + (l2 + l3): the order the reference spells out, so that both agree within
// float rounding. Pointers are byte offsets; nothing here allocates.

/** Where the loader may start placing arrays: past this module's own static data. */
export function heapBase(): usize {
  return __heap_base;
}

/**
 * One SGD epoch over the rows `order[0 .. n)` (each below `rows`), updating P, Q, bu and
 * bi in place; returns the sum of e² (each e before its row's update). Every order entry
 * is checked first, before any update: on one at or past `rows` it returns −(t + 1) for its
 * position t and leaves the parameters as they were.
 */
export function sgdEpoch(
  p: usize, q: usize, bu: usize, bi: usize,
  users: usize, items: usize, ratings: usize, order: usize,
  n: u32, rows: u32, k: u32,
  mu: f32, lr: f32, regUser: f32, regItem: f32, regUserBias: f32, regItemBias: f32,
): f64 {
  for (let t: u32 = 0; t < n; t++) {
    if (load<u32>(order + (<usize>t << 2)) >= rows) return -(<f64>t + 1);
  }
  const shrinkP = f32(1) - lr * regUser;
  const shrinkQ = f32(1) - lr * regItem;
  const shrinkBu = f32(1) - lr * regUserBias;
  const shrinkBi = f32(1) - lr * regItemBias;
  const shrinkPv = f32x4.splat(shrinkP);
  const shrinkQv = f32x4.splat(shrinkQ);
  const rowBytes = <usize>k << 2;
  const k4Bytes = <usize>(k & ~3) << 2;
  let sse: f64 = 0;
  for (let t: u32 = 0; t < n; t++) {
    const j = <usize>load<u32>(order + (<usize>t << 2)) << 2;
    const u = <usize>load<u32>(users + j);
    const i = <usize>load<u32>(items + j);
    const pu = p + u * rowBytes;
    const qi = q + i * rowBytes;

    let acc = f32x4.splat(0);
    let f: usize = 0;
    for (; f < k4Bytes; f += 16) {
      acc = f32x4.add(acc, f32x4.mul(v128.load(pu + f), v128.load(qi + f)));
    }
    let l0 = f32x4.extract_lane(acc, 0);
    for (; f < rowBytes; f += 4) l0 += load<f32>(pu + f) * load<f32>(qi + f);
    const dot = (l0 + f32x4.extract_lane(acc, 1)) + (f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3));

    const bup = bu + (u << 2);
    const bip = bi + (i << 2);
    const oldBu = load<f32>(bup);
    const oldBi = load<f32>(bip);
    const e = load<f32>(ratings + j) - (mu + oldBu + oldBi + dot);
    sse += <f64>e * <f64>e;
    const g = lr * e;
    store<f32>(bup, oldBu * shrinkBu + g);
    store<f32>(bip, oldBi * shrinkBi + g);

    // p' = p (1 − lr regUser) + lr e q and q' = q (1 − lr regItem) + lr e p, both from
    // the values before this row.
    const gv = f32x4.splat(g);
    f = 0;
    for (; f < k4Bytes; f += 16) {
      const pv = v128.load(pu + f);
      const qv = v128.load(qi + f);
      v128.store(pu + f, f32x4.add(f32x4.mul(pv, shrinkPv), f32x4.mul(gv, qv)));
      v128.store(qi + f, f32x4.add(f32x4.mul(qv, shrinkQv), f32x4.mul(gv, pv)));
    }
    for (; f < rowBytes; f += 4) {
      const pf = load<f32>(pu + f);
      const qf = load<f32>(qi + f);
      store<f32>(pu + f, pf * shrinkP + g * qf);
      store<f32>(qi + f, qf * shrinkQ + g * pf);
    }
  }
  return sse;
}
