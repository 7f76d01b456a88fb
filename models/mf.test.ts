import { describe, expect, it } from 'vitest';
import { planted } from '../test/harness/planted-ratings.js';
import { ModelArgumentError, TrainingDiverged } from './errors.js';
import { parseMfHyperparameters } from './mf-options.js';
import { createMfModel, dotMf, predictMf, predictTable, sgdEpoch, trainMf, type MfModel } from './mf.js';
import { rmse } from './metrics.js';
import { RatingsTableBuilder, splitRatings, type RatingsTable } from './ratings.js';
import { EpochOrders, Rng, identityOrder } from './rng.js';

/** A one-rating table: user 'u' rated item 'i' 4. */
function oneRating(): RatingsTable {
  const b = new RatingsTableBuilder();
  b.add('u', 'i', 4);
  return b.build();
}

describe('mf', () => {
  it('mf - one SGD step matches a hand computation', () => {
    const m: MfModel = {
      users: 1, items: 1, factors: 2,
      p: Float32Array.of(0.1, 0.2), q: Float32Array.of(0.3, -0.1),
      bu: Float32Array.of(0.5), bi: Float32Array.of(-0.2),
      mu: 3.5, minRating: 1, maxRating: 5,
    };
    // r̂ = 3.5 + 0.5 − 0.2 + (0.1·0.3 + 0.2·(−0.1)) = 3.81, e = 4 − 3.81 = 0.19; lr 0.1.
    const sse = sgdEpoch(m, oneRating(), Uint32Array.of(0), { lr: 0.1, regFactor: 0.5, regBias: 0.2 });
    expect(sse).toBeCloseTo(0.0361, 6);
    expect(m.bu[0]).toBeCloseTo(0.509, 6); //   0.5 + 0.1 (0.19 − 0.2·0.5)
    expect(m.bi[0]).toBeCloseTo(-0.177, 6); // −0.2 + 0.1 (0.19 + 0.2·0.2)
    expect(m.p[0]).toBeCloseTo(0.1007, 6); //  0.1 + 0.1 (0.19·0.3 − 0.5·0.1)
    expect(m.p[1]).toBeCloseTo(0.1881, 6); //  0.2 + 0.1 (0.19·(−0.1) − 0.5·0.2)
    expect(m.q[0]).toBeCloseTo(0.2869, 6); //  0.3 + 0.1 (0.19·0.1 − 0.5·0.3): p from before the step
    expect(m.q[1]).toBeCloseTo(-0.0912, 6); // −0.1 + 0.1 (0.19·0.2 + 0.5·0.1)

    // The same row again sees the first step's parameters:
    // r̂ = 3.5 + 0.509 − 0.177 + (0.1007·0.2869 − 0.1881·0.0912) = 3.84373611, e = 0.15626389.
    const again = sgdEpoch(m, oneRating(), Uint32Array.of(0), { lr: 0.1, regFactor: 0.5, regBias: 0.2 });
    expect(again).toBeCloseTo(0.15626389 ** 2, 6);
  });

  it('mf - per-parameter regularisation: each override shrinks its own kind, the others keep the general one', () => {
    const m: MfModel = {
      users: 1, items: 1, factors: 1,
      p: Float32Array.of(1), q: Float32Array.of(1), bu: Float32Array.of(1), bi: Float32Array.of(1),
      mu: 0, minRating: 1, maxRating: 5,
    };
    // r̂ = 0 + 1 + 1 + 1 = 3 against 4... the table's rating: e = 4 − 3 = 1; lr 0.1.
    sgdEpoch(m, oneRating(), Uint32Array.of(0), { lr: 0.1, regFactor: 0.5, regBias: 0.2, regItem: 1, regUserBias: 0 });
    expect(m.p[0]).toBeCloseTo(1 + 0.1 * (1 - 0.5), 6); // regUser = regFactor
    expect(m.q[0]).toBeCloseTo(1 + 0.1 * (1 - 1), 6); //   regItem
    expect(m.bu[0]).toBeCloseTo(1 + 0.1 * (1 - 0), 6); //  regUserBias
    expect(m.bi[0]).toBeCloseTo(1 + 0.1 * (1 - 0.2), 6); // regItemBias = regBias
    expect(parseMfHyperparameters({ regFactor: 0.2, regUser: 0.1 })).toMatchObject({ regUser: 0.1, regItem: 0.2, regUserBias: 0.01, regItemBias: 0.01 });
  });

  it('mf - the training loss decreases epoch after epoch and ends well below the global mean', () => {
    const t = planted(300, 200, 20_000, 1);
    const losses: number[] = [];
    const model = trainMf(t, { factors: 8, lr: 0.02, lrDecay: 0.95 }, { epochs: 15, seed: 3, onEpoch: (r) => void losses.push(r.trainRmse) });
    for (let e = 1; e < losses.length; e++) expect(losses[e], `epoch ${e + 1} after ${losses[e - 1]}`).toBeLessThan(losses[e - 1]!);
    const meanOnly = rmse(new Float32Array(t.n).fill(model.mu), t.ratings);
    expect(losses.at(-1)!).toBeLessThan(0.8 * meanOnly);
  });

  it('mf - a held-out part is predicted better than by the global mean and the biases alone', () => {
    const { kept, held } = splitRatings(planted(300, 200, 20_000, 2), 0.1, 5);
    const model = trainMf(kept, { factors: 8, lr: 0.02, lrDecay: 0.95 }, { epochs: 25, seed: 3 });
    const biasesOnly = trainMf(kept, { factors: 1, lr: 0.02, lrDecay: 0.95, initStd: 0 }, { epochs: 25, seed: 3 });
    const mf = rmse(predictTable(model, held), held.ratings);
    expect(mf).toBeLessThan(rmse(predictTable(biasesOnly, held), held.ratings) - 0.05);
  });

  it('mf - the same seed gives the same model bit for bit; another seed another', () => {
    const t = planted(100, 80, 3000, 3);
    const hp = { factors: 5 };
    const a = trainMf(t, hp, { epochs: 3, seed: 11 });
    const b = trainMf(t, hp, { epochs: 3, seed: 11 });
    const c = trainMf(t, hp, { epochs: 3, seed: 12 });
    expect(Buffer.from(b.p.buffer).equals(Buffer.from(a.p.buffer))).toBe(true);
    expect(Buffer.from(b.q.buffer).equals(Buffer.from(a.q.buffer))).toBe(true);
    expect(Buffer.from(b.bi.buffer).equals(Buffer.from(a.bi.buffer))).toBe(true);
    expect(Buffer.from(c.p.buffer).equals(Buffer.from(a.p.buffer))).toBe(false);
  });

  it('mf - unseen users and items predict from the biases and the global mean; predictions are clamped', () => {
    const b = new RatingsTableBuilder();
    b.add('u0', 'i0', 5);
    b.add('u1', 'i1', 1);
    const t = b.build();
    const m = createMfModel(t, { factors: 2 }, 1);
    m.bu.set([0.25, -0.5]);
    m.bi.set([0.125, 0.75]);
    m.p.set([1, 1, 1, 1]);
    m.q.set([0.5, 0.5, 0.25, 0.25]);
    expect(m.mu).toBe(3);
    expect(predictMf(m, 2, 2)).toBe(3); //             unseen user and item: mu
    expect(predictMf(m, 2, 1)).toBe(3.75); //          unseen user: mu + b_i
    expect(predictMf(m, 0, 5)).toBe(3.25); //          unseen item: mu + b_u
    expect(predictMf(m, 1, 1)).toBe(3 - 0.5 + 0.75 + 0.5);
    m.bu[0] = 10;
    expect(predictMf(m, 0, 0)).toBe(5); // clamped to the training ratings' range
    m.bu[0] = -10;
    expect(predictMf(m, 0, 0)).toBe(1);
  });

  it('mf - rows no training rating touches start at zero', () => {
    const b = new RatingsTableBuilder();
    b.add('a', 'x', 4);
    b.add('b', 'y', 3);
    const full = b.build();
    const onlyFirst = { ...full, n: 1, users: full.users.subarray(0, 1), items: full.items.subarray(0, 1), ratings: full.ratings.subarray(0, 1) };
    const m = createMfModel(onlyFirst, { factors: 3, initStd: 0.1 }, 1);
    expect([...m.p.subarray(3, 6)]).toEqual([0, 0, 0]);
    expect([...m.q.subarray(3, 6)]).toEqual([0, 0, 0]);
    expect([...m.p.subarray(0, 3)].some((x) => x !== 0)).toBe(true);
  });

  it('mf - dotMf counts every factor once at any k (whole blocks of 16, leftover groups of four, a tail), wherever the rows start', () => {
    const rng = new Rng(21);
    for (let k = 0; k <= 70; k++) {
      const p = Float32Array.from({ length: k + 7 }, () => rng.normal());
      const q = Float32Array.from({ length: k + 5 }, () => rng.normal());
      let naive = 0;
      for (let f = 0; f < k; f++) naive += p[3 + f]! * q[5 + f]!;
      expect(Math.abs(dotMf(p, 3, q, 5, k) - naive)).toBeLessThan(1e-12);
    }
    // The order it documents, exactly: lane 0 is (s0 + s4) + (s8 + s12), where 1 + V and 1 − V
    // both round to ±V, so lane 0 is 0 and the others 4 each: 12 (a running sum would give 3).
    const V = Math.fround(1e17);
    const p = Float32Array.from([V, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, -V, 1, 1, 1]);
    expect(dotMf(p, 0, new Float32Array(16).fill(1), 0, 16)).toBe(12);
  });

  it('mf - sgdEpoch refuses a table with indices past the model', () => {
    const train = oneRating();
    const m = createMfModel(train, { factors: 2 }, 1);
    const b = new RatingsTableBuilder(train);
    b.add('someone new', 'i', 3);
    expect(() => sgdEpoch(m, b.build(), Uint32Array.of(0), { lr: 0.1, regFactor: 0, regBias: 0 })).toThrow(/exceed the model/);
  });

  it('mf - bad hyperparameters are refused, each named; zero epochs too', () => {
    let err: unknown;
    try {
      parseMfHyperparameters({ factors: -3, lr: 0, regFactor: 0.1 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ModelArgumentError);
    expect((err as ModelArgumentError).fields).toEqual(['factors', 'lr']);
    expect((err as Error).message).toContain('factors must be a whole number from 1 to 4096, got -3');
    expect(() => trainMf(oneRating(), {}, { epochs: 0, seed: 1 })).toThrow(/epochs must be a whole number ≥ 1, got 0/);
  });
});

describe('mf training driver', () => {
  it('mf - trainMf is createMfModel, then per epoch a fresh seeded order and a decayed learning rate', () => {
    const t = planted(60, 40, 1500, 4);
    const hp = { factors: 4, lr: 0.02, lrDecay: 0.5, regFactor: 0.03, regBias: 0.01 };
    const lrs: number[] = [];
    const trained = trainMf(t, hp, { epochs: 3, seed: 9, onEpoch: (r) => void lrs.push(r.lr) });
    expect(lrs).toEqual([0.02, 0.01, 0.005]);

    const byHand = createMfModel(t, hp, 9);
    const orders = new EpochOrders(t.n, 9);
    const seen: number[][] = [];
    for (const lr of lrs) {
      const order = orders.next();
      seen.push([...order]);
      sgdEpoch(byHand, t, order, { lr, regFactor: 0.03, regBias: 0.01 });
    }
    expect(Buffer.from(byHand.p.buffer).equals(Buffer.from(trained.p.buffer))).toBe(true);
    // Reshuffled every epoch: no two epochs in the same order, none in the file's.
    expect(seen[1]).not.toEqual(seen[0]);
    expect(seen[2]).not.toEqual(seen[1]);
    expect(seen[0]).not.toEqual([...identityOrder(t.n)]);
  });

  it('mf - onEpoch returning false stops training there', () => {
    let last = 0;
    const onEpoch = (r: { epoch: number }) => {
      last = r.epoch;
      return r.epoch < 4;
    };
    trainMf(planted(30, 20, 300, 5), { factors: 2 }, { epochs: 10, seed: 1, onEpoch });
    expect(last).toBe(4);
  });

  it('mf - a learning rate far too high stops with TrainingDiverged naming it', () => {
    expect(() => trainMf(planted(30, 20, 300, 6), { factors: 4, lr: 50 }, { epochs: 20, seed: 1 })).toThrow(TrainingDiverged);
  });
});
