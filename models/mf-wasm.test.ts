import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { planted } from '../test/harness/planted-ratings.js';
import { ModelArgumentError, WasmKernelMissing } from './errors.js';
import { createMfModel, predictTable, sgdEpoch, trainMf, tsKernel, type MfModel, type SgdStep } from './mf.js';
import { loadMfKernel, sgdEpochWasm, wasmKernel, WasmMfSession } from './mf-wasm.js';
import { rmse } from './metrics.js';
import { RatingsTableBuilder, splitRatings, type RatingsTable } from './ratings.js';
import { Rng } from './rng.js';

/** Random ratings (1..5, halves included) of `users` × `items`. */
function randomTable(users: number, items: number, n: number, seed: number): RatingsTable {
  const rng = new Rng(seed);
  const b = new RatingsTableBuilder();
  for (let u = 0; u < users; u++) b.add(`u${u}`, `i${u % items}`, 3); // every index exists
  for (let i = 0; i < items; i++) b.add(`u${i % users}`, `i${i}`, 4);
  for (let j = 0; j < n; j++) b.add(`u${rng.below(users)}`, `i${rng.below(items)}`, 1 + rng.below(9) / 2);
  return b.build();
}

/** A model with random factors and biases, so that every term of the update matters. */
function randomModel(table: RatingsTable, factors: number, seed: number): MfModel {
  const m = createMfModel(table, { factors, initStd: 0.3 }, seed);
  const rng = new Rng(seed + 1);
  for (let u = 0; u < m.users; u++) m.bu[u] = rng.normal() * 0.2;
  for (let i = 0; i < m.items; i++) m.bi[i] = rng.normal() * 0.2;
  return m;
}

function copyModel(m: MfModel): MfModel {
  return { ...m, p: m.p.slice(), q: m.q.slice(), bu: m.bu.slice(), bi: m.bi.slice() };
}

/** Random rows of the table, with repetitions: any order works, the same row twice too. */
function randomOrder(n: number, length: number, seed: number): Uint32Array {
  const rng = new Rng(seed);
  return Uint32Array.from({ length }, () => rng.below(n));
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let j = 0; j < a.length; j++) d = Math.max(d, Math.abs(a[j]! - b[j]!));
  return d;
}

function expectSameParameters(a: MfModel, b: MfModel, tol: number): void {
  expect(maxAbsDiff(a.p, b.p)).toBeLessThanOrEqual(tol);
  expect(maxAbsDiff(a.q, b.q)).toBeLessThanOrEqual(tol);
  expect(maxAbsDiff(a.bu, b.bu)).toBeLessThanOrEqual(tol);
  expect(maxAbsDiff(a.bi, b.bi)).toBeLessThanOrEqual(tol);
}

// Per-parameter regularisations all different, so that a swapped one shows.
const STEP: SgdStep = { lr: 0.02, regFactor: 0.05, regBias: 0.01, regUser: 0.03, regItem: 0.07, regUserBias: 0.02, regItemBias: 0.04 };

