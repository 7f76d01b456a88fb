import { describe, expect, it } from 'vitest';
import { planted } from '../test/harness/planted-ratings.js';
import { ModelArgumentError } from './errors.js';
import { rmse } from './metrics.js';
import { RatingsTableBuilder, splitRatings, type RatingsTable } from './ratings.js';
import { Rng } from './rng.js';
import { createSvdppModel, predictSvdppTable, svdppEpoch, trainSvdpp, tsSvdppKernel, type SvdppModel, type SvdppStep } from './svdpp.js';
import { svdppEpochWasm, wasmSvdppKernel, WasmSvdppSession } from './svdpp-wasm.js';
import { UserGroupedOrders } from './user-grouped-orders.js';

/** Random ratings (1..5, halves included) of `users` × `items`, every index present. */
function randomTable(users: number, items: number, n: number, seed: number): RatingsTable {
  const rng = new Rng(seed);
  const b = new RatingsTableBuilder();
  for (let u = 0; u < users; u++) b.add(`u${u}`, `i${u % items}`, 3);
  for (let i = 0; i < items; i++) b.add(`u${i % users}`, `i${i}`, 4);
  for (let j = 0; j < n; j++) b.add(`u${rng.below(users)}`, `i${rng.below(items)}`, 1 + rng.below(9) / 2);
  return b.build();
}

/** A model with every parameter random (y included), so that every term of the update matters. */
function randomModel(table: RatingsTable, factors: number, seed: number): SvdppModel {
  const m = createSvdppModel(table, { factors, initStd: 0.3 }, seed);
  const rng = new Rng(seed + 1);
  for (let u = 0; u < m.users; u++) m.bu[u] = rng.normal() * 0.2;
  for (let i = 0; i < m.items; i++) m.bi[i] = rng.normal() * 0.2;
  for (let x = 0; x < m.y.length; x++) m.y[x] = rng.normal() * 0.2;
  return m;
}

function copyModel(m: SvdppModel): SvdppModel {
  return { ...m, p: m.p.slice(), q: m.q.slice(), y: m.y.slice(), bu: m.bu.slice(), bi: m.bi.slice() };
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let j = 0; j < a.length; j++) d = Math.max(d, Math.abs(a[j]! - b[j]!));
  return d;
}

function expectSameParameters(a: SvdppModel, b: SvdppModel, tol: number): void {
  for (const key of ['p', 'q', 'y', 'bu', 'bi'] as const) expect(maxAbsDiff(a[key], b[key]), key).toBeLessThanOrEqual(tol);
}

const STEP: SvdppStep = { lr: 0.02, regFactor: 0.05, regBias: 0.01, regUser: 0.04, regItem: 0.06, regUserBias: 0.02, regItemBias: 0.03, regY: 0.08 };

describe('svdpp-wasm kernel', () => {
  for (const factors of [1, 3, 4, 5, 32, 33]) {
    it(`svdpp-wasm - one user-grouped epoch matches the TypeScript reference at ${factors} factors (parameters and loss)`, () => {
      const table = randomTable(13, 17, 600, factors);
      const ref = randomModel(table, factors, 100 + factors);
      const was = copyModel(ref);
      const order = new UserGroupedOrders(table, factors).next();
      const sseRef = svdppEpoch(ref, table, order, STEP);
      const sseWasm = svdppEpochWasm(was, table, order, STEP);
      expect(Math.abs(sseWasm - sseRef) / sseRef).toBeLessThan(1e-5);
      expectSameParameters(was, ref, 1e-4);
      expect(maxAbsDiff(was.y, randomModel(table, factors, 100 + factors).y)).toBeGreaterThan(1e-3);
    });
  }

  it('svdpp-wasm - a random order (runs of one row, repeats) matches too', () => {
    const table = randomTable(9, 11, 300, 2);
    const ref = randomModel(table, 8, 5);
    const was = copyModel(ref);
    const rng = new Rng(4);
    const order = Uint32Array.from({ length: 500 }, () => rng.below(table.n));
    const a = svdppEpoch(ref, table, order, STEP);
    const b = svdppEpochWasm(was, table, order, STEP);
    expect(Math.abs(b - a) / a).toBeLessThan(1e-5);
    expectSameParameters(was, ref, 1e-4);
  });

  it('svdpp-wasm - a session runs many epochs and reads back the reference after the same epochs', () => {
    const table = randomTable(20, 30, 1500, 5);
    const ref = randomModel(table, 12, 9);
    const was = copyModel(ref);
    const before = copyModel(ref);
    const session = new WasmSvdppSession(was, table);
    const orders = new UserGroupedOrders(table, 3);
    for (let e = 0; e < 5; e++) {
      const order = orders.next();
      const step = { ...STEP, lr: STEP.lr * 0.9 ** e };
      const a = svdppEpoch(ref, table, order, step);
      const b = session.sgdEpoch(order, step);
      expect(Math.abs(b - a) / a).toBeLessThan(1e-5);
    }
    expectSameParameters(was, before, 0);
    session.readBack();
    expectSameParameters(was, ref, 1e-4);
  });

  it('svdpp-wasm - an order entry past the table is refused, naming it, before any update', () => {
    const table = randomTable(5, 6, 40, 3);
    const m = randomModel(table, 4, 4);
    const before = copyModel(m);
    expect(() => svdppEpochWasm(m, table, Uint32Array.of(0, 1, table.n, 2), STEP)).toThrow(ModelArgumentError);
    expect(() => svdppEpochWasm(m, table, Uint32Array.of(0, 1, table.n, 2), STEP)).toThrow(`order[2] = ${table.n}`);
    expectSameParameters(m, before, 0);
  });

  it('svdpp-wasm - training with the WASM kernel reaches the reference RMSE on held-out ratings', () => {
    const { kept, held } = splitRatings(planted(300, 200, 20_000, 2), 0.1, 5);
    const hp = { factors: 8, lr: 0.01, lrDecay: 0.95 };
    const results: Record<string, number> = {};
    for (const [name, kernel] of [['ts', tsSvdppKernel], ['wasm', wasmSvdppKernel]] as const) {
      const model = trainSvdpp(kept, hp, { epochs: 15, seed: 3, kernel });
      results[name] = rmse(predictSvdppTable(model, held), held.ratings);
    }
    expect(Math.abs(results.wasm! - results.ts!)).toBeLessThan(1e-3);
  });
});
