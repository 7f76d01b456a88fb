import { describe, expect, it } from 'vitest';
import { plantedInteractions } from '../test/harness/planted-interactions.js';
import { alsHalfSweep, alsLoss, alsProblem, alsScorer, createAlsModel, gramian, trainAls } from './als.js';
import { interactionRows } from './interactions.js';
import { evaluateTopK, userItemsOf } from './metrics.js';
import { popularityScorer } from './popularity.js';
import { splitByUserRatio } from './split.js';

/** Solves the SPD system A x = b (n × n, row-major) by Cholesky: the direct solve CG is checked against. */
function choleskySolve(a: Float64Array, b: Float64Array, n: number): Float64Array {
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i * n + j]!;
      for (let m = 0; m < j; m++) s -= l[i * n + m]! * l[j * n + m]!;
      l[i * n + j] = i === j ? Math.sqrt(s) : s / l[j * n + j]!;
    }
  }
  const z = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = b[i]!;
    for (let m = 0; m < i; m++) s -= l[i * n + m]! * z[m]!;
    z[i] = s / l[i * n + i]!;
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = z[i]!;
    for (let m = i + 1; m < n; m++) s -= l[m * n + i]! * x[m]!;
    x[i] = s / l[i * n + i]!;
  }
  return x;
}

describe('als', () => {
  it('als - the Gramian is MᵀM', () => {
    const m = Float32Array.of(1, 2, 3, 4, 5, 6); // 3 × 2
    expect([...gramian(m, 3, 2)]).toEqual([1 + 9 + 25, 2 + 12 + 30, 2 + 12 + 30, 4 + 16 + 36]);
  });

  it('als - k CG steps solve each row as a direct (Cholesky) solve of its normal equations does', () => {
    const table = plantedInteractions(12, 20, 6, 1);
    const k = 5;
    const hp = { factors: k, alpha: 3, unobservedWeight: 0.5, reg: 0.2, regExponent: 0.5, initStd: 0.3, useRatings: true, cgSteps: 40 };
    const model = createAlsModel(table, hp, 2);
    const problem = alsProblem(table, hp);
    const { x, y, items } = model;
    const before = x.slice();
    alsHalfSweep(x, y, items, problem.user, k, problem.unobservedWeight, problem.cgSteps);
    const g = gramian(y, items, k);
    const { offsets, cols } = problem.user.rows;
    for (let u = 0; u < model.users; u++) {
      const a = new Float64Array(k * k);
      const b = new Float64Array(k);
      for (let i = 0; i < k * k; i++) a[i] = problem.unobservedWeight * g[i]!;
      for (let i = 0; i < k; i++) a[i * k + i] += problem.user.reg[u]!;
      for (let e = offsets[u]!; e < offsets[u + 1]!; e++) {
        const f = cols[e]! * k;
        const c = problem.user.conf[e]!;
        for (let i = 0; i < k; i++) {
          b[i] += c * y[f + i]!;
          for (let j = 0; j < k; j++) a[i * k + j] += (c - problem.unobservedWeight) * y[f + i]! * y[f + j]!;
        }
      }
      const want = choleskySolve(a, b, k);
      for (let i = 0; i < k; i++) expect(x[u * k + i]!).toBeCloseTo(want[i]!, 4);
    }
    expect(x.some((v, j) => Math.abs(v - before[j]!) > 1e-2)).toBe(true);
  });

  it('als - the loss never rises, sweep after sweep, with 2 CG steps per row', () => {
    const table = plantedInteractions(60, 80, 12, 3);
    const hp = { factors: 8, alpha: 5, reg: 0.05, regExponent: 1, unobservedWeight: 0.3, cgSteps: 2, initStd: 0.1 };
    const problem = alsProblem(table, hp);
    const losses: number[] = [];
    trainAls(table, hp, { epochs: 8, seed: 4, onEpoch: (_e, m) => void losses.push(alsLoss(m, problem)) });
    for (let e = 1; e < losses.length; e++) expect(losses[e]!).toBeLessThanOrEqual(losses[e - 1]! * (1 + 1e-6));
    expect(losses[7]!).toBeLessThan(losses[0]! * 0.95);
  });

  it('als - learns planted tastes: recall@10 well above popularity', () => {
    const { train, test } = splitByUserRatio(plantedInteractions(200, 120, 20, 5), [0.8, 0, 0.2], 6);
    const model = trainAls(train, { factors: 8, alpha: 4, reg: 0.05 }, { epochs: 8, seed: 7 });
    const ev = (s: Parameters<typeof evaluateTopK>[0]) => evaluateTopK(s, userItemsOf(test), { ks: [10], train: userItemsOf(train) })[0]!.recall;
    const pop = ev(popularityScorer(train));
    expect(ev(alsScorer(model))).toBeGreaterThan(pop + 0.1);
  });

  it('als - interactions grouped by item see each (user, item) once, with its rating', () => {
    const table = plantedInteractions(5, 9, 3, 8);
    const rows = interactionRows(table, 'item');
    expect(rows.offsets[rows.rows]).toBe(table.n);
    for (let i = 0; i < rows.rows; i++) {
      for (let e = rows.offsets[i]!; e < rows.offsets[i + 1]!; e++) {
        const j = [...table.users.keys()].find((r) => table.users[r] === rows.cols[e] && table.items[r] === i)!;
        expect(rows.values[e]).toBe(table.ratings[j]);
      }
    }
  });

  it('als - bad hyperparameters are refused naming the fields', () => {
    const table = plantedInteractions(5, 9, 3, 8);
    expect(() => trainAls(table, { factors: 0, cgSteps: 1.5 }, { epochs: 1, seed: 1 })).toThrow(/factors must be.*cgSteps must be/);
    expect(() => trainAls(table, {}, { epochs: 0, seed: 1 })).toThrow(/epochs/);
  });
});
