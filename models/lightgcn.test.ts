import { describe, expect, it } from 'vitest';
import { plantedInteractions } from '../test/harness/planted-interactions.js';
import { lightGcnScorer, parseLightGcnHyperparameters, trainLightGcn } from './lightgcn.js';
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
  });
});
