import { join } from 'node:path';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { latestCheckpoint, TrainedModel } from '../actors/training/index.js';
import { openCheckpointStore, openModelRegistry } from '../cluster/index.js';
import { readRatings, type Rating } from '../data/index.js';
import { bprScorer, evaluateTopK, predictTable, ratingsTableFrom, rmse, trainBpr, trainMf, userItemsOf, wasmBprKernel, wasmKernel } from '../models/index.js';
import { startTestCluster, type TestCluster } from './harness/cluster.js';
import { runReel } from './harness/processes.js';
import { waitFor } from './harness/wait.js';
import { parsePrometheus } from './harness/prometheus.js';

const ML100K = join(import.meta.dirname, '..', '..', 'shared', 'datasets', 'ml-100k');
const S = 16;
const HP = ['--factors', '32', '--lr', '0.02', '--lr-decay', '0.93', '--reg', '0.05', '--reg-bias', '0.01', '--init-std', '0.05', '--seed', '7', '--validation-fraction', '0'];

type R = Rating;

async function read(file: string): Promise<R[]> {
  const out: R[] = [];
  for await (const r of readRatings(join(ML100K, file))) out.push(r);
  return out;
}

/** Loads a ratings file with `reel load` (acknowledged, then every actor's snapshot written). */
async function load(c: TestCluster, file: string, expected: number): Promise<void> {
  const run = await runReel(['load', '--nats', c.nats.url, '--prefix', c.prefix, '--data', join(ML100K, file), '--json'], { timeoutMs: 120_000 });
  expect(run.code, run.stderr).toBe(0);
  const s = JSON.parse(run.stdout) as { ratings: { applied: number }; flush_seconds?: number };
  expect(s.ratings.applied).toBe(expected);
  expect(s.flush_seconds).toBeGreaterThanOrEqual(0);
}

async function testRmse(c: TestCluster, version: string, test: R[]): Promise<number> {
  const blobs = await openCheckpointStore(c.nc, c.prefix);
  const cp = await latestCheckpoint(blobs, version);
  const m = TrainedModel.fromCheckpoint(cp!);
  return rmse(test.map((r) => m.predict(r.user, r.item)), test.map((r) => r.rating));
}

