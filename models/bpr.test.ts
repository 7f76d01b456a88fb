import { describe, expect, it } from 'vitest';
import { plantedInteractions } from '../test/harness/planted-interactions.js';
import { AliasTable } from './alias-table.js';
import { bprEpoch, bprScorer, createBprModel, softplus, trainBpr, tsBprKernel, type BprModel } from './bpr.js';
import { BprSampler, type BprTriples } from './bpr-sampler.js';
import { bprEpochWasm, wasmBprKernel } from './bpr-wasm.js';
import { evaluateTopK, userItemsOf } from './metrics.js';
import { popularityScorer } from './popularity.js';
import { RatingsTableBuilder } from './ratings.js';
import { Rng } from './rng.js';
import { splitByUserRatio } from './split.js';

function copy(m: BprModel): BprModel {
  return { ...m, p: m.p.slice(), q: m.q.slice(), b: m.b.slice() };
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let d = 0;
  for (let j = 0; j < a.length; j++) d = Math.max(d, Math.abs(a[j]! - b[j]!));
  return d;
}

function randomTriples(users: number, items: number, n: number, seed: number): BprTriples {
  const rng = new Rng(seed);
  const u = Uint32Array.from({ length: n }, () => rng.below(users));
  const i = Uint32Array.from({ length: n }, () => rng.below(items));
  const j = Uint32Array.from({ length: n }, (_, s) => (i[s]! + 1 + rng.below(items - 1)) % items);
  return { n, u, i, j };
}

const STEP = { lr: 0.05, reg: 0.02, regBias: 0.01 };