describe('mf-wasm kernel', () => {
  // Every path of the kernel's dot product: a tail alone, 1–3 leftover groups of four, whole blocks of 16, the 32-factor loop.
  for (const factors of [1, 3, 4, 5, 8, 12, 16, 20, 31, 32, 33, 44, 64, 128]) {
    it(`mf-wasm - one epoch matches the TypeScript reference at ${factors} factors (parameters and loss)`, () => {
      const table = randomTable(13, 17, 600, factors);
      const ref = randomModel(table, factors, 100 + factors);
      const was = copyModel(ref);
      const order = randomOrder(table.n, 900, factors + 7);
      const sseRef = sgdEpoch(ref, table, order, STEP);
      const sseWasm = sgdEpochWasm(was, table, order, STEP);
      expect(Math.abs(sseWasm - sseRef) / sseRef).toBeLessThan(1e-5);
      expectSameParameters(was, ref, 1e-4);
      // The update really moved the parameters (the comparison is not of two unchanged copies).
      expect(maxAbsDiff(was.p, randomModel(table, factors, 100 + factors).p)).toBeGreaterThan(1e-3);
    });
  }

  it('mf-wasm - a session copies in once and runs many epochs; readBack gives the reference after the same epochs', () => {
    const table = randomTable(20, 30, 1500, 5);
    const ref = randomModel(table, 33, 9);
    const was = copyModel(ref);
    const before = copyModel(ref);
    const session = new WasmMfSession(was, table);
    for (let e = 0; e < 5; e++) {
      const order = randomOrder(table.n, table.n, 50 + e);
      const step = { ...STEP, lr: STEP.lr * 0.9 ** e };
      const a = sgdEpoch(ref, table, order, step);
      const b = session.sgdEpoch(order, step);
      expect(Math.abs(b - a) / a).toBeLessThan(1e-5);
    }
    expectSameParameters(was, before, 0); // untouched until readBack
    session.readBack();
    expectSameParameters(was, ref, 1e-4);
  });

  it('mf-wasm - an order longer than the table grows the session memory', () => {
    const table = randomTable(5, 6, 40, 3);
    const ref = randomModel(table, 8, 4);
    const was = copyModel(ref);
    const order = randomOrder(table.n, table.n * 40, 11);
    const session = new WasmMfSession(was, table);
    const b = session.sgdEpoch(order, STEP);
    const a = sgdEpoch(ref, table, order, STEP);
    expect(Math.abs(b - a) / a).toBeLessThan(1e-5);
    session.readBack();
    expectSameParameters(was, ref, 1e-4);
  });

  it('mf-wasm - an order entry past the table is refused, naming it, before any update', () => {
    const table = randomTable(5, 6, 40, 3);
    const m = randomModel(table, 4, 4);
    const before = copyModel(m);
    const order = Uint32Array.of(0, 1, table.n, 2);
    expect(() => sgdEpochWasm(m, table, order, STEP)).toThrow(ModelArgumentError);
    expect(() => sgdEpochWasm(m, table, order, STEP)).toThrow(`order[2] = ${table.n}`);
    expectSameParameters(m, before, 0);
  });

  it('mf-wasm - a table with indices past the model is refused like the reference', () => {
    const table = randomTable(5, 6, 40, 3);
    const small = createMfModel(randomTable(2, 2, 4, 1), { factors: 4 }, 1);
    expect(() => new WasmMfSession(small, table)).toThrow(ModelArgumentError);
  });

  it('mf-wasm - training with the WASM kernel reaches the reference RMSE on held-out ratings', () => {
    const { kept, held } = splitRatings(planted(300, 200, 20_000, 2), 0.1, 5);
    const hp = { factors: 8, lr: 0.02, lrDecay: 0.95 };
    const trainRmses: Record<string, number[]> = { ts: [], wasm: [] };
    const results: Record<string, number> = {};
    for (const [name, kernel] of [['ts', tsKernel], ['wasm', wasmKernel]] as const) {
      const model = trainMf(kept, hp, {
        epochs: 15, seed: 3, kernel,
        onEpoch: (r) => void trainRmses[name]!.push(rmse(predictTable(r.model, kept), kept.ratings)),
      });
      results[name] = rmse(predictTable(model, held), held.ratings);
    }
    expect(Math.abs(results.wasm! - results.ts!)).toBeLessThan(1e-3);
    // onEpoch sees the model of that epoch (read back), not the initial one: the same curve.
    expect(trainRmses.wasm!.length).toBe(15);
    trainRmses.ts!.forEach((x, e) => expect(Math.abs(trainRmses.wasm![e]! - x)).toBeLessThan(1e-3));
    expect(trainRmses.wasm![14]!).toBeLessThan(trainRmses.wasm![0]! - 0.05);
    const meanOnly = rmse(new Float32Array(held.n).fill(kept.ratings.reduce((a, r) => a + r, 0) / kept.n), held.ratings);
    expect(results.wasm!).toBeLessThan(meanOnly - 0.05);
    // Without onEpoch the trained model is read back at the end.
    const quiet = trainMf(kept, hp, { epochs: 15, seed: 3, kernel: wasmKernel });
    expect(Math.abs(rmse(predictTable(quiet, held), held.ratings) - results.wasm!)).toBeLessThan(1e-9);
  });

  it('mf-wasm - a missing kernel file fails naming the file and npm run build', () => {
    const file = join(tmpdir(), `reel-no-such-dir-${process.pid}`, 'mf.wasm');
    expect(() => loadMfKernel(file)).toThrow(WasmKernelMissing);
    expect(() => loadMfKernel(file)).toThrow(file);
    expect(() => loadMfKernel(file)).toThrow('npm run build');
  });
});

