// AssemblyScript, not TypeScript: compiled by `asc` (see package.json "build") into
// dist/models/wasm/kernels.wasm (through kernels.as.ts), never by tsc (tsconfig excludes models/wasm). The loader is
// models/mf-wasm.ts, which owns the memory layout; this module only computes.
//
// The hot loop of biased MF by SGD, the contract of `sgdEpoch` in models/mf.ts, over rows
// (factors, then the bias) placed in this module's linear memory: by the loader for a
// one-process run, or by the parameter arenas of a node's shards, trained in place. The dot product is four f32x4
// accumulators (group of four g into accumulator g mod 4), factors past the last whole group
// added to lane 0, then (a0 + a1) + (a2 + a3) and its lanes (l0 + l1) + (l2 + l3): the order
// the reference (`dotMf`) spells out, so that both agree within float rounding. Pointers are
// byte offsets; nothing here allocates.
//
// Speed: the order's rows are read at random, so they are taken a block at a time: a tight
// gather loop (independent loads, many misses in flight) copies the block's records into a
// small scratch, as row addresses, and, when the rows exceed the cache, touches them; then the update loop
// reads the scratch sequentially and finds its rows in cache. At 32 factors (unrolled) and at
// any multiple of 16, the loop computes the next row's dot product before this row's update,
// which waits on e: the two overlap.

/** Where the loader may start placing arrays: past this module's own static data. */
export function heapBase(): usize {
  return __heap_base;
}

/** Bytes of one rating record: user (u32), item (u32), rating (f32), unused. */
const RECORD = 16;

/** The first position t of `order[0 .. n)` whose entry is at or past `rows`, or −1 if none is. */
export function checkOrder(order: usize, n: u32, rows: u32): i32 {
  for (let t: u32 = 0; t < n; t++) {
    if (load<u32>(order + (<usize>t << 2)) >= rows) return <i32>t;
  }
  return -1;
}

/**
 * SGD over the rows `order[0 .. n)`, updating the user and item rows in place; returns the
 * sum of e² (each e before its row's update). Every order entry must be a row of the table
 * (below `rows`): the loader checks the whole epoch's order first with `checkOrder`, then may
 * run it in several calls (V8 moves a long-running call to optimised code only at its next call).
 *
 * Rows are addressed, not indexed: a row is `k` factors then the bias (16-aligned); user u's
 * row is at the address `users[u]` (a u32 table: user rows may lie anywhere, in the arenas
 * of several shards), item i's at `q + i * stride`.
 *
 * `records` holds the table's rows, 16 bytes each (user u32, item u32, rating f32, unused);
 * `scratch` has room for `block + 1` of them (the gathered block, as row addresses, and a copy
 * of its last); `touch` asks the gather to load the block's rows ahead (worth it when they do
 * not stay in cache).
 */
export function sgdEpoch(
  users: usize, q: usize, stride: usize,
  records: usize, order: usize, scratch: usize, block: u32, touch: bool,
  n: u32, k: u32,
  mu: f32, lr: f32, regUser: f32, regItem: f32, regUserBias: f32, regItemBias: f32,
): f64 {
  const factorBytes = <usize>k << 2;
  let sse: f64 = 0;
  for (let c: u32 = 0; c < n; c += block) {
    const m = min(block, n - c);
    gather(records, order + (<usize>c << 2), scratch, m, touch, users, q, stride, factorBytes);
    if (k == 32) sse = update32(sse, scratch, m, mu, lr, regUser, regItem, regUserBias, regItemBias);
    else if ((k & 15) == 0) sse = update16(sse, scratch, m, factorBytes, mu, lr, regUser, regItem, regUserBias, regItemBias);
    else sse = updateAny(sse, scratch, m, k, mu, lr, regUser, regItem, regUserBias, regItemBias);
  }
  return sse;
}

/**
 * Copies the records of `order[0 .. m)` into `scratch` as (user row address, item row
 * address, rating) and, if `touch`, loads one word of every cache line of those rows (bias
 * included), so that the update loop finds them in cache: the loads are independent of each
 * other, so many misses are in flight at once (WebAssembly has no prefetch instruction; a
 * load of an unused value is kept by both Binaryen and V8).
 */