describe('bpr', () => {
  it('bpr - one triple matches a hand computation', () => {
    const m = createBprModel(1, 2, { factors: 2, initStd: 0 }, 1);
    m.p.set([1, 2]);
    m.q.set([0.5, -0.5, 0.25, 0.25]); // q_0, q_1
    m.b.set([0.1, 0.3]);
    const loss = bprEpoch(m, { n: 1, u: Uint32Array.of(0), i: Uint32Array.of(0), j: Uint32Array.of(1) }, { lr: 0.1, reg: 0.5, regBias: 0.2 });
    // x = (0.1 − 0.3) + [1, 2]·([0.5, −0.5] − [0.25, 0.25]) = −0.2 + (0.25 − 1.5) = −1.45
    const x = -1.45;
    const g = 1 / (1 + Math.exp(x));
    expect(loss).toBeCloseTo(Math.log(1 + Math.exp(-x)), 6);
    expect(m.p[0]).toBeCloseTo(1 + 0.1 * (g * 0.25 - 0.5 * 1), 6);
    expect(m.p[1]).toBeCloseTo(2 + 0.1 * (g * -0.75 - 0.5 * 2), 6);
    expect(m.q[0]).toBeCloseTo(0.5 + 0.1 * (g * 1 - 0.5 * 0.5), 6);
    expect(m.q[1]).toBeCloseTo(-0.5 + 0.1 * (g * 2 + 0.5 * 0.5), 6);
    expect(m.q[2]).toBeCloseTo(0.25 + 0.1 * (-g * 1 - 0.5 * 0.25), 6);
    expect(m.q[3]).toBeCloseTo(0.25 + 0.1 * (-g * 2 - 0.5 * 0.25), 6);
    expect(m.b[0]).toBeCloseTo(0.1 + 0.1 * (g - 0.2 * 0.1), 6);
    expect(m.b[1]).toBeCloseTo(0.3 + 0.1 * (-g - 0.2 * 0.3), 6);
    expect(softplus(800)).toBe(800); // no overflow
  });

  for (const k of [1, 3, 4, 6, 32, 33]) {
    it(`bpr-wasm - an epoch matches the TypeScript reference at ${k} factors`, () => {
      const ref = createBprModel(15, 25, { factors: k, initStd: 0.3 }, k);
      ref.b.set(Float32Array.from({ length: 25 }, (_, i) => Math.sin(i)));
      const was = copy(ref);
      const t = randomTriples(15, 25, 700, k + 3);
      const a = bprEpoch(ref, t, STEP);
      const b = bprEpochWasm(was, t, STEP);
      expect(Math.abs(b - a) / a).toBeLessThan(1e-5);
      expect(maxAbsDiff(was.p, ref.p)).toBeLessThan(1e-4);
      expect(maxAbsDiff(was.q, ref.q)).toBeLessThan(1e-4);
      expect(maxAbsDiff(was.b, ref.b)).toBeLessThan(1e-4);
      expect(maxAbsDiff(ref.q, createBprModel(15, 25, { factors: k, initStd: 0.3 }, k).q)).toBeGreaterThan(1e-2);
    });
  }

  it('bpr-wasm - a triple past the model is refused before any update', () => {
    const m = createBprModel(3, 4, { factors: 4 }, 1);
    const before = copy(m);
    const t = { n: 2, u: Uint32Array.of(0, 3), i: Uint32Array.of(0, 1), j: Uint32Array.of(1, 2) };
    expect(() => bprEpochWasm(m, t, STEP)).toThrow(/triple 1 \(3, 1, 2\)/);
    expect(maxAbsDiff(m.p, before.p)).toBe(0);
  });

  it('bpr - training lowers the loss, the kernel follows the reference, and it beats popularity', () => {
    const { train, test } = splitByUserRatio(plantedInteractions(200, 120, 20, 5), [0.8, 0, 0.2], 6);
    const hp = { factors: 16, lr: 0.05, reg: 0.01 };
    const curves: Record<string, number[]> = { ts: [], wasm: [] };
    const models: Record<string, BprModel> = {};
    for (const [name, kernel] of [['ts', tsBprKernel], ['wasm', wasmBprKernel]] as const) {
      models[name] = trainBpr(train, hp, { epochs: 15, seed: 3, kernel, onEpoch: (_e, loss) => void curves[name]!.push(loss) });
    }
    curves.ts!.forEach((l, e) => expect(Math.abs(curves.wasm![e]! - l)).toBeLessThan(1e-3));
    expect(curves.wasm![14]!).toBeLessThan(curves.wasm![0]! * 0.7);
    const ev = (s: Parameters<typeof evaluateTopK>[0]) => evaluateTopK(s, userItemsOf(test), { ks: [10], train: userItemsOf(train) })[0]!.recall;
    expect(ev(bprScorer(models.wasm!))).toBeGreaterThan(ev(popularityScorer(train)) + 0.1);
  });

  for (const negatives of ['uniform', 'popularity'] as const) {
    it(`bpr sampler - ${negatives} negatives are never among the user's training items; every interaction is drawn once`, () => {
      const table = plantedInteractions(30, 40, 25, 2);
      const seen = userItemsOf(table);
      const sampler = new BprSampler(table, negatives, 1, 4);
      for (let epoch = 0; epoch < 3; epoch++) {
        const t = sampler.next();
        expect(t.n).toBe(table.n);
        const pairs = new Set<string>();
        for (let s = 0; s < t.n; s++) {
          const own = seen.items.subarray(seen.offsets[t.u[s]!]!, seen.offsets[t.u[s]! + 1]!);
          expect(own.includes(t.j[s]!)).toBe(false);
          expect(own.includes(t.i[s]!)).toBe(true);
          pairs.add(`${t.u[s]},${t.i[s]}`);
        }
        expect(pairs.size).toBe(table.n);
      }
    });
  }

  it('bpr sampler - popularity-aware negatives follow count^β; a user with every item is left out', () => {
    // Item i (0..3) has i + 1 interactions from users 1..; user 0 has item 4 only, so any of 0..3 is its negative.
    const rows: [number, number][] = [[0, 4]];
    const counts = [1, 2, 3, 4];
    counts.forEach((c, i) => { for (let u = 1; u <= c; u++) rows.push([u, i]); });
    const b = new RatingsTableBuilder();
    for (const [u, i] of rows) b.add(`u${u}`, `i${i}`, 1);
    b.add('all', 'i0', 1); b.add('all', 'i1', 1); b.add('all', 'i2', 1); b.add('all', 'i3', 1); b.add('all', 'i4', 1);
    const table = b.build();
    const sampler = new BprSampler(table, 'popularity', 2, 1);
    const user0 = table.userIds.get('u0')!;
    const hist = new Map<string, number>();
    let draws = 0;
    for (let e = 0; e < 4000; e++) {
      const t = sampler.next();
      expect(t.n).toBe(table.n - 5); // 'all' has every item
      for (let s = 0; s < t.n; s++) if (t.u[s] === user0) { const id = table.itemIds.idOf(t.j[s]!); hist.set(id, (hist.get(id) ?? 0) + 1); draws++; }
    }
    // Counts with 'all': items 0..3 have 2, 3, 4, 5; weights c² = 4, 9, 16, 25 (sum 54).
    [4, 9, 16, 25].forEach((w, i) => expect(hist.get(`i${i}`)! / draws).toBeCloseTo(w / 54, 1));
  });

  it('alias table - draws follow the weights; zero weights are never drawn', () => {
    const a = new AliasTable([1, 0, 3, 6]);
    const rng = new Rng(9);
    const hist = [0, 0, 0, 0];
    for (let t = 0; t < 100_000; t++) hist[a.sample(rng)]!++;
    expect(hist[1]).toBe(0);
    expect(hist[0]! / 1e5).toBeCloseTo(0.1, 2);
    expect(hist[2]! / 1e5).toBeCloseTo(0.3, 2);
    expect(hist[3]! / 1e5).toBeCloseTo(0.6, 2);
    expect(() => new AliasTable([0, 0])).toThrow(/all zero/);
  });
});
