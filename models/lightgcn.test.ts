import { describe, expect, it } from 'vitest';
import { plantedInteractions } from '../test/harness/planted-interactions.js';
import { mulberry32 } from '../data/random.js';
import { NormalizedGraph } from './lightgcn-graph.js';
import { lightGcnObjective, lightGcnScorer, parseLightGcnHyperparameters, trainLightGcn } from './lightgcn.js';
import { evaluateTopK, userItemsOf } from './metrics.js';
import { popularityScorer } from './popularity.js';
import { splitByUserRatio } from './split.js';

describe('lightgcn', () => {
  it('lightgcn - trained with BPR on planted groups: the loss falls, it ranks far above popularity, and the WebAssembly and TypeScript propagations train the same model', () => {
    const { train, test } = splitByUserRatio(plantedInteractions(120, 80, 15, 5), [0.8, 0, 0.2], 6);
    const hp = { factors: 16, layers: 2, lr: 0.01, batchSize: 256 };
    const curves: Record<string, number[]> = { ts: [], wasm: [] };
    const models = Object.fromEntries(
      (['ts', 'wasm'] as const).map((kernel) => [kernel, trainLightGcn(train, hp, { epochs: 30, seed: 3, kernel, onEpoch: (_e, loss) => void curves[kernel]!.push(loss) })]),
    );
    expect(curves.wasm![29]!).toBeLessThan(0.7 * curves.wasm![0]!);
    // Bit-equal propagations: the same updates, so the same embeddings (float sums in the
    // gradient follow one order in both).
    expect(Array.from(models.wasm!.final)).toEqual(Array.from(models.ts!.final));
    const tr = userItemsOf(train);
    const te = userItemsOf(test);
    const [gcn] = evaluateTopK(lightGcnScorer(models.wasm!), te, { ks: [10], train: tr });
    const [pop] = evaluateTopK(popularityScorer(train), te, { ks: [10], train: tr });
    expect(gcn!.ndcg).toBeGreaterThan(2 * pop!.ndcg);
    for (const x of models.wasm!.final) expect(Number.isFinite(x)).toBe(true);
  });

  it('lightgcn - bad hyperparameters are refused naming them', () => {
    expect(() => parseLightGcnHyperparameters({ layers: -1 })).toThrow(/layers/);
    expect(() => parseLightGcnHyperparameters({ factors: 0 })).toThrow(/factors/);
    expect(() => parseLightGcnHyperparameters({ lr: Number.NaN })).toThrow(/lr/);
    expect(() => parseLightGcnHyperparameters({ negatives: 'nearest' as never })).toThrow(/negatives/);
    expect(() => parseLightGcnHyperparameters({ negativesPerPositive: 0 })).toThrow(/negativesPerPositive/);
    expect(() => parseLightGcnHyperparameters({ negativeCandidates: 1.5 })).toThrow(/negativeCandidates/);
    expect(() => parseLightGcnHyperparameters({ lrDecay: 0 })).toThrow(/lrDecay/);
    expect(() => parseLightGcnHyperparameters({ lrDecay: 1.1 })).toThrow(/lrDecay/);
  });

  it('lightgcn - the gradient of a mini-batch objective (mean BPR loss in the final embeddings plus the batch L2 on e⁰) matches finite differences in every coordinate', () => {
    const rand = mulberry32(11);
    const users = 7;
    const items = 6;
    const k = 3;
    const pairs = { u: [] as number[], i: [] as number[] };
    for (let u = 0; u < users; u++) for (let r = 0; r < 3; r++) (pairs.u.push(u), pairs.i.push(Math.floor(rand() * items)));
    const g = NormalizedGraph.fromPairs(users, items, pairs.u, pairs.i);
    // Triples with a repeated user and a repeated negative: their gradients add up.
    const t = { n: 5, u: [0, 3, 3, 6, 1], i: [pairs.i[0]!, pairs.i[9]!, pairs.i[10]!, pairs.i[18]!, pairs.i[3]!], j: [5, 2, 2, 0, 4] };
    const n = g.nodes * k;
    const e0 = Float32Array.from({ length: n }, () => rand() * 2 - 1);
    for (const layers of [0, 2, 3]) {
      for (const reg of [0, 0.3]) {
        const grad = new Float32Array(n);
        lightGcnObjective(g, e0, k, layers, reg, t, grad);
        let nonzero = 0;
        for (let x = 0; x < n; x++) {
          const h = 2 ** -10;
          const plus = Float32Array.from(e0);
          plus[x] += h;
          const minus = Float32Array.from(e0);
          minus[x] -= h;
          const fd = (lightGcnObjective(g, plus, k, layers, reg, t) - lightGcnObjective(g, minus, k, layers, reg, t)) / (2 * h);
          expect(Math.abs(fd - grad[x]!), `layers ${layers}, reg ${reg}, coordinate ${x}`).toBeLessThan(2e-4);
          if (Math.abs(grad[x]!) > 1e-3) nonzero++;
        }
        // Propagation spreads the gradient beyond the batch's own rows.
        if (layers > 0) expect(nonzero).toBeGreaterThan(3 * 3 * k);
      }
    }
  });

  it('lightgcn - the additive options at their defaults train the same model as without them; several negatives, hard negatives and a decaying step size still learn the planted groups', () => {
    const { train, test } = splitByUserRatio(plantedInteractions(120, 80, 15, 5), [0.8, 0, 0.2], 6);
    const hp = { factors: 16, layers: 2, lr: 0.01, batchSize: 256 };
    const plain = trainLightGcn(train, hp, { epochs: 3, seed: 4 });
    const explicit = trainLightGcn(train, { ...hp, negativesPerPositive: 1, negativeCandidates: 1, lrDecay: 1 }, { epochs: 3, seed: 4 });
    expect(Array.from(explicit.final)).toEqual(Array.from(plain.final));
    const tr = userItemsOf(train);
    const te = userItemsOf(test);
    const [pop] = evaluateTopK(popularityScorer(train), te, { ks: [10], train: tr });
    for (const extra of [{ negativesPerPositive: 4 }, { negativeCandidates: 4 }, { negativesPerPositive: 2, negativeCandidates: 2, lrDecay: 0.95 }]) {
      const losses: number[] = [];
      const m = trainLightGcn(train, { ...hp, ...extra }, { epochs: 30, seed: 3, onEpoch: (_e, loss) => void losses.push(loss) });
      const [gcn] = evaluateTopK(lightGcnScorer(m), te, { ks: [10], train: tr });
      expect(gcn!.ndcg, JSON.stringify(extra)).toBeGreaterThan(2 * pop!.ndcg);
      // Hard negatives keep the loss up; plain ones let it fall.
      if (extra.negativeCandidates === undefined) expect(losses[29]!).toBeLessThan(0.7 * losses[0]!);
    }
  });

  it('lightgcn - lrDecay scales each epoch\'s step: at a vanishing decay the embeddings all but stop after the first epoch', () => {
    const { train } = splitByUserRatio(plantedInteractions(60, 40, 10, 2), [0.8, 0, 0.2], 1);
    const snaps: Float32Array[] = [];
    trainLightGcn(train, { factors: 8, layers: 2, lr: 0.01, batchSize: 64, lrDecay: 1e-6 }, { epochs: 3, seed: 1, onEpoch: (_e, _l, m) => void snaps.push(m.e0.slice()) });
    const maxMove = (a: Float32Array, b: Float32Array) => a.reduce((s, x, j) => Math.max(s, Math.abs(x - b[j]!)), 0);
    expect(maxMove(snaps[0]!, snaps[1]!)).toBeLessThan(1e-6);
    const first = trainLightGcn(train, { factors: 8, layers: 2, lr: 0.01, batchSize: 64 }, { epochs: 1, seed: 1 });
    expect(maxMove(first.e0, snaps[0]!)).toBe(0);
  });
});
