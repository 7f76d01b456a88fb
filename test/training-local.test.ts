import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { latestCheckpoint, runTrainingJob, TrainedModel, type TrainSpec } from '../actors/training/index.js';
import { ingestRatingsFile, oneTrainingNode } from './harness/training-node.js';
import { readRatings } from '../data/index.js';
import { ratingsTableFrom, predictTable, rmse, trainMf, wasmKernel } from '../models/index.js';

const ML100K = join(import.meta.dirname, '..', '..', 'shared', 'datasets', 'ml-100k');

function spec(over: Partial<TrainSpec> = {}): TrainSpec {
  return {
    version: 'v1', model: 'mf', factors: 32, epochs: 12, lr: 0.02, lrDecay: 0.93, regFactor: 0.05, regBias: 0.01, initStd: 0.05, seed: 7,
    clocksPerEpoch: 4, consistency: { kind: 'bsp' }, validationFraction: 0, workerTimeoutMs: 30_000, keepCheckpoints: 2, kernel: 'wasm', negatives: 'uniform', popularityExponent: 0, ...over,
  };
}

describe('training in one process (W = 1)', () => {
  it('trains MF from the user actors\' histories to the RMSE of the local kernel on u1, and checkpoints every epoch', async () => {
    const n = await oneTrainingNode();
    try {
      const ratings = await ingestRatingsFile(n.system, join(ML100K, 'u1.base'));
      const s = spec();
      const epochs: number[] = [];
      const st = await runTrainingJob(n.system, n.registry, s, {
        workers: ['solo'],
        startWorkers: async (v) => {
          n.training.startWorker(v);
        },
        onEpoch: (e) => epochs.push(e.loss),
        pollMs: 20,
      });
      expect(st.state).toBe('done');
      expect(epochs).toHaveLength(s.epochs);
      expect(epochs.at(-1)!).toBeLessThan(epochs[0]!);
      const m = await n.registry.get('v1');
      expect(m?.state).toBe('READY');
      expect(m?.epochsDone).toBe(s.epochs);
      const cp = await latestCheckpoint(n.blobs, 'v1');
      expect(cp?.manifest.epochsDone).toBe(s.epochs);
      const trained = TrainedModel.fromCheckpoint(cp!);
      expect(trained.userCount).toBe(943);

      const test: Array<{ user: string; item: string; rating: number }> = [];
      for await (const r of readRatings(join(ML100K, 'u1.test'))) test.push(r);
      const dist = rmse(test.map((r) => trained.predict(r.user, r.item)), test.map((r) => r.rating));

      const table = await ratingsTableFrom(ratings);
      const local = trainMf(table, { factors: s.factors, lr: s.lr, lrDecay: s.lrDecay, regFactor: s.regFactor, regBias: s.regBias, initStd: s.initStd }, { epochs: s.epochs, seed: s.seed, kernel: wasmKernel });
      const testTable = await ratingsTableFrom(test, { userIds: table.userIds, itemIds: table.itemIds });
      const localRmse = rmse(predictTable(local, testTable), testTable.ratings);
      expect(Math.abs(dist - localRmse)).toBeLessThan(0.005);
    } finally {
      await n.system.stop();
    }
  });

  it('with AdaGrad on the title shards (--title-update adagrad) MF trains too: its loss falls and its RMSE on u1 comes near plain SGD\'s', async () => {
    const n = await oneTrainingNode();
    try {
      await ingestRatingsFile(n.system, join(ML100K, 'u1.base'));
      const test: Array<{ user: string; item: string; rating: number }> = [];
      for await (const r of readRatings(join(ML100K, 'u1.test'))) test.push(r);
      const scores: number[] = [];
      for (const s of [spec({ version: 'sgd' }), spec({ version: 'ada', titleUpdate: 'adagrad', adagradStep: 0.05 })]) {
        const epochs: number[] = [];
        const st = await runTrainingJob(n.system, n.registry, s, { workers: ['solo'], startWorkers: async (v) => void n.training.startWorker(v), onEpoch: (e) => epochs.push(e.loss), pollMs: 20 });
        expect(st.state, st.error).toBe('done');
        expect(epochs.at(-1)!).toBeLessThan(epochs[0]! - 0.05);
        const m = TrainedModel.fromCheckpoint((await latestCheckpoint(n.blobs, s.version))!);
        scores.push(rmse(test.map((r) => m.predict(r.user, r.item)), test.map((r) => r.rating)));
      }
      expect((await n.registry.get('ada'))?.hyperparameters).toMatchObject({ titleUpdate: 'adagrad', adagradStep: 0.05 });
      // Another update rule, not the same numbers: AdaGrad came 0.005–0.01 above SGD here.
      expect(scores[1]).not.toBe(scores[0]);
      expect(scores[1]! - scores[0]!, `adagrad ${scores[1]}, sgd ${scores[0]}`).toBeLessThan(0.03);
    } finally {
      await n.system.stop();
    }
  });

  it('trains BPR from every interaction the user actors hold: its loss falls and held-out positives rank above sampled negatives', async () => {
    const n = await oneTrainingNode();
    try {
      await ingestRatingsFile(n.system, join(ML100K, 'u1.base'));
      const s = spec({ version: 'b1', model: 'bpr', factors: 32, epochs: 15, lr: 0.05, lrDecay: 0.97, regFactor: 0.02, regBias: 0.01, initStd: 0.1, validationFraction: 0.05, clocksPerEpoch: 2 });
      const epochs: Array<{ loss: number; validation: number | null; lossName: string; validationName: string }> = [];
      const st = await runTrainingJob(n.system, n.registry, s, { workers: ['solo'], startWorkers: async (v) => void n.training.startWorker(v), onEpoch: (e) => epochs.push(e), pollMs: 20 });
      expect(st.state, st.error).toBe('done');
      expect(epochs[0]).toMatchObject({ lossName: 'bpr_loss', validationName: 'validation_auc' });
      expect(epochs.at(-1)!.loss).toBeLessThan(epochs[0]!.loss);
      expect(epochs.at(-1)!.validation!).toBeGreaterThan(0.85);
      const cp = await latestCheckpoint(n.blobs, 'b1');
      expect(cp?.parts.filter((p) => p.kind === 'title').reduce((a, p) => a + p.part.keys.length, 0)).toBe(1650);
    } finally {
      await n.system.stop();
    }
  });
});
