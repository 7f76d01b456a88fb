import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { latestCheckpoint, runTrainingJob, TrainedModel, type TrainSpec } from '../actors/training/index.js';
import { ingestRatingsFile, oneTrainingNode } from './harness/training-node.js';
import { readRatings } from '../data/index.js';
import { evaluateTopK, lightGcnScorer, ratingsTableFrom, trainLightGcn, userItemsOf, type Scorer } from '../models/index.js';

const ML100K = join(import.meta.dirname, '..', '..', 'shared', 'datasets', 'ml-100k');

function spec(over: Partial<TrainSpec> = {}): TrainSpec {
  return {
    version: 'g1', model: 'lightgcn', factors: 32, epochs: 8, lr: 0.005, lrDecay: 1, regFactor: 1e-3, regBias: 0, initStd: 0.01, seed: 7,
    clocksPerEpoch: 2, consistency: { kind: 'bsp' }, validationFraction: 0, workerTimeoutMs: 30_000, keepCheckpoints: 2, kernel: 'wasm', negatives: 'uniform', popularityExponent: 0,
    layers: 2, batchSize: 4096, ...over,
  };
}

describe('LightGCN trained by the actors (W = 1)', () => {
  it('learns from the user actors\' histories to the NDCG@10 of the one-process trainer on u1, and serves the final embeddings', async () => {
    const n = await oneTrainingNode();
    try {
      const ratings = await ingestRatingsFile(n.system, join(ML100K, 'u1.base'));
      const s = spec({ epochs: 20 });
      const losses: number[] = [];
      const st = await runTrainingJob(n.system, n.registry, s, { workers: ['solo'], startWorkers: async (v) => void n.training.startWorker(v), onEpoch: (e) => losses.push(e.loss), pollMs: 20 });
      expect(st.state).toBe('done');
      expect(losses).toHaveLength(s.epochs);
      expect(losses.at(-1)!).toBeLessThan(losses[0]!);
      const cp = await latestCheckpoint(n.blobs, 'g1');
      const trained = TrainedModel.fromCheckpoint(cp!);

      const table = await ratingsTableFrom(ratings);
      const test: Array<{ user: string; item: string; rating: number }> = [];
      for await (const r of readRatings(join(ML100K, 'u1.test'))) test.push(r);
      const testTable = await ratingsTableFrom(test.filter((r) => table.itemIds.get(r.item) !== undefined && table.userIds.get(r.user) !== undefined), { userIds: table.userIds, itemIds: table.itemIds });
      const users = table.userCount;
      const items = table.itemCount;
      const dist: Scorer = {
        items,
        score: (u, out) => {
          const user = table.userIds.idOf(u);
          for (let i = 0; i < items; i++) out[i] = trained.score(user, table.itemIds.idOf(i));
        },
      };
      const opts = { ks: [10], train: userItemsOf(table, users) };
      const distNdcg = evaluateTopK(dist, userItemsOf(testTable, users), opts)[0]!.ndcg;
      const local = trainLightGcn(table, { factors: s.factors, layers: s.layers, lr: s.lr, reg: s.regFactor, batchSize: s.batchSize, initStd: s.initStd }, { epochs: s.epochs, seed: s.seed });
      const localNdcg = evaluateTopK(lightGcnScorer(local), userItemsOf(testTable, users), opts)[0]!.ndcg;
      // Not the same numbers (the actors' rows start from their own seeds, and a node samples
      // its own triples), the same model: within the spread of seeds at this many epochs.
      expect(localNdcg).toBeGreaterThan(0.4);
      expect(Math.abs(distNdcg - localNdcg)).toBeLessThan(0.03);
    } finally {
      await n.system.stop();
    }
  }, 120_000);
});