// @ts-ignore: decorator
@inline function gather(records: usize, order: usize, scratch: usize, m: u32, touch: bool, users: usize, q: usize, stride: usize, factorBytes: usize): void {
  for (let t: u32 = 0; t < m; t++) {
    const rec = records + <usize>load<u32>(order + (<usize>t << 2)) * RECORD;
    const s = scratch + <usize>t * RECORD;
    store<u32>(s, load<u32>(users + (<usize>load<u32>(rec) << 2)));
    store<u32>(s, <u32>(q + <usize>load<u32>(rec, 4) * stride), 4);
    store<f32>(s, load<f32>(rec, 8), 8);
  }
  // A copy of the last record past the block: the update loop's look-ahead reads it.
  v128.store(scratch + <usize>m * RECORD, v128.load(scratch + <usize>(m - 1) * RECORD));
  if (!touch) return;
  for (let t: u32 = 0; t < m; t++) {
    const s = scratch + <usize>t * RECORD;
    const pu = <usize>load<u32>(s);
    const qi = <usize>load<u32>(s, 4);
    for (let f: usize = 0; f < factorBytes; f += 64) {
      load<u32>(pu + f);
      load<u32>(qi + f);
    }
    load<u32>(pu + factorBytes);
    load<u32>(qi + factorBytes);
  }
}

/** (l0 + l1) + (l2 + l3) of `acc`. */
// @ts-ignore: decorator
@inline function lanesSum(acc: v128): f32 {
  const a = f32x4.add(acc, v128.shuffle<f32>(acc, acc, 1, 0, 3, 2));
  return f32x4.extract_lane(f32x4.add(a, v128.shuffle<f32>(a, a, 2, 3, 0, 1)), 0);
}

/** The dot product of the four accumulators' lanes: (a0 + a1) + (a2 + a3), then its lanes. */
// @ts-ignore: decorator
@inline function accSum(a0: v128, a1: v128, a2: v128, a3: v128): f32 {
  return lanesSum(f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3)));
}

/** p_u · q_i at 32 factors in the reference's order (`dotMf`): group g of four into accumulator g mod 4. */
// @ts-ignore: decorator
@inline function dot32(pu: usize, qi: usize): f32 {
  return accSum(
    f32x4.add(f32x4.mul(v128.load(pu, 0), v128.load(qi, 0)), f32x4.mul(v128.load(pu, 64), v128.load(qi, 64))),
    f32x4.add(f32x4.mul(v128.load(pu, 16), v128.load(qi, 16)), f32x4.mul(v128.load(pu, 80), v128.load(qi, 80))),
    f32x4.add(f32x4.mul(v128.load(pu, 32), v128.load(qi, 32)), f32x4.mul(v128.load(pu, 96), v128.load(qi, 96))),
    f32x4.add(f32x4.mul(v128.load(pu, 48), v128.load(qi, 48)), f32x4.mul(v128.load(pu, 112), v128.load(qi, 112))),
  );
}

/** p_u · q_i at any `k` a multiple of 16 (`rowBytes` = 4k) in the reference's order (`dotMf`). */
// @ts-ignore: decorator
@inline function dot16(pu: usize, qi: usize, rowBytes: usize): f32 {
  let a0 = f32x4.mul(v128.load(pu), v128.load(qi));
  let a1 = f32x4.mul(v128.load(pu, 16), v128.load(qi, 16));
  let a2 = f32x4.mul(v128.load(pu, 32), v128.load(qi, 32));
  let a3 = f32x4.mul(v128.load(pu, 48), v128.load(qi, 48));
  for (let f: usize = 64; f < rowBytes; f += 64) {
    a0 = f32x4.add(a0, f32x4.mul(v128.load(pu + f), v128.load(qi + f)));
    a1 = f32x4.add(a1, f32x4.mul(v128.load(pu + f, 16), v128.load(qi + f, 16)));
    a2 = f32x4.add(a2, f32x4.mul(v128.load(pu + f, 32), v128.load(qi + f, 32)));
    a3 = f32x4.add(a3, f32x4.mul(v128.load(pu + f, 48), v128.load(qi + f, 48)));
  }
  return accSum(a0, a1, a2, a3);
}

