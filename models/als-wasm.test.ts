import { describe, expect, it } from 'vitest';
import { plantedInteractions } from '../test/harness/planted-interactions.js';
import { alsHalfSweep, alsLoss, alsProblem, createAlsModel, gramian, trainAls, tsAlsKernel } from './als.js';
import { alsHalfSweepWasm, gramianWasm, wasmAlsKernel } from './als-wasm.js';
import { Rng } from './rng.js';

function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let scale = 0;
  let d = 0;
  for (let j = 0; j < a.length; j++) {
    scale = Math.max(scale, Math.abs(b[j]!));
    d = Math.max(d, Math.abs(a[j]! - b[j]!));
  }
  return d / scale;
}

describe('als-wasm kernel', () => {
  for (const k of [1, 3, 4, 7, 16, 33]) {
    it(`als-wasm - the Gramian and a half-sweep match the TypeScript reference at ${k} factors`, () => {
      const rng = new Rng(k);
      const table = plantedInteractions(30, 40, 7, k);
      const hp = { factors: k, alpha: 2, unobservedWeight: 0.4, reg: 0.1, regExponent: 0.7, initStd: 0.3, useRatings: true, cgSteps: 3 };
      const model = createAlsModel(table, hp, k + 1);
      for (let j = 0; j < model.y.length; j++) model.y[j] = rng.normal() * 0.3;
      const problem = alsProblem(table, hp);
      expect(maxRelDiff(gramianWasm(model.y, model.items, k), gramian(model.y, model.items, k))).toBeLessThan(1e-5);
      const ref = model.x.slice();
      const was = model.x.slice();
      alsHalfSweep(ref, model.y, model.items, problem.user, k, problem.unobservedWeight, problem.cgSteps);
      alsHalfSweepWasm(was, model.y, model.items, problem.user, k, problem.unobservedWeight, problem.cgSteps);
      expect(maxRelDiff(was, ref)).toBeLessThan(1e-3);
      expect(maxRelDiff(ref, model.x)).toBeGreaterThan(0.1); // the sweep moved the factors
    });
  }

  it('als-wasm - training with the kernel follows the reference loss, sweep by sweep', () => {
    const table = plantedInteractions(80, 60, 10, 9);
    const hp = { factors: 12, alpha: 3, reg: 0.02, regExponent: 1, unobservedWeight: 0.2, cgSteps: 3, initStd: 0.1 };
    const problem = alsProblem(table, hp);
    const curves: Record<string, number[]> = { ts: [], wasm: [] };
    for (const [name, kernel] of [['ts', tsAlsKernel], ['wasm', wasmAlsKernel]] as const) {
      trainAls(table, hp, { epochs: 6, seed: 2, kernel, onEpoch: (_e, m) => void curves[name]!.push(alsLoss(m, problem)) });
    }
    curves.ts!.forEach((l, e) => expect(Math.abs(curves.wasm![e]! - l) / l).toBeLessThan(1e-3));
    for (let e = 1; e < 6; e++) expect(curves.wasm![e]!).toBeLessThanOrEqual(curves.wasm![e - 1]! * (1 + 1e-4));
    // Without onEpoch the model is read back at the end.
    const quiet = trainAls(table, hp, { epochs: 6, seed: 2, kernel: wasmAlsKernel });
    expect(Math.abs(alsLoss(quiet, problem) - curves.wasm![5]!) / curves.wasm![5]!).toBeLessThan(1e-9);
  });
});
