import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ingestInteractions, Kind, NodeParams, registerReelActors, TitleMsg } from '../actors/index.js';
import { latestCheckpoint, MemoryBlobStore, MemoryModelRegistry, NodeTraining, runTrainingJob, TrainedModel, type TrainSpec } from '../actors/training/index.js';
import { coldBias, readContentModel } from '../actors/training/content-phase.js';
import { readRatings, readUItem, type Rating } from '../data/index.js';
import { coldRow, evaluateTopK, knownFeatureIds, lightGcnScorer, metadataFeatureNames, ratingsTableFrom, trainLightGcn, userItemsOf, type Scorer } from '../models/index.js';
import { coldStartSplit, evaluateColdStart, genreYearColdScorer, randomColdScorer, type ColdTitle } from '../models/cold-start.js';
import { ActorSystem } from '../runtime/index.js';
import { ratingToInteraction } from '../cli/ratings-input.js';

const ML100K = join(import.meta.dirname, '..', '..', 'shared', 'datasets', 'ml-100k');

function spec(over: Partial<TrainSpec> = {}): TrainSpec {
  return {
    version: 'g1', model: 'lightgcn', factors: 32, epochs: 8, lr: 0.005, lrDecay: 1, regFactor: 1e-3, regBias: 0, initStd: 0.01, seed: 7,
    clocksPerEpoch: 2, consistency: { kind: 'bsp' }, validationFraction: 0, workerTimeoutMs: 30_000, keepCheckpoints: 2, kernel: 'wasm', negatives: 'uniform', popularityExponent: 0,
    layers: 2, batchSize: 4096, ...over,
  };
}

async function oneNode() {
  const system = new ActorSystem({ nodeId: 'solo', shardCount: 16 });
  const params = new NodeParams();
  registerReelActors(system, params);
  const registry = new MemoryModelRegistry();
  const blobs = new MemoryBlobStore();
  const training = new NodeTraining(system, { params, registry, blobs, directory: { ownerOf: () => 'solo' } });
  await system.start();
  return { system, params, registry, blobs, training };
}

describe('LightGCN trained by the actors (W = 1)', () => {
  it('learns from the user actors\' histories to the NDCG@10 of the one-process trainer on u1, and serves the final embeddings', async () => {
    const n = await oneNode();
    try {
      const ratings: Array<{ user: string; item: string; rating: number }> = [];
      await ingestInteractions(n.system, (async function* () {
        for await (const r of readRatings(join(ML100K, 'u1.base'))) {
          ratings.push(r);
          yield ratingToInteraction(r);
        }
      })());
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

  it('content-gnn: titles nobody has watched get rows from their genres and year (the encoder trained through the parameter server), finite, ranked above random; the model is kept for serving', async () => {
    const n = await oneNode();
    try {
      const titles: ColdTitle[] = [];
      for await (const t of readUItem(join(ML100K, 'u.item'))) titles.push({ id: t.id, genres: t.genres, ...(t.year !== undefined ? { year: t.year } : {}) });
      const ratings: Rating[] = [];
      for await (const r of readRatings(join(ML100K, 'u1.base'))) ratings.push(r);
      const split = coldStartSplit(titles, ratings, { seed: 2026, fraction: 0.1 });
      const kept = new Set(split.train.map((r) => `${r.user}/${r.item}`));
      await Promise.all(titles.map((t) => n.system.ask(Kind.Title, t.id, TitleMsg.Metadata, { genres: [...t.genres], ...(t.year !== undefined ? { releaseYear: t.year } : {}) })));
      await ingestInteractions(n.system, ratings.filter((r) => kept.has(`${r.user}/${r.item}`)).map(ratingToInteraction));
      const s = spec({ version: 'c1', model: 'content-gnn', epochs: 12, content: { hidden: 32, encoderLr: 0.003, encoderBatchSize: 128, encoderPasses: 30, popularityLossWeight: 1, alpha: 0.75, popularityWeight: -1, maxFeatures: 2048 } });
      const st = await runTrainingJob(n.system, n.registry, s, { workers: ['solo'], startWorkers: async (v) => void n.training.startWorker(v), pollMs: 20 });
      expect(st.state, st.error).toBe('done');
      const trained = TrainedModel.fromCheckpoint((await latestCheckpoint(n.blobs, 'c1'))!);
      // Every title has a row, the held-out ones too, and every value is finite.
      expect(trained.titleCount).toBe(titles.length);
      for (const t of titles) expect(trained.titleRow(t.id)!.every(Number.isFinite), t.id).toBe(true);
      const cold = split.heldOut.map((t) => trained.titleRow(t.id)!);
      expect(new Set(cold.map((r) => r.join(','))).size).toBeGreaterThan(10);

      const users = split.users;
      const scorer = (u: number, out: Float32Array) => split.heldOut.forEach((t, i) => (out[i] = trained.score(users[u]!, t.id)));
      const content = evaluateColdStart(split, scorer, 20);
      const random = evaluateColdStart(split, randomColdScorer(2026), 20);
      const genreYear = evaluateColdStart(split, genreYearColdScorer(split, titles), 20);
      expect(content.recall, `content ${content.recall}, random ${random.recall}, genre×year ${genreYear.recall}`).toBeGreaterThan(1.2 * random.recall);

      // The model kept for serving gives a held-out title the row training wrote.
      const m = (await readContentModel(n.blobs, 'c1'))!;
      const t = split.heldOut[0]!;
      const row = coldRow(m, knownFeatureIds(m, metadataFeatureNames({ genres: t.genres, ...(t.year !== undefined ? { releaseYear: t.year } : {}) })), m.alpha, t.id, new Float32Array(33));
      row[32] = coldBias(m, row[32]!);
      const written = trained.titleRow(t.id)!;
      for (let d = 0; d < 33; d++) expect(row[d]).toBeCloseTo(written[d]!, 4);
    } finally {
      await n.system.stop();
    }
  }, 180_000);
});
