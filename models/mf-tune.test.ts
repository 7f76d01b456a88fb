import { describe, expect, it } from 'vitest';
import { expandGrid, tuneMf } from './mf-tune.js';
import { RatingsTableBuilder, type RatingsTable } from './ratings.js';
import { Rng } from './rng.js';

function planted(seed: number): RatingsTable {
  const rng = new Rng(seed);
  const b = new RatingsTableBuilder();
  for (let j = 0; j < 4000; j++) {
    const u = rng.below(100);
    const i = rng.below(60);
    b.add(u, i, Math.max(1, Math.min(5, Math.round(3 + 1.5 * Math.sin(u) * Math.cos(i) + 0.3 * rng.normal()))));
  }
  return b.build();
}

describe('mf tuning', () => {
  it('tune - the grid expands in a fixed order, fields without values keeping the base', () => {
    const g = expandGrid({ factors: 8, lr: 0.01 }, { regFactor: [0.1, 0.2], factors: [4, 16] });
    expect(g).toEqual([
      { factors: 4, lr: 0.01, regFactor: 0.1 },
      { factors: 16, lr: 0.01, regFactor: 0.1 },
      { factors: 4, lr: 0.01, regFactor: 0.2 },
      { factors: 16, lr: 0.01, regFactor: 0.2 },
    ]);
    expect(expandGrid({ factors: 8 }, {})).toEqual([{ factors: 8 }]);
  });

  it('tune - picks the configuration and epoch with the lowest validation RMSE, the same for the same seed', () => {
    const t = planted(1);
    const seen: number[] = [];
    const r = tuneMf(t, { base: { factors: 6, lr: 0.02 }, grid: { regFactor: [0.02, 3] }, maxEpochs: 15, seed: 2, onEpoch: (_trial, _report, valid) => void seen.push(valid) });
    expect(r.trials).toHaveLength(2);
    // A regularisation of 3 crushes every factor: the tuner must prefer 0.02.
    expect(r.hyperparameters.regFactor).toBe(0.02);
    expect(r.trials[0]!.validationRmse).toBeLessThan(r.trials[1]!.validationRmse);
    expect(r.validationRmse).toBe(r.trials[0]!.validationRmse);
    expect(r.epochs).toBe(r.trials[0]!.epochs);
    expect(Math.min(...seen)).toBe(r.validationRmse);
    expect(tuneMf(t, { base: { factors: 6, lr: 0.02 }, grid: { regFactor: [0.02, 3] }, maxEpochs: 15, seed: 2 })).toEqual(r);
  });

  it('tune - a configuration stops after `patience` epochs without a better validation RMSE', () => {
    const epochsRun: number[] = [];
    // A learning rate this high overfits at once: validation gets worse from the first epochs.
    tuneMf(planted(3), { base: { factors: 32, lr: 0.2, lrDecay: 1, regFactor: 0 }, grid: {}, maxEpochs: 60, seed: 1, patience: 3, onEpoch: (_t, rep) => void epochsRun.push(rep.epoch) });
    expect(epochsRun.length).toBeLessThan(60);
  });
});
