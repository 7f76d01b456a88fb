import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../data/random.js';
import { scoreRowsReference, WasmRowScorer } from './score-rows.js';

describe('score rows', () => {
  it('score rows - the WebAssembly SIMD kernel equals its TypeScript reference exactly, for factor counts with and without a tail, and each score is the bias plus the dot product', () => {
    const rand = mulberry32(7);
    for (const k of [1, 3, 4, 16, 31, 32, 33]) {
      const n = 257;
      const rows = Float32Array.from({ length: n * (k + 1) }, () => rand() * 2 - 1);
      const user = Float32Array.from({ length: k }, () => rand() * 2 - 1);
      const wasm = new Float32Array(n);
      const ref = new Float32Array(n);
      new WasmRowScorer(rows, n, k).score(user, wasm);
      scoreRowsReference(rows, n, k, user, ref);
      expect(Array.from(wasm), `k = ${k}`).toEqual(Array.from(ref));
      for (const r of [0, 100, n - 1]) {
        let dot = 0;
        for (let x = 0; x < k; x++) dot += user[x]! * rows[r * (k + 1) + x]!;
        expect(wasm[r]!).toBeCloseTo(rows[r * (k + 1) + k]! + dot, 4);
      }
    }
  });

  it('score rows - a scorer scores many users in turn from the same rows (its memory reused)', () => {
    const rand = mulberry32(8);
    const n = 50;
    const k = 8;
    const rows = Float32Array.from({ length: n * (k + 1) }, () => rand() - 0.5);
    const scorer = new WasmRowScorer(rows, n, k);
    for (let u = 0; u < 20; u++) {
      const user = Float32Array.from({ length: k }, () => rand() - 0.5);
      const a = new Float32Array(n);
      const b = new Float32Array(n);
      scorer.score(user, a);
      scoreRowsReference(rows, n, k, user, b);
      expect(Array.from(a)).toEqual(Array.from(b));
    }
  });
});
