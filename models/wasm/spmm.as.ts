// AssemblyScript, compiled by `asc` into dist/models/wasm/kernels.wasm through kernels.as.ts.
// The loader is models/lightgcn-wasm.ts, which owns the memory layout; this module only computes.
//
// LightGCN's propagation: out = Â x for a sparse Â in compressed rows (u32 offsets and
// columns, f32 weights) and x of `nodes` rows of `k` floats. Each output row is the weighted
// sum of its neighbours' rows, in neighbour order, four factors per f32x4 lane group (each
// lane rounds its product and its sum in f32, as the reference `propagateReference` does).
// Pointers are byte offsets; nothing allocates.

export function spmm(offsets: usize, cols: usize, weights: usize, nodes: u32, k: u32, x: usize, out: usize): void {
  const rowBytes = <usize>k << 2;
  const k4Bytes = <usize>(k & ~3) << 2;
  const zero = f32x4.splat(0);
  for (let a: u32 = 0; a < nodes; a++) {
    const o = out + <usize>a * rowBytes;
    let d: usize = 0;
    for (; d < k4Bytes; d += 16) v128.store(o + d, zero);
    for (; d < rowBytes; d += 4) store<f32>(o + d, 0);
    const e1 = load<u32>(offsets + ((<usize>a + 1) << 2));
    for (let e = load<u32>(offsets + (<usize>a << 2)); e < e1; e++) {
      const w = load<f32>(weights + (<usize>e << 2));
      const wv = f32x4.splat(w);
      const b = x + <usize>load<u32>(cols + (<usize>e << 2)) * rowBytes;
      d = 0;
      for (; d < k4Bytes; d += 16) v128.store(o + d, f32x4.add(v128.load(o + d), f32x4.mul(wv, v128.load(b + d))));
      for (; d < rowBytes; d += 4) store<f32>(o + d, load<f32>(o + d) + w * load<f32>(b + d));
    }
  }
}
