// AssemblyScript, not TypeScript: compiled by `asc` (see package.json "build") into
// dist/models/wasm/kernels.wasm (through kernels.as.ts), never by tsc (tsconfig excludes models/wasm). The loader is
// models/mf-wasm.ts, which owns the memory layout; this module only computes.
//
// The hot loop of biased MF by SGD, the contract of `sgdEpoch` in models/mf.ts, over arrays
// the loader placed in this module's linear memory. The dot product is one f32x4
// accumulator (lane f mod 4), factors past the last whole group of four added to lane 0,
// then (l0 + l1) + (l2 + l3): the order the reference spells out, so that both agree within
// float rounding. Pointers are byte offsets; nothing here allocates.
//
// Speed: the order's rows are read at random, so they are taken a block at a time: a tight
// gather loop (independent loads, many misses in flight) copies the block's records into a
// small scratch and touches their P and Q rows, then the update loop reads the scratch
// sequentially and finds its rows in cache. 32 factors, the usual case, keeps both rows in
// registers.

/** Where the loader may start placing arrays: past this module's own static data. */
export function heapBase(): usize {
  return __heap_base;
}

/** Bytes of one rating record: user (u32), item (u32), rating (f32), unused. */
const RECORD = 16;

/**
 * One SGD epoch over the rows `order[0 .. n)` (each below `rows`), updating P, Q, bu and
 * bi in place; returns the sum of e² (each e before its row's update). Every order entry
 * is checked first, before any update: on one at or past `rows` it returns −(t + 1) for its
 * position t and leaves the parameters as they were.
 *
 * `records` holds the table's rows, 16 bytes each (user u32, item u32, rating f32, unused);
 * `scratch` has room for `block` of them (the gathered block).
 */
export function sgdEpoch(
  p: usize, q: usize, bu: usize, bi: usize,
  records: usize, order: usize, scratch: usize, block: u32,
  n: u32, rows: u32, k: u32,
  mu: f32, lr: f32, regUser: f32, regItem: f32, regUserBias: f32, regItemBias: f32,
): f64 {
  for (let t: u32 = 0; t < n; t++) {
    if (load<u32>(order + (<usize>t << 2)) >= rows) return -(<f64>t + 1);
  }
  const rowBytes = <usize>k << 2;
  let sse: f64 = 0;
  for (let c: u32 = 0; c < n; c += block) {
    const m = min(block, n - c);
    gather(records, order + (<usize>c << 2), scratch, m, p, q, rowBytes);
    sse = k == 32
      ? update32(sse, p, q, bu, bi, scratch, m, mu, lr, regUser, regItem, regUserBias, regItemBias)
      : updateAny(sse, p, q, bu, bi, scratch, m, k, mu, lr, regUser, regItem, regUserBias, regItemBias);
  }
  return sse;
}

/**
 * Copies the records of `order[0 .. m)` into `scratch` and loads one word of every cache
 * line of their P and Q rows, so that the update loop finds them in cache: the loads are
 * independent of each other, so many misses are in flight at once (WebAssembly has no
 * prefetch instruction; a load of an unused value is kept by both Binaryen and V8).
 */
// @ts-ignore: decorator
@inline function gather(records: usize, order: usize, scratch: usize, m: u32, p: usize, q: usize, rowBytes: usize): void {
  for (let t: u32 = 0; t < m; t++) {
    const rec = v128.load(records + <usize>load<u32>(order + (<usize>t << 2)) * RECORD);
    v128.store(scratch + <usize>t * RECORD, rec);
  }
  const last = rowBytes - 4;
  for (let t: u32 = 0; t < m; t++) {
    const s = scratch + <usize>t * RECORD;
    const pu = p + <usize>load<u32>(s) * rowBytes;
    const qi = q + <usize>load<u32>(s, 4) * rowBytes;
    for (let f: usize = 0; f < last; f += 64) {
      load<u32>(pu + f);
      load<u32>(qi + f);
    }
    load<u32>(pu + last);
    load<u32>(qi + last);
  }
}

/** (l0 + l1) + (l2 + l3) of `acc`. */
// @ts-ignore: decorator
@inline function lanesSum(acc: v128): f32 {
  const a = f32x4.add(acc, v128.shuffle<f32>(acc, acc, 1, 0, 3, 2));
  return f32x4.extract_lane(f32x4.add(a, v128.shuffle<f32>(a, a, 2, 3, 0, 1)), 0);
}

