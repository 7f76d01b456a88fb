import { describe, expect, it } from 'vitest';
import { applyLinearBlend, crossFitRmse, fitLinearBlend } from './blend.js';
import { dayBiasFeature } from './day-bias.js';
import { predictKnnTable, trainKnnBaseline, transposeTable } from './knn-baseline.js';
import { rmse } from './metrics.js';
import { RatingsTableBuilder, splitRatings } from './ratings.js';
import { Rng } from './rng.js';
import { planted } from '../test/harness/planted-ratings.js';

describe('blend', () => {
  it('blend - least squares recovers known weights; predictions are clamped; cross-fitting scores unseen halves', () => {
    const rng = new Rng(1);
    const a = Float32Array.from({ length: 500 }, () => rng.normal());
    const b = Float32Array.from({ length: 500 }, () => rng.normal());
    const y = a.map((x, t) => 3 + 0.5 * x - 0.25 * b[t]!);
    const blend = fitLinearBlend([a, b], y, { min: -100, max: 100, ridge: 0 });
    expect(blend.weights[0]).toBeCloseTo(3, 5);
    expect(blend.weights[1]).toBeCloseTo(0.5, 5);
    expect(blend.weights[2]).toBeCloseTo(-0.25, 5);
    expect([...applyLinearBlend({ ...blend, min: 2.9, max: 3.1 }, [Float32Array.of(10, -10), Float32Array.of(0, 0)])]).toEqual([3.1, 2.9].map(Math.fround));
    expect(crossFitRmse([a, b], y, { min: -100, max: 100, ridge: 0 })).toBeLessThan(1e-5);
    // Pure noise as a feature: cross-fitting cannot fit it, an in-sample fit would.
    const noise = Float32Array.from({ length: 500 }, () => rng.normal());
    expect(crossFitRmse([a], noise, { min: -100, max: 100 })).toBeGreaterThan(0.9);
  });

  it('blend - linearly dependent features are refused', () => {
    const a = Float32Array.of(1, 2, 3);
    expect(() => fitLinearBlend([a, a], a, { min: 0, max: 5, ridge: 0 })).toThrow(/linearly dependent/);
  });
});

describe('knn-baseline', () => {
  it('knn - item- and user-based kNN-baseline predict held-out ratings better than the global mean', () => {
    const { kept, held } = splitRatings(planted(200, 100, 12_000, 4), 0.1, 2);
    const meanOnly = rmse(new Float32Array(held.n).fill(kept.ratings.reduce((s, r) => s + r, 0) / kept.n), held.ratings);
    const item = rmse(predictKnnTable(trainKnnBaseline(kept), held), held.ratings);
    const user = rmse(predictKnnTable(trainKnnBaseline(transposeTable(kept)), transposeTable(held)), held.ratings);
    expect(item).toBeLessThan(meanOnly - 0.05);
    expect(user).toBeLessThan(meanOnly - 0.05);
  });

  it('knn - a neighbour with positive similarity moves the prediction off the baseline; unseen ids get the baseline', () => {
    const b = new RatingsTableBuilder();
    // Items x and y go together (high for u0, u1; low for u2, u3); item z is rated apart.
    for (const [u, x, y] of [['u0', 5, 5], ['u1', 5, 4], ['u2', 1, 1], ['u3', 2, 1]] as const) {
      b.add(u, 'x', x);
      b.add(u, 'y', y);
    }
    b.add('u4', 'x', 5);
    const train = b.build();
    const m = trainKnnBaseline(train, { shrinkage: 0, regItem: 0, regUser: 0, baselineEpochs: 1 });
    const test = new RatingsTableBuilder(train);
    test.add('u4', 'y', 3); // u4 rated x high: y's prediction is pulled above its baseline
    test.add('nobody', 'y', 3);
    const t = test.build();
    const p = predictKnnTable(m, t);
    const baselineU4 = m.mu + m.bu[train.userIds.get('u4')!]! + m.bi[train.itemIds.get('y')!]!;
    expect(p[0]).toBeGreaterThan(baselineU4);
    expect(p[1]).toBeCloseTo(m.mu + m.bi[train.itemIds.get('y')!]!, 5);
  });
});

describe('day-bias', () => {
  it('day - the shrunk mean baseline residual of the same user on the same day, 0 on another day', () => {
    const b = new RatingsTableBuilder();
    b.add('u', 'a', 5);
    b.add('u', 'b', 4);
    b.add('u', 'c', 1);
    const train = b.build();
    const baseline = { mu: 3, bu: [0], bi: [0, 0, 0] };
    const test = new RatingsTableBuilder(train);
    test.add('u', 'c', 3);
    test.add('u', 'a', 3);
    // Days: a and b on day 10 (residuals 2 and 1), c on day 11 (−2).
    const f = dayBiasFeature(train, [10, 10, 11], baseline, test.build(), [10, 12], 1);
    expect(f[0]).toBeCloseTo(3 / (2 + 1), 6);
    expect(f[1]).toBe(0);
  });
});
