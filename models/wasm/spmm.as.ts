// AssemblyScript, compiled by `asc` into dist/models/wasm/kernels.wasm through kernels.as.ts.
// The loader is models/lightgcn-wasm.ts, which owns the memory layout; this module only computes.
//
// LightGCN's propagation: out = Â x for a sparse Â in compressed rows (u32 offsets and
// columns, f32 weights) and x of `nodes` rows of `k` floats. Each output row is the weighted
// sum of its neighbours' rows, in neighbour order, four factors per f32x4 lane group (each
// lane rounds its product and its sum in f32, as the reference `propagateReference` does).
// Pointers are byte offsets; nothing allocates.
//
// A row is summed 32 factors at a time in eight f32x4 locals (registers), one pass over its
// edges per 32 factors, so the output is written once instead of loaded and stored per edge;
// the factors past the last whole 32 take the same pass 4 at a time, then 1 at a time. Each
// lane's sum runs over the same neighbours in the same order either way.
//
// With `acc` (not 0), a layer sum of `nodes × k` floats, each output row is also added into
// its row there (f32), as LightGCN's layer mean accumulates the layers.

export function spmm(offsets: usize, cols: usize, weights: usize, nodes: u32, k: u32, x: usize, out: usize, acc: usize): void {
  const rowBytes = <usize>k << 2;
  const k32Bytes = <usize>(k & ~31) << 2;
  const k4Bytes = <usize>(k & ~3) << 2;
  for (let a: u32 = 0; a < nodes; a++) {
    const o = out + <usize>a * rowBytes;
    const e0 = load<u32>(offsets + (<usize>a << 2));
    const e1 = load<u32>(offsets + ((<usize>a + 1) << 2));
    let d: usize = 0;
    for (; d < k32Bytes; d += 128) {
      let s0 = f32x4.splat(0);
      let s1 = s0;
      let s2 = s0;
      let s3 = s0;
      let s4 = s0;
      let s5 = s0;
      let s6 = s0;
      let s7 = s0;
      for (let e = e0; e < e1; e++) {
        const wv = f32x4.splat(load<f32>(weights + (<usize>e << 2)));
        const b = x + <usize>load<u32>(cols + (<usize>e << 2)) * rowBytes + d;
        s0 = f32x4.add(s0, f32x4.mul(wv, v128.load(b)));
        s1 = f32x4.add(s1, f32x4.mul(wv, v128.load(b, 16)));
        s2 = f32x4.add(s2, f32x4.mul(wv, v128.load(b, 32)));
        s3 = f32x4.add(s3, f32x4.mul(wv, v128.load(b, 48)));
        s4 = f32x4.add(s4, f32x4.mul(wv, v128.load(b, 64)));
        s5 = f32x4.add(s5, f32x4.mul(wv, v128.load(b, 80)));
        s6 = f32x4.add(s6, f32x4.mul(wv, v128.load(b, 96)));
        s7 = f32x4.add(s7, f32x4.mul(wv, v128.load(b, 112)));
      }
      v128.store(o + d, s0);
      v128.store(o + d, s1, 16);
      v128.store(o + d, s2, 32);
      v128.store(o + d, s3, 48);
      v128.store(o + d, s4, 64);
      v128.store(o + d, s5, 80);
      v128.store(o + d, s6, 96);
      v128.store(o + d, s7, 112);
      if (acc != 0) {
        const q = acc + <usize>a * rowBytes + d;
        v128.store(q, f32x4.add(v128.load(q), s0));
        v128.store(q, f32x4.add(v128.load(q, 16), s1), 16);
        v128.store(q, f32x4.add(v128.load(q, 32), s2), 32);
        v128.store(q, f32x4.add(v128.load(q, 48), s3), 48);
        v128.store(q, f32x4.add(v128.load(q, 64), s4), 64);
        v128.store(q, f32x4.add(v128.load(q, 80), s5), 80);
        v128.store(q, f32x4.add(v128.load(q, 96), s6), 96);
        v128.store(q, f32x4.add(v128.load(q, 112), s7), 112);
      }
    }
    for (; d < k4Bytes; d += 16) {
      let s = f32x4.splat(0);
      for (let e = e0; e < e1; e++) {
        const b = x + <usize>load<u32>(cols + (<usize>e << 2)) * rowBytes + d;
        s = f32x4.add(s, f32x4.mul(f32x4.splat(load<f32>(weights + (<usize>e << 2))), v128.load(b)));
      }
      v128.store(o + d, s);
      if (acc != 0) {
        const q = acc + <usize>a * rowBytes + d;
        v128.store(q, f32x4.add(v128.load(q), s));
      }
    }
    for (; d < rowBytes; d += 4) {
      let s: f32 = 0;
      for (let e = e0; e < e1; e++) s += load<f32>(weights + (<usize>e << 2)) * load<f32>(x + <usize>load<u32>(cols + (<usize>e << 2)) * rowBytes + d);
      store<f32>(o + d, s);
      if (acc != 0) {
        const q = acc + <usize>a * rowBytes + d;
        store<f32>(q, load<f32>(q) + s);
      }
    }
  }
}