/** The updates of the `m` gathered records at 32 factors: both rows loaded once, kept in registers. */
// @ts-ignore: decorator
@inline function update32(
  sse: f64, p: usize, q: usize, bu: usize, bi: usize, scratch: usize, m: u32,
  mu: f32, lr: f32, regUser: f32, regItem: f32, regUserBias: f32, regItemBias: f32,
): f64 {
  const shrinkBu = f32(1) - lr * regUserBias;
  const shrinkBi = f32(1) - lr * regItemBias;
  const sP = f32x4.splat(f32(1) - lr * regUser);
  const sQ = f32x4.splat(f32(1) - lr * regItem);
  for (let t: u32 = 0; t < m; t++) {
    const s = scratch + <usize>t * RECORD;
    const u = <usize>load<u32>(s);
    const i = <usize>load<u32>(s, 4);
    const pu = p + (u << 7);
    const qi = q + (i << 7);
    const p0 = v128.load(pu, 0), p1 = v128.load(pu, 16), p2 = v128.load(pu, 32), p3 = v128.load(pu, 48);
    const p4 = v128.load(pu, 64), p5 = v128.load(pu, 80), p6 = v128.load(pu, 96), p7 = v128.load(pu, 112);
    const q0 = v128.load(qi, 0), q1 = v128.load(qi, 16), q2 = v128.load(qi, 32), q3 = v128.load(qi, 48);
    const q4 = v128.load(qi, 64), q5 = v128.load(qi, 80), q6 = v128.load(qi, 96), q7 = v128.load(qi, 112);
    let acc = f32x4.mul(p0, q0);
    acc = f32x4.add(acc, f32x4.mul(p1, q1));
    acc = f32x4.add(acc, f32x4.mul(p2, q2));
    acc = f32x4.add(acc, f32x4.mul(p3, q3));
    acc = f32x4.add(acc, f32x4.mul(p4, q4));
    acc = f32x4.add(acc, f32x4.mul(p5, q5));
    acc = f32x4.add(acc, f32x4.mul(p6, q6));
    acc = f32x4.add(acc, f32x4.mul(p7, q7));
    const bup = bu + (u << 2);
    const bip = bi + (i << 2);
    const oldBu = load<f32>(bup);
    const oldBi = load<f32>(bip);
    const e = load<f32>(s, 8) - (mu + oldBu + oldBi + lanesSum(acc));
    sse += <f64>e * <f64>e;
    const g = lr * e;
    store<f32>(bup, oldBu * shrinkBu + g);
    store<f32>(bip, oldBi * shrinkBi + g);
    // p' = p (1 − lr regUser) + lr e q and q' = q (1 − lr regItem) + lr e p, both from
    // the values before this row.
    const gv = f32x4.splat(g);
    v128.store(pu, f32x4.add(f32x4.mul(p0, sP), f32x4.mul(gv, q0)), 0);
    v128.store(qi, f32x4.add(f32x4.mul(q0, sQ), f32x4.mul(gv, p0)), 0);
    v128.store(pu, f32x4.add(f32x4.mul(p1, sP), f32x4.mul(gv, q1)), 16);
    v128.store(qi, f32x4.add(f32x4.mul(q1, sQ), f32x4.mul(gv, p1)), 16);
    v128.store(pu, f32x4.add(f32x4.mul(p2, sP), f32x4.mul(gv, q2)), 32);
    v128.store(qi, f32x4.add(f32x4.mul(q2, sQ), f32x4.mul(gv, p2)), 32);
    v128.store(pu, f32x4.add(f32x4.mul(p3, sP), f32x4.mul(gv, q3)), 48);
    v128.store(qi, f32x4.add(f32x4.mul(q3, sQ), f32x4.mul(gv, p3)), 48);
    v128.store(pu, f32x4.add(f32x4.mul(p4, sP), f32x4.mul(gv, q4)), 64);
    v128.store(qi, f32x4.add(f32x4.mul(q4, sQ), f32x4.mul(gv, p4)), 64);
    v128.store(pu, f32x4.add(f32x4.mul(p5, sP), f32x4.mul(gv, q5)), 80);
    v128.store(qi, f32x4.add(f32x4.mul(q5, sQ), f32x4.mul(gv, p5)), 80);
    v128.store(pu, f32x4.add(f32x4.mul(p6, sP), f32x4.mul(gv, q6)), 96);
    v128.store(qi, f32x4.add(f32x4.mul(q6, sQ), f32x4.mul(gv, p6)), 96);
    v128.store(pu, f32x4.add(f32x4.mul(p7, sP), f32x4.mul(gv, q7)), 112);
    v128.store(qi, f32x4.add(f32x4.mul(q7, sQ), f32x4.mul(gv, p7)), 112);
  }
  return sse;
}

/** The updates of the `m` gathered records at any `k`. */
// @ts-ignore: decorator
@inline function updateAny(
  sse: f64, p: usize, q: usize, bu: usize, bi: usize, scratch: usize, m: u32, k: u32,
  mu: f32, lr: f32, regUser: f32, regItem: f32, regUserBias: f32, regItemBias: f32,
): f64 {
  const shrinkP = f32(1) - lr * regUser;
  const shrinkQ = f32(1) - lr * regItem;
  const shrinkBu = f32(1) - lr * regUserBias;
  const shrinkBi = f32(1) - lr * regItemBias;
  const shrinkPv = f32x4.splat(shrinkP);
  const shrinkQv = f32x4.splat(shrinkQ);
  const rowBytes = <usize>k << 2;
  const k4Bytes = <usize>(k & ~3) << 2;
  for (let t: u32 = 0; t < m; t++) {
    const s = scratch + <usize>t * RECORD;
    const u = <usize>load<u32>(s);
    const i = <usize>load<u32>(s, 4);
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
    const e = load<f32>(s, 8) - (mu + oldBu + oldBi + dot);
    sse += <f64>e * <f64>e;
    const g = lr * e;
    store<f32>(bup, oldBu * shrinkBu + g);
    store<f32>(bip, oldBi * shrinkBi + g);

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