describe('training across node processes', { timeout: 150_000 }, () => {
  let c: TestCluster;
  let train: R[];
  let test: R[];
  let localRmse: number;

  beforeAll(async () => {
    [train, test] = await Promise.all([read('u1.base'), read('u1.test')]);
    // The workers' step-by-step log: kept, and shown when a test fails (a hang says where it stopped).
    // The default lease (3 s): training a shard's actors on a busy 2-core machine can stall a node
    // past the tests' fast 1 s lease, and each lease lost starts the job again from its checkpoint.
    // The jobs disturbed mid-way hold after their epoch 3 until the node joins or dies (a failpoint):
    // otherwise a node starting slowly on a loaded machine can join a job that has finished.
    c = await startTestCluster({ nodes: 2, shardCount: S, label: 'train', reelActors: true, metrics: true, env: { REEL_TRAIN_DEBUG: '1', REEL_TRAIN_HOLD: 'join3:3,kill:3' }, defaultTimings: true });
    await c.waitBalanced();
    await load(c, 'u1.base', train.length);
    const table = await ratingsTableFrom(train);
    const local = trainMf(table, { factors: 32, lr: 0.02, lrDecay: 0.93, regFactor: 0.05, regBias: 0.01, initStd: 0.05 }, { epochs: 10, seed: 7, kernel: wasmKernel });
    const testTable = await ratingsTableFrom(test, { userIds: table.userIds, itemIds: table.itemIds });
    localRmse = rmse(predictTable(local, testTable), testTable.ratings);
  }, 120_000);

  afterAll(async () => {
    await c?.close();
  });

  // A failed test leaves every node's output in a file, and its last lines in the report.
  afterEach((ctx) => {
    if (ctx.task.result?.state !== 'fail' || c === undefined) return;
    const dir = mkdtempSync(join(tmpdir(), 'reel-training-cluster-'));
    // A node's log lines and events come on stdout (kept as events), anything else on stderr.
    const logOf = (p: (typeof all)[number]) => p.events.filter((e) => e.msg !== 'clock').map((e) => JSON.stringify(e)).join('\n');
    const all = c.processes();
    all.forEach((p, n) => {
      writeFileSync(join(dir, `node-${n + 1}.log`), p.events.map((e) => JSON.stringify(e)).join('\n'));
      writeFileSync(join(dir, `node-${n + 1}.stderr`), p.stderr());
    });
    console.error(`node output kept in ${dir}\n${all.map((p, n) => `--- node ${n + 1}\n${logOf(p).slice(-6000)}\n${p.stderr().slice(-2000)}`).join('\n')}`);
  });

  const flags = () => ['--nats', c.nats.url, '--prefix', c.prefix];

  it('two workers (BSP) train MF to the RMSE of the single-process kernel; the version is READY with a checkpoint per epoch', async () => {
    const run = await runReel(['train', ...flags(), '--model', 'mf', '--epochs', '10', ...HP, '--workers', '2', '--model-version', 'bsp2', '--json'], { timeoutMs: 120_000 });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.trim().startsWith("{"), run.stdout + run.stderr).toBe(true);
    const st = JSON.parse(run.stdout) as { state: string; workers: string[]; history: unknown[] };
    expect(st.state).toBe('done');
    expect(st.workers).toEqual(['n1', 'n2']);
    expect(st.history).toHaveLength(10);
    expect(run.stderr).toMatch(/epoch 10\/10: train RMSE/);
    const registry = await openModelRegistry(c.nc, c.prefix);
    const m = await registry.get('bsp2');
    expect(m?.state).toBe('READY');
    expect(m?.dataFingerprint).toMatch(/^sum:[0-9a-f]{8}:80000$/);
    const dist = await testRmse(c, 'bsp2', test);
    expect(Math.abs(dist - localRmse), `distributed ${dist}, local ${localRmse}`).toBeLessThan(0.01);

    // Every node counts what its worker trained: together, every rating once per epoch.
    const scrapes = await Promise.all(['n1', 'n2'].map(async (id) => parsePrometheus(await (await fetch(`http://127.0.0.1:${(await c.nodes.get(id)!.ready).metricsPort as number}/metrics`)).text())));
    expect(scrapes.reduce((n, p) => n + p.sum('reel_train_updates_total', { version: 'bsp2' }), 0)).toBe(10 * train.length);
    for (const p of scrapes) expect(p.sum('reel_train_epoch', { version: 'bsp2' })).toBe(10);

    const scored = await runReel(['eval', ...flags(), '--model-version', 'bsp2', '--test', join(ML100K, 'u1.test'), '--json']);
    expect(scored.code, scored.stderr).toBe(0);
    expect((JSON.parse(scored.stdout) as { rmse: number }).rmse).toBeCloseTo(dist, 9);

    const act = await runReel(['models', 'activate', 'bsp2', ...flags(), '--json']);
    expect(act.code, act.stderr).toBe(0);
    const a = JSON.parse(act.stdout) as { active: string; nodes: string[]; missing_shards: number[] };
    expect(a).toMatchObject({ active: 'bsp2', nodes: ['n1', 'n2'], missing_shards: [] });
    expect((await registry.get('bsp2'))?.state).toBe('ACTIVE');
  });

  it('title rows larger than a NATS message (400 factors: ~1.35 MB per node) are pulled and pushed in pieces: the job finishes, every rating trains once per epoch and each row is kept once', async () => {
    const wide = ['--factors', '400', ...HP.slice(2)];
    const run = await runReel(['train', ...flags(), '--model', 'mf', '--epochs', '3', ...wide, '--workers', '2', '--model-version', 'wide', '--json'], { timeoutMs: 120_000 });
    expect(run.code, run.stderr).toBe(0);
    const st = JSON.parse(run.stdout) as { state: string; history: unknown[]; restarts: string[] };
    expect(st.state).toBe('done');
    expect(st.history).toHaveLength(3);
    expect(st.restarts).toEqual([]);
    const scrapes = await Promise.all(['n1', 'n2'].map(async (id) => parsePrometheus(await (await fetch(`http://127.0.0.1:${(await c.nodes.get(id)!.ready).metricsPort as number}/metrics`)).text())));
    expect(scrapes.reduce((n, p) => n + p.sum('reel_train_updates_total', { version: 'wide' }), 0)).toBe(3 * train.length);
    await checkRows('wide');
    // The same training in one process: a piece applied twice or lost would move the result.
    const table = await ratingsTableFrom(train);
    const local = trainMf(table, { factors: 400, lr: 0.02, lrDecay: 0.93, regFactor: 0.05, regBias: 0.01, initStd: 0.05 }, { epochs: 3, seed: 7, kernel: wasmKernel });
    const testTable = await ratingsTableFrom(test, { userIds: table.userIds, itemIds: table.itemIds });
    const localWide = rmse(predictTable(local, testTable), testTable.ratings);
    const dist = await testRmse(c, 'wide', test);
    expect(Math.abs(dist - localWide), `distributed ${dist}, local ${localWide}`).toBeLessThan(0.01);
  });

  /** Waits until `version` has checkpointed `epochs` epochs. */
  async function waitEpochs(version: string, epochs: number): Promise<void> {
    const registry = await openModelRegistry(c.nc, c.prefix);
    await waitFor(`${version} at epoch ${epochs}`, async () => ((await registry.get(version))?.epochsDone ?? 0) >= epochs, { timeoutMs: 100_000, intervalMs: 50 });
  }

  /** The latest checkpoint's users and titles: each key once, every user and title of the data there. */
  async function checkRows(version: string): Promise<void> {
    const blobs = await openCheckpointStore(c.nc, c.prefix);
    const cp = (await latestCheckpoint(blobs, version))!;
    for (const [kind, want] of [['user', new Set(train.map((r) => r.user))], ['title', new Set(train.map((r) => r.item))]] as const) {
      const keys = cp.parts.filter((p) => p.kind === kind).flatMap((p) => p.part.keys);
      expect(new Set(keys).size, `${kind} keys are unique`).toBe(keys.length);
      expect(keys.length).toBe(want.size);
    }
  }

  it('a node that joins mid-training takes over shards; the job starts again from its checkpoint on three workers and no row is lost or doubled', async () => {
    const running = runReel(['train', ...flags(), '--model', 'mf', '--epochs', '10', ...HP, '--workers', '2', '--model-version', 'join3', '--worker-timeout', '3', '--json'], { timeoutMs: 120_000 });
    await waitEpochs('join3', 3);
    await c.addNode('n3');
    const run = await running;
    expect(run.code, run.stderr).toBe(0);
    const st = JSON.parse(run.stdout) as { state: string; workers: string[]; restarts: string[] };
    expect(st.state).toBe('done');
    expect(st.workers).toEqual(['n1', 'n2', 'n3']);
    expect(st.restarts.join('\n')).toMatch(/shards changed/);
    await checkRows('join3');
    const dist = await testRmse(c, 'join3', test);
    expect(Math.abs(dist - localRmse), `after a join ${dist}, local ${localRmse}`).toBeLessThan(0.01);
  });

  it('a node killed mid-training: the job resumes from its last checkpoint on the nodes that remain and reaches the undisturbed RMSE', async () => {
    await c.waitBalanced();
    const running = runReel(['train', ...flags(), '--model', 'mf', '--epochs', '10', ...HP, '--model-version', 'kill', '--worker-timeout', '2', '--json'], { timeoutMs: 120_000 });
    await waitEpochs('kill', 3);
    c.nodes.get('n3')!.kill('SIGKILL');
    const run = await running;
    expect(run.code, run.stderr).toBe(0);
    const st = JSON.parse(run.stdout) as { state: string; workers: string[]; restarts: string[] };
    expect(st.state).toBe('done');
    expect(st.workers).toEqual(['n1', 'n2']);
    // n3's silence or its shards moving to the others, whichever the coordinator sees first.
    expect(st.restarts.length).toBeGreaterThan(0);
    await checkRows('kill');
    const [killed, undisturbed] = [await testRmse(c, 'kill', test), await testRmse(c, 'bsp2', test)];
    expect(Math.abs(killed - undisturbed), `killed ${killed}, undisturbed ${undisturbed}`).toBeLessThan(0.003);
  });

  it('two workers train BPR (SSP, one clock of staleness) on every interaction: its top-10 on u1.test is as good as the single-process kernel\'s with the same hyperparameters', async () => {
    const epochs = 20;
    const run = await runReel(['train', ...flags(), '--model', 'bpr', '--epochs', String(epochs), '--factors', '32', '--lr', '0.05', '--lr-decay', '0.97', '--reg', '0.02', '--seed', '7', '--validation-fraction', '0', '--consistency', 'ssp:1', '--model-version', 'bpr2', '--json'], { timeoutMs: 120_000 });
    expect(run.code, run.stderr).toBe(0);
    expect((JSON.parse(run.stdout) as { state: string }).state).toBe('done');
    const trainTable = await ratingsTableFrom(train);
    const testTable = await ratingsTableFrom(test, { userIds: trainTable.userIds, itemIds: trainTable.itemIds });
    const opts = { ks: [10], train: userItemsOf(trainTable, trainTable.userCount) };
    const truth = userItemsOf(testTable, trainTable.userCount);
    const local = trainBpr(trainTable, { factors: 32, lr: 0.05, lrDecay: 0.97, reg: 0.02, regBias: 0.01, initStd: 0.1 }, { epochs, seed: 7, kernel: wasmBprKernel });
    const [localTop] = evaluateTopK(bprScorer(local), truth, opts);
    const blobs = await openCheckpointStore(c.nc, c.prefix);
    const m = TrainedModel.fromCheckpoint((await latestCheckpoint(blobs, 'bpr2'))!);
    const users = Array.from({ length: trainTable.userCount }, (_, u) => String(trainTable.userIds.idOf(u)));
    const items = Array.from({ length: trainTable.itemCount }, (_, i) => String(trainTable.itemIds.idOf(i)));
    const [distTop] = evaluateTopK({ items: items.length, score: (u, out) => items.forEach((t, i) => (out[i] = m.score(users[u]!, t))) }, truth, opts);
    expect(localTop!.recall).toBeGreaterThan(0.1);
    expect(distTop!.recall, `distributed recall@10 ${distTop!.recall}, local ${localTop!.recall}`).toBeGreaterThan(0.9 * localTop!.recall);
    expect(distTop!.ndcg, `distributed ndcg@10 ${distTop!.ndcg}, local ${localTop!.ndcg}`).toBeGreaterThan(0.9 * localTop!.ndcg);
  });

  it('a bad job is a usage error (exit 2): unknown model, zero epochs, negative factors, a version that exists, a model that trains in one process only', async () => {
    for (const bad of [['--model', 'nope'], ['--model', 'mf', '--epochs', '0'], ['--model', 'mf', '--factors', '-3'], ['--model', 'mf', '--title-update', 'adam'], ['--model', 'mf', '--adagrad-step', '0']]) {
      const run = await runReel(['train', ...flags(), ...bad], { timeoutMs: 30_000 });
      expect(run.code, `${bad.join(' ')}: ${run.stderr}`).toBe(2);
      expect(run.stderr).toMatch(/--model|--epochs|--factors|--title-update|--adagrad-step/);
    }
    const again = await runReel(['train', ...flags(), '--model', 'mf', '--model-version', 'bsp2'], { timeoutMs: 30_000 });
    expect(again.code, again.stderr).toBe(2);
    expect(again.stderr).toContain('model version bsp2 exists already');
    const svdpp = await runReel(['train', ...flags(), '--model', 'svdpp'], { timeoutMs: 30_000 });
    expect(svdpp.code).toBe(2);
    expect(svdpp.stderr).toMatch(/does not train across nodes/);
  });
});
