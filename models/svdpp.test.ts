import { describe, expect, it } from 'vitest';
import { planted } from '../test/harness/planted-ratings.js';
import { ModelArgumentError } from './errors.js';
import { rmse } from './metrics.js';
import { RatingsTableBuilder, splitRatings, type RatingsTable } from './ratings.js';
import { Rng } from './rng.js';
import { createSvdppModel, predictSvdppTable, svdppAsMf, svdppEpoch, trainSvdpp, type SvdppModel, type SvdppStep } from './svdpp.js';
import { parseSvdppHyperparameters } from './svdpp-options.js';
import { UserGroupedOrders } from './user-grouped-orders.js';
import { predictMf } from './mf.js';

/** User 'u' rated item 'a' 4 and item 'b' 2. */
function twoRatings(): RatingsTable {
  const b = new RatingsTableBuilder();
  b.add('u', 'a', 4);
  b.add('u', 'b', 2);
  return b.build();
}

/**
 * Per-rating SVD++ SGD written the slow, obvious way: z recomputed from y at every rating,
 * every y_j of N(u) updated at every rating. The grouped kernel must equal it.
 */
function naiveEpoch(m: SvdppModel, t: RatingsTable, order: Uint32Array, s: SvdppStep): number {
  const k = m.factors;
  let sse = 0;
  for (const j of order) {
    const u = t.users[j]!;
    const i = t.items[j]!;
    const n = m.implicit.offsets[u + 1]! - m.implicit.offsets[u]!;
    const norm = n > 0 ? 1 / Math.sqrt(n) : 0;
    const nu = [...m.implicit.items.subarray(m.implicit.offsets[u]!, m.implicit.offsets[u + 1]!)];
    const z = Array.from({ length: k }, (_, f) => norm * nu.reduce((a, x) => a + m.y[x * k + f]!, 0));
    let dot = 0;
    for (let f = 0; f < k; f++) dot += m.q[i * k + f]! * (m.p[u * k + f]! + z[f]!);
    const e = t.ratings[j]! - (m.mu + m.bu[u]! + m.bi[i]! + dot);
    sse += e * e;
    m.bu[u] += s.lr * (e - s.regUserBias! * m.bu[u]!);
    m.bi[i] += s.lr * (e - s.regItemBias! * m.bi[i]!);
    for (let f = 0; f < k; f++) {
      const pf = m.p[u * k + f]!;
      const qf = m.q[i * k + f]!;
      m.p[u * k + f] = pf + s.lr * (e * qf - s.regUser! * pf);
      m.q[i * k + f] = qf + s.lr * (e * (pf + z[f]!) - s.regItem! * qf);
      for (const x of nu) m.y[x * k + f] += s.lr * (e * norm * qf - s.regY * m.y[x * k + f]!);
    }
  }
  return sse;
}

const STEP: SvdppStep = { lr: 0.02, regFactor: 0, regBias: 0, regUser: 0.04, regItem: 0.06, regUserBias: 0.02, regItemBias: 0.03, regY: 0.08 };