/** p_u · q_i at any `k` in the reference's order (`dotMf`). */
// @ts-ignore: decorator
@inline function dotAny(pu: usize, qi: usize, k: u32): f32 {
  const rowBytes = <usize>k << 2;
  const k4Bytes = <usize>(k & ~3) << 2;
  const k16Bytes = <usize>(k & ~15) << 2;
  let a0 = f32x4.splat(0);
  let a1 = f32x4.splat(0);
  let a2 = f32x4.splat(0);
  let a3 = f32x4.splat(0);
  let f: usize = 0;
  for (; f < k16Bytes; f += 64) {
    a0 = f32x4.add(a0, f32x4.mul(v128.load(pu + f), v128.load(qi + f)));
    a1 = f32x4.add(a1, f32x4.mul(v128.load(pu + f, 16), v128.load(qi + f, 16)));
    a2 = f32x4.add(a2, f32x4.mul(v128.load(pu + f, 32), v128.load(qi + f, 32)));
    a3 = f32x4.add(a3, f32x4.mul(v128.load(pu + f, 48), v128.load(qi + f, 48)));
  }
  // At most three whole groups of four are left: accumulators 0, 1, 2.
  if (f < k4Bytes) {
    a0 = f32x4.add(a0, f32x4.mul(v128.load(pu + f), v128.load(qi + f)));
    f += 16;
  }
  if (f < k4Bytes) {
    a1 = f32x4.add(a1, f32x4.mul(v128.load(pu + f), v128.load(qi + f)));
    f += 16;
  }
  if (f < k4Bytes) {
    a2 = f32x4.add(a2, f32x4.mul(v128.load(pu + f), v128.load(qi + f)));
    f += 16;
  }
  if (f < rowBytes) {
    let l0 = f32x4.extract_lane(a0, 0);
    for (; f < rowBytes; f += 4) l0 += load<f32>(pu + f) * load<f32>(qi + f);
    a0 = f32x4.replace_lane(a0, 0, l0);
  }
  return accSum(a0, a1, a2, a3);
}

// @ts-ignore: decorator
@inline function step32(pu: usize, qi: usize, o: usize, sP: v128, sQ: v128, gv: v128): void {
  const pv = v128.load(pu + o);
  const qv = v128.load(qi + o);
  v128.store(pu + o, f32x4.add(f32x4.mul(pv, sP), f32x4.mul(gv, qv)));
  v128.store(qi + o, f32x4.add(f32x4.mul(qv, sQ), f32x4.mul(gv, pv)));
}

/**
 * The updates of the `m` gathered records at 32 factors, software-pipelined: the next
 * row's dot product is computed before this row's factor update (which waits on e), so
 * that it runs in that wait; when the next row shares this one's user or item, it is
 * computed again after the update. `scratch[m]` must hold a valid record (a copy).
 */
// @ts-ignore: decorator
@inline function update32(
  sse: f64, scratch: usize, m: u32,
  mu: f32, lr: f32, regUser: f32, regItem: f32, regUserBias: f32, regItemBias: f32,
): f64 {
  const shrinkBu = f32(1) - lr * regUserBias;
  const shrinkBi = f32(1) - lr * regItemBias;
  const sP = f32x4.splat(f32(1) - lr * regUser);
  const sQ = f32x4.splat(f32(1) - lr * regItem);
  let pu = <usize>load<u32>(scratch);
  let qi = <usize>load<u32>(scratch, 4);
  let dot = dot32(pu, qi);
  for (let t: u32 = 0; t < m; t++) {
    const s = scratch + <usize>t * RECORD;
    const bup = pu + 128;
    const bip = qi + 128;
    const oldBu = load<f32>(bup);
    const oldBi = load<f32>(bip);
    const e = load<f32>(s, 8) - (mu + oldBu + oldBi + dot);
    sse += <f64>e * <f64>e;
    const g = lr * e;
    store<f32>(bup, oldBu * shrinkBu + g);
    store<f32>(bip, oldBi * shrinkBi + g);
    const pn = <usize>load<u32>(s, RECORD);
    const qn = <usize>load<u32>(s, RECORD + 4);
    let nextDot = dot32(pn, qn);
    // Stored (into the next record's unused word) only so that V8 computes it here, before
    // the update: it would otherwise schedule the arithmetic late, next to its use.
    store<f32>(s, nextDot, RECORD + 12);
    // p' = p (1 − lr regUser) + lr e q and q' = q (1 − lr regItem) + lr e p, both from
    // the values before this row.
    const gv = f32x4.splat(g);
    step32(pu, qi, 0, sP, sQ, gv);
    step32(pu, qi, 16, sP, sQ, gv);
    step32(pu, qi, 32, sP, sQ, gv);
    step32(pu, qi, 48, sP, sQ, gv);
    step32(pu, qi, 64, sP, sQ, gv);
    step32(pu, qi, 80, sP, sQ, gv);
    step32(pu, qi, 96, sP, sQ, gv);
    step32(pu, qi, 112, sP, sQ, gv);
    if (pn == pu || qn == qi) nextDot = dot32(pn, qn);
    pu = pn;
    qi = qn;
    dot = nextDot;
  }
  return sse;
}

