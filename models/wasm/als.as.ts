// AssemblyScript, compiled by `asc` into dist/models/wasm/kernels.wasm through kernels.as.ts.
// The loader is models/als-wasm.ts, which owns the memory layout; this module only computes.
//
// The hot loops of implicit ALS, the contract of `gramian` and `alsHalfSweep` in models/als.ts,
// in f32 with f32x4 SIMD over the factors (the reference computes in doubles: the two agree
// within float tolerance). Pointers are byte offsets; nothing here allocates.

/** Σ_f a[f] b[f] over k floats: four lanes, the tail added to lane 0. */
@inline
function dotF32(a: usize, b: usize, k: u32): f32 {
  const k4 = <usize>(k & ~3) << 2;
  const end = <usize>k << 2;
  let acc = f32x4.splat(0);
  let f: usize = 0;
  for (; f < k4; f += 16) acc = f32x4.add(acc, f32x4.mul(v128.load(a + f), v128.load(b + f)));
  let l0 = f32x4.extract_lane(acc, 0);
  for (; f < end; f += 4) l0 += load<f32>(a + f) * load<f32>(b + f);
  return (l0 + f32x4.extract_lane(acc, 1)) + (f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3));
}

/** y[f] += s x[f] over k floats. */
@inline
function axpyF32(s: f32, x: usize, y: usize, k: u32): void {
  const k4 = <usize>(k & ~3) << 2;
  const end = <usize>k << 2;
  const sv = f32x4.splat(s);
  let f: usize = 0;
  for (; f < k4; f += 16) v128.store(y + f, f32x4.add(v128.load(y + f), f32x4.mul(sv, v128.load(x + f))));
  for (; f < end; f += 4) store<f32>(y + f, load<f32>(y + f) + s * load<f32>(x + f));
}

/** G = Mᵀ M (k × k floats at g) of the n × k row-major matrix at m. */
export function alsGramian(m: usize, n: u32, k: u32, g: usize): void {
  const rowBytes = <usize>k << 2;
  memory.fill(g, 0, rowBytes * <usize>k);
  for (let r: u32 = 0; r < n; r++) {
    const row = m + <usize>r * rowBytes;
    for (let a: u32 = 0; a < k; a++) {
      const ma = load<f32>(row + (<usize>a << 2));
      if (ma != 0) axpyF32(ma, row, g + <usize>a * rowBytes, k);
    }
  }
}

/** out = A v for `row`: α0 G v + λ_row v + Σ_e (c_e − α0)(f_e · v) f_e. */
@inline
function timesA(
  row: u32, v: usize, out: usize, fixed: usize, g: usize,
  offsets: usize, cols: usize, conf: usize, reg: usize, k: u32, a0: f32,
): void {
  const rowBytes = <usize>k << 2;
  const lambda = load<f32>(reg + (<usize>row << 2));
  for (let a: u32 = 0; a < k; a++) {
    const at = <usize>a << 2;
    store<f32>(out + at, a0 * dotF32(g + <usize>a * rowBytes, v, k) + lambda * load<f32>(v + at));
  }
  const e1 = load<u32>(offsets + (<usize>(row + 1) << 2));
  for (let e = load<u32>(offsets + (<usize>row << 2)); e < e1; e++) {
    const f = fixed + <usize>load<u32>(cols + (<usize>e << 2)) * rowBytes;
    const d = (load<f32>(conf + (<usize>e << 2)) - a0) * dotF32(f, v, k);
    axpyF32(d, f, out, k);
  }
}

/**
 * Re-solves every row of `solve` (rows × k) by `cgSteps` conjugate-gradient steps from its
 * current value, against `fixed` and its Gramian `g` (α0 G + Σ (c − α0) f fᵀ + λ I, right-hand
 * side Σ c f). `scratch` holds 4k floats (x, r, p, Ap). Stops a row early below `floor`.
 */
export function alsHalfSweep(
  solve: usize, fixed: usize, g: usize,
  offsets: usize, cols: usize, conf: usize, reg: usize,
  rows: u32, k: u32, a0: f32, cgSteps: u32, floor: f32, scratch: usize,
): void {
  const rowBytes = <usize>k << 2;
  const x = scratch;
  const r = x + rowBytes;
  const p = r + rowBytes;
  const ap = p + rowBytes;
  for (let row: u32 = 0; row < rows; row++) {
    const xs = solve + <usize>row * rowBytes;
    memory.copy(x, xs, rowBytes);
    // r = b − A x
    timesA(row, x, ap, fixed, g, offsets, cols, conf, reg, k, a0);
    memory.fill(r, 0, rowBytes);
    axpyF32(-1, ap, r, k);
    const e1 = load<u32>(offsets + (<usize>(row + 1) << 2));
    for (let e = load<u32>(offsets + (<usize>row << 2)); e < e1; e++) {
      const f = fixed + <usize>load<u32>(cols + (<usize>e << 2)) * rowBytes;
      axpyF32(load<f32>(conf + (<usize>e << 2)), f, r, k);
    }
    memory.copy(p, r, rowBytes);
    let rs = dotF32(r, r, k);
    for (let s: u32 = 0; s < cgSteps && rs > floor; s++) {
      timesA(row, p, ap, fixed, g, offsets, cols, conf, reg, k, a0);
      const step = rs / dotF32(p, ap, k);
      axpyF32(step, p, x, k);
      axpyF32(-step, ap, r, k);
      const rsNew = dotF32(r, r, k);
      const beta = rsNew / rs;
      // p = r + beta p
      const k4 = <usize>(k & ~3) << 2;
      const bv = f32x4.splat(beta);
      let f: usize = 0;
      for (; f < k4; f += 16) v128.store(p + f, f32x4.add(v128.load(r + f), f32x4.mul(bv, v128.load(p + f))));
      for (; f < rowBytes; f += 4) store<f32>(p + f, load<f32>(r + f) + beta * load<f32>(p + f));
      rs = rsNew;
    }
    memory.copy(xs, x, rowBytes);
  }
}