describe('svdpp', () => {
  it('svdpp - one step matches a hand computation', () => {
    const t = twoRatings();
    const m = createSvdppModel(t, { factors: 1 }, 1);
    m.p.set([0.5]);
    m.q.set([0.2, -0.4]);
    m.y.set([0.1, 0.3]);
    expect(m.mu).toBe(3);
    // N(u) = {a, b}: z = (0.1 + 0.3)/√2 = 0.28284271; r̂ = 3 + 0.2 (0.5 + z) = 3.15656854; e = 0.84343146.
    const sse = svdppEpoch(m, t, Uint32Array.of(0), { lr: 0.1, regFactor: 0, regBias: 0, regY: 0.5 });
    expect(sse).toBeCloseTo(0.84343146 ** 2, 6);
    expect(m.bu[0]).toBeCloseTo(0.084343146, 6); //  lr e
    expect(m.bi[0]).toBeCloseTo(0.084343146, 6);
    expect(m.bi[1]).toBe(0); //                       not rated in this step
    expect(m.p[0]).toBeCloseTo(0.51686863, 6); //     0.5 + 0.1 e 0.2
    expect(m.q[0]).toBeCloseTo(0.26602744, 6); //     0.2 + 0.1 e (0.5 + z)
    expect(m.q[1]).toBeCloseTo(-0.4, 6);
    // y_j = (1 − 0.1·0.5) y_j + 0.1 e 0.2/√2 = 0.95 y_j + 0.011927927
    expect(m.y[0]).toBeCloseTo(0.10692793, 6);
    expect(m.y[1]).toBeCloseTo(0.29692793, 6);
  });

  it('svdpp - the user-grouped epoch equals per-rating SVD++ SGD (z recomputed, every y_j updated at every rating)', () => {
    const t = planted(15, 12, 300, 7);
    const a = createSvdppModel(t, { factors: 5, initStd: 0.3 }, 2);
    const rng = new Rng(3);
    for (let x = 0; x < a.y.length; x++) a.y[x] = rng.normal() * 0.2;
    const b: SvdppModel = { ...a, p: a.p.slice(), q: a.q.slice(), y: a.y.slice(), bu: a.bu.slice(), bi: a.bi.slice() };
    const order = new UserGroupedOrders(t, 4).next();
    const s1 = svdppEpoch(a, t, order, STEP);
    const s2 = naiveEpoch(b, t, order, STEP);
    expect(Math.abs(s1 - s2) / s2).toBeLessThan(1e-5);
    for (const key of ['p', 'q', 'y', 'bu', 'bi'] as const) {
      for (let x = 0; x < a[key].length; x++) expect(Math.abs(a[key][x]! - b[key][x]!), `${key}[${x}]`).toBeLessThan(1e-4);
    }
  });

  it('svdpp - the user-grouped order keeps each user together, covers every row once and changes each epoch', () => {
    const t = planted(30, 20, 500, 8);
    const orders = new UserGroupedOrders(t, 1);
    const first = [...orders.next()];
    const second = [...orders.next()];
    expect([...first].sort((x, y) => x - y)).toEqual(Array.from({ length: t.n }, (_, j) => j));
    const runs = new Set<number>();
    for (let x = 0; x < first.length; x++) {
      const u = t.users[first[x]!]!;
      if (x > 0 && t.users[first[x - 1]!] === u) continue;
      expect(runs.has(u), `user ${u} in two runs`).toBe(false);
      runs.add(u);
    }
    expect(second).not.toEqual(first);
  });

  it('svdpp - the training loss decreases and held-out ratings beat the global mean', () => {
    const { kept, held } = splitRatings(planted(300, 200, 20_000, 2), 0.1, 5);
    const losses: number[] = [];
    const model = trainSvdpp(kept, { factors: 8, lr: 0.01, lrDecay: 0.95 }, { epochs: 15, seed: 3, onEpoch: (r) => void losses.push(r.trainRmse) });
    for (let e = 1; e < losses.length; e++) expect(losses[e], `epoch ${e + 1}`).toBeLessThan(losses[e - 1]!);
    const meanOnly = rmse(new Float32Array(held.n).fill(model.mu), held.ratings);
    expect(rmse(predictSvdppTable(model, held), held.ratings)).toBeLessThan(meanOnly - 0.05);
  });

  it('svdpp - predictions read p_u + |N(u)|^-½ Σ y_j; an unseen user predicts from the biases', () => {
    const t = twoRatings();
    const m = createSvdppModel(t, { factors: 1 }, 1);
    m.p.set([0.5]);
    m.q.set([0.2, -0.4]);
    m.y.set([0.1, 0.3]);
    const mf = svdppAsMf(m);
    expect(mf.p[0]).toBeCloseTo(0.5 + 0.4 / Math.SQRT2, 6);
    expect(predictMf(mf, 0, 1)).toBeCloseTo(3 - 0.4 * (0.5 + 0.4 / Math.SQRT2), 6);
    expect(predictMf(mf, 5, 1)).toBe(3);
  });

  it('svdpp - the same seed gives the same model; hyperparameters are checked, regY defaults apart from regFactor', () => {
    const t = planted(40, 30, 800, 9);
    const a = trainSvdpp(t, { factors: 4 }, { epochs: 3, seed: 5 });
    const b = trainSvdpp(t, { factors: 4 }, { epochs: 3, seed: 5 });
    expect(Buffer.from(a.y.buffer).equals(Buffer.from(b.y.buffer))).toBe(true);
    expect(() => parseSvdppHyperparameters({ regY: -1, factors: 0 })).toThrow(ModelArgumentError);
    const h = parseSvdppHyperparameters({ regFactor: 0.3, regItemBias: 0.5 });
    expect(h).toMatchObject({ regUser: 0.3, regItem: 0.3, regY: 0.02, regItemBias: 0.5, regUserBias: 0.01 });
  });
});