/** `update32` for any `k` a multiple of 16 (`rowBytes` = 4k, the factors' bytes; the bias follows): the rows four vectors at a time. */
// @ts-ignore: decorator
@inline function update16(
  sse: f64, scratch: usize, m: u32, rowBytes: usize,
  mu: f32, lr: f32, regUser: f32, regItem: f32, regUserBias: f32, regItemBias: f32,
): f64 {
  const shrinkBu = f32(1) - lr * regUserBias;
  const shrinkBi = f32(1) - lr * regItemBias;
  const sP = f32x4.splat(f32(1) - lr * regUser);
  const sQ = f32x4.splat(f32(1) - lr * regItem);
  let pu = <usize>load<u32>(scratch);
  let qi = <usize>load<u32>(scratch, 4);
  let dot = dot16(pu, qi, rowBytes);
  for (let t: u32 = 0; t < m; t++) {
    const s = scratch + <usize>t * RECORD;
    const bup = pu + rowBytes;
    const bip = qi + rowBytes;
    const oldBu = load<f32>(bup);
    const oldBi = load<f32>(bip);
    const e = load<f32>(s, 8) - (mu + oldBu + oldBi + dot);
    sse += <f64>e * <f64>e;
    const g = lr * e;
    store<f32>(bup, oldBu * shrinkBu + g);
    store<f32>(bip, oldBi * shrinkBi + g);
    const pn = <usize>load<u32>(s, RECORD);
    const qn = <usize>load<u32>(s, RECORD + 4);
    let nextDot = dot16(pn, qn, rowBytes);
    store<f32>(s, nextDot, RECORD + 12); // as in update32: keeps the dot product before the update
    const gv = f32x4.splat(g);
    for (let f: usize = 0; f < rowBytes; f += 64) {
      step32(pu + f, qi + f, 0, sP, sQ, gv);
      step32(pu + f, qi + f, 16, sP, sQ, gv);
      step32(pu + f, qi + f, 32, sP, sQ, gv);
      step32(pu + f, qi + f, 48, sP, sQ, gv);
    }
    if (pn == pu || qn == qi) nextDot = dot16(pn, qn, rowBytes);
    pu = pn;
    qi = qn;
    dot = nextDot;
  }
  return sse;
}

/** The updates of the `m` gathered records at any `k`. */
// @ts-ignore: decorator
@inline function updateAny(
  sse: f64, scratch: usize, m: u32, k: u32,
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
    const pu = <usize>load<u32>(s);
    const qi = <usize>load<u32>(s, 4);

    const dot = dotAny(pu, qi, k);
    const bup = pu + rowBytes;
    const bip = qi + rowBytes;
    const oldBu = load<f32>(bup);
    const oldBi = load<f32>(bip);
    const e = load<f32>(s, 8) - (mu + oldBu + oldBi + dot);
    sse += <f64>e * <f64>e;
    const g = lr * e;
    store<f32>(bup, oldBu * shrinkBu + g);
    store<f32>(bip, oldBi * shrinkBi + g);

    const gv = f32x4.splat(g);
    let f: usize = 0;
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
