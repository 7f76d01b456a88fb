/**
 * `npm run bench:train`: training speed, in this process and across node processes.
 *
 * Local (one thread, this process, through `trainMf`, the entry point training uses):
 * - `local_sgd_updates_per_s`: MF-SGD at 32 factors, 20 epochs over ml-100k `u1.base`
 *   reshuffled every epoch, WebAssembly SIMD kernel, median of 3 runs, timed around each epoch;
 *   the RMSE on `u1.test` beside it; the TypeScript reference's rate for comparison; the same
 *   on a synthetic set of 10 million ratings;
 * - `als_epoch_s` (one sweep, users then titles) and `bpr_samples_per_s` at 64 factors, on
 *   `u.data` and on the synthetic set;
 * - `lightgcn_epoch_s`: LightGCN on `u.data` (64 dimensions, 3 layers, BPR mini-batches of
 *   2,048 with one propagation forward and one back each, the WebAssembly kernel), the median
 *   of epochs 2-4. `--part lightgcn` runs the LightGCN figures alone and updates them in the JSON.
 * - `lightgcn_epoch_s_w2`: the same on 2 node processes (`reel train --model lightgcn`, one
 *   exchange between shards per layer), the median of epochs 2-4, with the share of the
 *   workers' time in compute, NATS and barrier waits (`lightgcn_share_w2`);
 * - distributed equals local: LightGCN by 2 workers on the RecBole protocol's training part of
 *   `u.data` (80/10/10 by user, seed 2020), NDCG@10 on its test part
 *   (`lightgcn_dist_ndcg_at_10_w2`), against the single-process trainer with the same seed and
 *   hyperparameters and the spread over 3 seeds (`lightgcn_local_ndcg_at_10_seeds`).
 *
 * Distributed (a nats-server, `reel node` processes, `reel load`, `reel train`):
 * - `dist_rmse_w2`: MF by 2 workers (BSP) on `u1.base`, scored on `u1.test`, against
 *   `local_rmse`, the single-process kernel with the same hyperparameters and epochs, and the
 *   spread of the local RMSE over 3 seeds;
 * - `dist_updates_per_s_w1` and `_w2` on a synthetic set, with `w2/w1` and `w1` over the local
 *   kernel's rate on the same data, and the share of the workers' time in compute, encoding,
 *   NATS and barrier waits.
 *
 * Prints a table and writes `bench/results/train.json`.
 */
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect } from '@nats-io/transport-node';
import { latestCheckpoint, TrainedModel, type EpochSummary } from '../actors/training/index.js';
import type { LoadSummary } from '../cli/load.js';
import { openCheckpointStore } from '../cluster/index.js';
import { readRatings } from '../data/movielens.js';
import { syntheticSet, type SyntheticSet } from '../data/synthetic.js';
import {
  evaluateTopK, lightGcnScorer, MF_KERNELS, predictTable, ratingsTableFrom, RatingsTableBuilder, rmse, splitByUserRatio, trainAls, trainBpr, trainLightGcn, trainMf, userItemsOf, wasmAlsKernel, wasmBprKernel,
  type LightGcnHyperparameters, type MfHyperparameters, type MfKernel, type RatingsTable, type Scorer,
} from '../models/index.js';
import { TOPK_SPLIT_RATIOS, TOPK_SPLIT_SEED } from './quality-topk.js';
import { startNatsServer, uniquePrefix } from '../test/harness/nats-server.js';
import { runReel, startNodeProcess, type NodeProcess } from '../test/harness/processes.js';
import { alive, fmt, killAll, live, median, printTable, progress, runBench, targetCells, writeResults, type Target } from './common.js';

const ML100K = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'shared', 'datasets', 'ml-100k');
const SEED = 1;
/** Hyperparameters of every MF run here (the distributed and local ones compare like for like). */
const HP: Required<Pick<MfHyperparameters, 'factors' | 'lr' | 'lrDecay' | 'regFactor' | 'regBias' | 'initStd'>> = { factors: 32, lr: 0.02, lrDecay: 0.93, regFactor: 0.05, regBias: 0.01, initStd: 0.05 };
const SPEED_EPOCHS = 20;
const SPEED_RUNS = 3;
const DIST_EPOCHS = 20;
/** The large synthetic set of the local figures. */
const SYN_LARGE = { users: 100_000, items: 10_000, ratings: 10_000_000, seed: 7 };
/**
 * The synthetic set loaded into the cluster for the speed runs: 1 million ratings by default
 * (`reel load` sends about 25,000 ratings/s here, so 10 million take 7 minutes to load);
 * `BENCH_DIST_RATINGS=10000000` runs the 10 million (100,000 users, 10,000 titles).
 */
const DIST_RATINGS = Number(process.env.BENCH_DIST_RATINGS ?? 10_000_000);
const SYN_DIST = DIST_RATINGS >= 10_000_000 ? { users: 100_000, items: 10_000, ratings: DIST_RATINGS, seed: 11 } : { users: 20_000, items: 4_000, ratings: DIST_RATINGS, seed: 11 };
const DIST_SYN_EPOCHS = 6;
/** Job flags of the speed runs (`BENCH_DIST_FLAGS` overrides, for tuning). */
const DIST_SYN_FLAGS = (process.env.BENCH_DIST_FLAGS ?? '--clocks-per-epoch 1').split(' ').filter(Boolean);
const TARGETS: Record<string, Target> = {
  local_sgd_updates_per_s: { op: '>=', value: 60e6 },
  dist_w2_over_w1: { op: '>=', value: 1.6 },
  dist_w1_over_local: { op: '>=', value: 0.5 },
  dist_rmse_gap: { op: '<=', value: 0.003 },
  lightgcn_epoch_s: { op: '<=', value: 1.0 },
};

/** LightGCN's speed runs: the setting (64 dimensions, 3 layers, batches of 2,048). */
const GCN_SPEED: LightGcnHyperparameters = { factors: 64, layers: 3, batchSize: 2048, lr: 0.005, initStd: 0.01, reg: 0.001 };
/** LightGCN's distributed-equals-local runs: the hyperparameters and epochs `bench:quality` chose on validation. */
const GCN_QUALITY: Required<Pick<LightGcnHyperparameters, 'factors' | 'layers' | 'batchSize' | 'lr' | 'initStd' | 'reg'>> & { epochs: number } = { factors: 64, layers: 3, batchSize: 2048, lr: 0.005, initStd: 0.01, reg: 0.001, epochs: 60 };

/** `reel train` flags of a LightGCN job with hyperparameters `h`. */
function gcnFlags(h: LightGcnHyperparameters, epochs: number): string[] {
  return ['--model', 'lightgcn', '--epochs', String(epochs), '--factors', String(h.factors), '--layers', String(h.layers), '--batch-size', String(h.batchSize), '--lr', String(h.lr),
    '--reg', String(h.reg), '--init-std', String(h.initStd), '--seed', String(SEED), '--validation-fraction', '0', '--timeout', '120', '--json'];
}

/** Writes `t`'s rows as a `u.data` file (user, title, rating, time; tab-separated) for `reel load`. */
function writeUData(t: RatingsTable, file: string): void {
  const lines: string[] = [];
  for (let j = 0; j < t.n; j++) lines.push(`${t.userIds.idOf(t.users[j]!)}\t${t.itemIds.idOf(t.items[j]!)}\t${t.ratings[j]}\t${880_000_000 + j}`);
  writeFileSync(file, lines.join('\n') + '\n');
}

/**
 * LightGCN on 2 node processes: the epoch time on `u.data`, then distributed equals local on
 * the RecBole protocol's split (the trained version's rows scored as serving scores them).
 */
async function lightGcnDistributed(work: string, out: Record<string, unknown>): Promise<void> {
  progress('distributed: LightGCN, 2 nodes, u.data');
  const a = await cluster('bench-train-gcn');
  try {
    await a.add('n1');
    await a.add('n2');
    await a.reel(['load', '--data', join(ML100K, 'u.data')]);
    await a.balanced();
    const r = await a.reel(['train', ...gcnFlags(GCN_SPEED, 4), '--model-version', 'gcnspeed', '--workers', '2', '--clocks-per-epoch', '1']);
    const h = (JSON.parse(r.stdout) as { history: EpochSummary[] }).history;
    out.lightgcn_epoch_s_w2 = Number(median(h.slice(1).map((e) => e.seconds)).toFixed(3));
    out.lightgcn_share_w2 = shares(h);
  } finally {
    await a.stop();
  }

  progress('distributed: LightGCN, 2 nodes, RecBole split of u.data: distributed equals local');
  const all = await ratingsTableFrom(readRatings(join(ML100K, 'u.data')));
  const { train, test } = splitByUserRatio(all, TOPK_SPLIT_RATIOS, TOPK_SPLIT_SEED);
  const file = join(work, 'recbole-train.data');
  writeUData(train, file);
  const truth = userItemsOf(test, train.userCount);
  const opts = { ks: [10], train: userItemsOf(train, train.userCount) };
  const ndcg = (s: Scorer) => evaluateTopK(s, truth, opts)[0]!.ndcg;
  const { epochs, ...hp } = GCN_QUALITY;
  const b = await cluster('bench-train-gcnq');
  try {
    await b.add('n1');
    await b.add('n2');
    await b.reel(['load', '--data', file]);
    await b.balanced();
    await b.reel(['train', ...gcnFlags(hp, epochs), '--model-version', 'gcnq', '--workers', '2']);
    const m = await b.model('gcnq');
    const items = Array.from({ length: train.itemCount }, (_, i) => train.itemIds.idOf(i));
    out.lightgcn_dist_ndcg_at_10_w2 = Number(ndcg({ items: items.length, score: (u, o) => {
      const user = train.userIds.idOf(u);
      items.forEach((t, i) => (o[i] = m.score(user, t)));
    } }).toFixed(4));
  } finally {
    await b.stop();
  }
  const seeds = [SEED, SEED + 1, SEED + 2].map((seed) => Number(ndcg(lightGcnScorer(trainLightGcn(train, hp, { epochs, seed }))).toFixed(4)));
  out.lightgcn_local_ndcg_at_10 = seeds[0];
  out.lightgcn_local_ndcg_at_10_seeds = seeds;
  out.lightgcn_local_ndcg_seed_spread = Number((Math.max(...seeds) - Math.min(...seeds)).toFixed(4));
  out.lightgcn_dist_ndcg_gap = Number(Math.abs((out.lightgcn_dist_ndcg_at_10_w2 as number) - seeds[0]!).toFixed(4));
  out.lightgcn_dist_hyperparameters = GCN_QUALITY;
}

function gcnRows(out: Record<string, unknown>): string[][] {
  const share = out.lightgcn_share_w2 as EpochSummary['share'] | undefined;
  const bound = Math.max(0.005, (out.lightgcn_local_ndcg_seed_spread as number | undefined) ?? 0);
  return [
    ['LightGCN epoch s (64 dims, 3 layers, u.data)', fmt(out.lightgcn_epoch_s as number, 3), ...targetCells(out.lightgcn_epoch_s as number, TARGETS.lightgcn_epoch_s, 3)],
    ['  the same on 2 node processes', fmt(out.lightgcn_epoch_s_w2 as number, 3), '', ''],
    ['  time, 2 workers', share ? `compute ${(share.compute * 100).toFixed(0)}%, NATS ${(share.nats * 100).toFixed(0)}%, barrier waits ${(share.wait * 100).toFixed(0)}%` : '', '', ''],
    ['LightGCN NDCG@10 (RecBole split), 2 workers', fmt(out.lightgcn_dist_ndcg_at_10_w2 as number, 4), '', ''],
    ['  one process, same seed', fmt(out.lightgcn_local_ndcg_at_10 as number, 4), '', ''],
    ['  |2 workers − one process|', fmt(out.lightgcn_dist_ndcg_gap as number, 4), ...targetCells(out.lightgcn_dist_ndcg_gap as number, { op: '<=', value: bound }, 4)],
    ['  one process, spread over 3 seeds', fmt(out.lightgcn_local_ndcg_seed_spread as number, 4), '', ''],
  ];
}

/** Seconds per LightGCN epoch on `table`: the median of epochs 2-4 (the first warms the JIT). */
function lightGcnEpochSeconds(table: RatingsTable): number {
  const times: number[] = [];
  let last = performance.now();
  trainLightGcn(table, GCN_SPEED, {
    epochs: 4,
    seed: SEED,
    onEpoch: () => {
      const now = performance.now();
      times.push((now - last) / 1000);
      last = now;
    },
  });
  return median(times.slice(1));
}

function tableOf(s: SyntheticSet): RatingsTable {
  const b = new RatingsTableBuilder();
  for (let j = 0; j < s.rating.length; j++) b.add(String(s.user[j]! + 1), String(s.item[j]! + 1), s.rating[j]!);
  return b.build();
}

/** Updates/s of `trainMf` (timed around each epoch alone) and the model. */
function mfRun(table: RatingsTable, epochs: number, kernel: MfKernel, seed = SEED) {
  let seconds = 0;
  const t0 = performance.now();
  const model = trainMf(table, HP, { epochs, seed, kernel, onEpoch: (r) => void (seconds += r.seconds) });
  const wall = (performance.now() - t0) / 1000;
  // Kernel alone, and whole epochs (with each epoch's shuffle and the model's setup), as a worker's epoch is timed.
  return { model, updatesPerS: (table.n * epochs) / seconds, epochUpdatesPerS: (table.n * epochs) / wall };
}

function speed(table: RatingsTable, kernel: MfKernel, runs: number): number {
  mfRun(table, 1, kernel); // warm-up
  return median(Array.from({ length: runs }, () => mfRun(table, SPEED_EPOCHS, kernel).updatesPerS));
}

function alsEpochSeconds(table: RatingsTable): number {
  let last = performance.now();
  const times: number[] = [];
  trainAls(table, { factors: 64 }, { epochs: 3, seed: SEED, kernel: wasmAlsKernel, onEpoch: () => void (times.push(performance.now() - last), (last = performance.now())) });
  return median(times) / 1000;
}

function bprSamplesPerS(table: RatingsTable): number {
  const t0 = performance.now();
  const epochs = 3;
  trainBpr(table, { factors: 64 }, { epochs, seed: SEED, kernel: wasmBprKernel });
  return (table.n * epochs) / ((performance.now() - t0) / 1000);
}

/**
 * Node flags of the 10-million-rating cluster: a node loading that much alone stalls its
 * event loop past the default 3 s lease (garbage collection of a 4 GB heap), loses its
 * shards and what it had not written, and the load sends it all again, round after round.
 * A 15 s lease keeps the shards; the bench measures training, not failover.
 */
const BIG_LOAD_NODE_FLAGS = ['--lease-ms', '15000', '--renew-ms', '3000'];

/** A cluster of `reel node` processes with reel's actors, on its own nats-server. */
async function cluster(label: string, nodeFlags: string[] = []) {
  const server = (live.server = await startNatsServer());
  const prefix = uniquePrefix(label);
  const nodes = new Map<string, NodeProcess>();
  const flags = ['--nats', server.url, '--prefix', prefix];
  const add = async (id: string) => {
    const p = startNodeProcess(['node', ...flags, '--id', id, '--shard-count', '64', ...nodeFlags], { readyTimeoutMs: 60_000 });
    live.children.push(p);
    nodes.set(id, p);
    await p.ready;
  };
  const reel = async (args: string[]) => {
    const r = await runReel([...args, ...flags], { timeoutMs: 3_600_000 });
    if (r.code !== 0) throw new Error(`reel ${args.join(' ')} exited ${r.code}: ${r.stderr.slice(-2000)}`);
    return r;
  };
  const train = async (version: string, workers: number, epochs: number, extra: string[] = []) => {
    const r = await reel(['train', '--model', 'mf', '--model-version', version, '--workers', String(workers), '--epochs', String(epochs), '--factors', String(HP.factors), '--lr', String(HP.lr),
      '--lr-decay', String(HP.lrDecay), '--reg', String(HP.regFactor), '--reg-bias', String(HP.regBias), '--init-std', String(HP.initStd), '--seed', String(SEED), '--validation-fraction', '0', '--timeout', '120', '--json', ...extra]);
    return JSON.parse(r.stdout) as { history: EpochSummary[] };
  };
  /** A trained version's rows, from its last checkpoint. */
  const model = async (version: string) => {
    const nc = await connect({ servers: server.url });
    try {
      return TrainedModel.fromCheckpoint((await latestCheckpoint(await openCheckpointStore(nc, prefix), version))!);
    } finally {
      await nc.close();
    }
  };
  const scoreOn = async (version: string, test: Array<{ user: string; item: string; rating: number }>) => {
    const m = await model(version);
    return rmse(test.map((r) => m.predict(r.user, r.item)), test.map((r) => r.rating));
  };
  const stop = async () => {
    for (const p of nodes.values()) if (alive(p)) p.child.kill('SIGKILL');
    await Promise.all([...nodes.values()].map((p) => p.exited));
    await server.stop();
    live.server = undefined;
    live.children.length = 0;
  };
  /** Waits until every shard is owned where placement puts it, no handoff in flight (a job started during a rebalance would restart). */
  const balanced = async () => {
    for (let delay = 100; ; delay = Math.min(2_000, delay * 2)) {
      // Exit 3 while degraded: the report is read whatever the code.
      const r = JSON.parse((await runReel(['status', '--json', ...flags], { timeoutMs: 60_000 })).stdout) as { healthy: boolean; misplaced: unknown[]; nodes: Array<{ handingOff: number }> };
      if (r.healthy && r.misplaced.length === 0 && r.nodes.every((n) => n.handingOff === 0)) return;
      await new Promise((res) => setTimeout(res, delay));
    }
  };
  return { add, reel, train, model, scoreOn, stop, balanced };
}

/** Updates/s of a distributed run: ratings × epochs over the epochs' wall time (barrier to checkpoint), the first epoch left out (activation, JIT). */
function distRate(history: EpochSummary[]): number {
  const steady = history.slice(1);
  const seconds = steady.reduce((s, e) => s + e.seconds, 0);
  const updates = steady.reduce((s, e) => s + e.updatesPerS * e.seconds, 0);
  return updates / seconds;
}

function shares(history: EpochSummary[]): EpochSummary['share'] {
  const steady = history.slice(1);
  const mean = (k: keyof EpochSummary['share']) => steady.reduce((s, e) => s + e.share[k], 0) / steady.length;
  return { compute: mean('compute'), encode: mean('encode'), nats: mean('nats'), wait: mean('wait') };
}

/** Runs `fn` with a fresh work directory, removed afterwards whatever happens. */
async function inWorkDir(fn: (work: string) => Promise<void>): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'reel-bench-train-'));
  try {
    await fn(work);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const out: Record<string, unknown> = { factors: HP.factors, hyperparameters: HP, seed: SEED };
  // `--part dist-speed` runs that part alone (for tuning; nothing is written).
  const only = process.argv.includes('--part') ? process.argv[process.argv.indexOf('--part') + 1] : undefined;
  if (only === 'lightgcn' || only === 'lightgcn-epoch') {
    // One figure, updated in the results the last whole run wrote.
    const udata = await ratingsTableFrom(readRatings(join(ML100K, 'u.data')));
    const file = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', 'results', 'train.json');
    const kept = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>) : {};
    const gcn: Record<string, unknown> = { ...kept, lightgcn_epoch_s: Number(lightGcnEpochSeconds(udata).toFixed(3)) };
    // `--part lightgcn-epoch`: the one-process epoch alone.
    if (only === 'lightgcn') await inWorkDir((work) => lightGcnDistributed(work, gcn));
    printTable(['figure', 'value', 'target', 'met?'], gcnRows(gcn));
    writeResults('train.json', gcn);
    return;
  }
  if (only === 'dist-speed') {
    await inWorkDir((work) => distSpeed(work, out));
    console.log(JSON.stringify(out, null, 2));
    return;
  }

  // ---- local ----
  progress('local: ml-100k u1.base');
  const train = await ratingsTableFrom(readRatings(join(ML100K, 'u1.base')));
  const testRows: Array<{ user: string; item: string; rating: number }> = [];
  for await (const r of readRatings(join(ML100K, 'u1.test'))) testRows.push(r);
  const test = await ratingsTableFrom(testRows, train);
  const wasm = speed(train, MF_KERNELS.wasm, SPEED_RUNS);
  const ts = speed(train, MF_KERNELS.ts, 1);
  const localRmses = [1, 2, 3].map((seed) => rmse(predictTable(mfRun(train, DIST_EPOCHS, MF_KERNELS.wasm, seed).model, test), test.ratings));
  const udata = await ratingsTableFrom(readRatings(join(ML100K, 'u.data')));
  out.local_sgd_updates_per_s = Math.round(wasm);
  out.local_sgd_rmse_u1 = Number(rmse(predictTable(mfRun(train, SPEED_EPOCHS, MF_KERNELS.wasm).model, test), test.ratings).toFixed(4));
  out.local_sgd_epochs = SPEED_EPOCHS;
  out.ts_sgd_updates_per_s = Math.round(ts);
  out.als_epoch_s_udata = Number(alsEpochSeconds(udata).toFixed(3));
  out.bpr_samples_per_s_udata = Math.round(bprSamplesPerS(udata));
  out.lightgcn_epoch_s = Number(lightGcnEpochSeconds(udata).toFixed(3));

  progress(`local: synthetic, ${SYN_LARGE.ratings.toLocaleString('en-US')} ratings`);
  const large = syntheticSet(SYN_LARGE);
  const largeTable = tableOf(large);
  const largeRun = mfRun(largeTable, SPEED_EPOCHS, MF_KERNELS.wasm);
  out.local_sgd_updates_per_s_synthetic = Math.round(largeRun.updatesPerS);
  out.local_sgd_train_rmse_synthetic = Number(rmse(predictTable(largeRun.model, largeTable), largeTable.ratings).toFixed(4));
  out.synthetic_achievable_rmse = Number(large.achievableRmse.toFixed(4));
  out.synthetic = SYN_LARGE;
  out.als_epoch_s = Number(alsEpochSeconds(largeTable).toFixed(2));
  out.bpr_samples_per_s = Math.round(bprSamplesPerS(largeTable));

  // ---- distributed: quality on u1 ----
  progress('distributed: 2 nodes, u1.base, BSP');
  await inWorkDir(async (work) => {
    const a = await cluster('bench-train-u1');
    try {
      await a.add('n1');
      await a.add('n2');
      await a.reel(['load', '--data', join(ML100K, 'u1.base')]);
      await a.train('u1w2', 2, DIST_EPOCHS);
      const distRmse = await a.scoreOn('u1w2', testRows);
      out.dist_rmse_w2 = Number(distRmse.toFixed(4));
      out.local_rmse = Number(localRmses[0]!.toFixed(4));
      out.local_rmse_seeds = localRmses.map((x) => Number(x.toFixed(4)));
      out.local_rmse_seed_spread = Number((Math.max(...localRmses) - Math.min(...localRmses)).toFixed(4));
      out.dist_rmse_gap = Number(Math.abs(distRmse - localRmses[0]!).toFixed(4));
      out.dist_epochs = DIST_EPOCHS;
    } finally {
      await a.stop();
    }

    await distSpeed(work, out);
    await lightGcnDistributed(work, out);
  });

  const row = (name: string, key: string, digits: number): string[] => [name, fmt(out[key] as number, digits), ...targetCells(out[key] as number, TARGETS[key], digits)];
  const pct = (s: EpochSummary['share']) => `compute ${(s.compute * 100).toFixed(0)}%, encode ${(s.encode * 100).toFixed(0)}%, NATS ${(s.nats * 100).toFixed(0)}%, waits ${(s.wait * 100).toFixed(0)}%`;
  printTable(
    ['figure', 'value', 'target', 'met?'],
    [
      row('local SGD updates/s (WASM, 32 factors, u1.base)', 'local_sgd_updates_per_s', 0),
      row('  RMSE u1 after 20 epochs', 'local_sgd_rmse_u1', 4),
      row('  TypeScript reference updates/s', 'ts_sgd_updates_per_s', 0),
      row('local SGD updates/s (synthetic 10M)', 'local_sgd_updates_per_s_synthetic', 0),
      row('ALS epoch s (64 factors, u.data)', 'als_epoch_s_udata', 3),
      row('ALS epoch s (64 factors, synthetic 10M)', 'als_epoch_s', 2),
      row('BPR samples/s (64 factors, u.data)', 'bpr_samples_per_s_udata', 0),
      row('BPR samples/s (64 factors, synthetic 10M)', 'bpr_samples_per_s', 0),
      row('dist RMSE u1, 2 workers BSP', 'dist_rmse_w2', 4),
      row('local RMSE u1, same hyperparameters', 'local_rmse', 4),
      row('  |dist − local|', 'dist_rmse_gap', 4),
      row('  local RMSE spread over 3 seeds', 'local_rmse_seed_spread', 4),
      row('reel load of the synthetic set into one node, s', 'dist_load_s', 0),
      ['  ratings sent again (shards taken over during the load)', out.dist_load_resent ? `${fmt((out.dist_load_resent as { ratings: number }).ratings, 0)} (${fmt((out.dist_load_resent as { applied: number }).applied, 0)} had been lost)` : 'none', '', ''],
      row(`dist updates/s, 1 worker (synthetic ${(SYN_DIST.ratings / 1e6).toLocaleString('en-US')}M)`, 'dist_updates_per_s_w1', 0),
      row('dist updates/s, 2 workers', 'dist_updates_per_s_w2', 0),
      row('  w2 / w1', 'dist_w2_over_w1', 2),
      row('  local kernel updates/s, same data', 'dist_local_updates_per_s', 0),
      row('  w1 / local', 'dist_w1_over_local', 2),
      row('  local updates/s, whole epochs (with the shuffle)', 'dist_local_epoch_updates_per_s', 0),
      row('  w1 / local whole epochs', 'dist_w1_over_local_epoch', 2),
      ['  time, 1 worker', pct(out.dist_share_w1 as EpochSummary['share']), '', ''],
      ['  time, 2 workers', pct(out.dist_share_w2 as EpochSummary['share']), '', ''],
      ...gcnRows(out),
    ],
  );
  writeResults('train.json', out);
}

/** Distributed speed on a synthetic set: 1 worker, then 2. */
async function distSpeed(work: string, out: Record<string, unknown>): Promise<void> {
    // ---- distributed: speed on a synthetic set, 1 then 2 workers ----
  progress(`distributed: synthetic, ${SYN_DIST.ratings.toLocaleString('en-US')} ratings, 1 then 2 workers`);
  const syn = syntheticSet(SYN_DIST);
  const file = join(work, 'synthetic.tsv');
  writeFileSync(file, '');
  let lines: string[] = [];
  for (const r of syn.ratings()) {
    lines.push(`${r.user}\t${r.item}\t${r.rating}\t${r.time}\n`);
    if (lines.length === 1_000_000) (appendFileSync(file, lines.join('')), (lines = []));
  }
  appendFileSync(file, lines.join(''));
  const synTable = tableOf(syn);
  const local = speedOnce(synTable);
  out.dist_local_updates_per_s = Math.round(local.updatesPerS);
  out.dist_local_epoch_updates_per_s = Math.round(local.epochUpdatesPerS);
  const b = await cluster('bench-train-syn', BIG_LOAD_NODE_FLAGS);
  out.dist_node_flags = BIG_LOAD_NODE_FLAGS.join(' ');
  try {
    await b.add('n1');
    const t0 = performance.now();
    // --no-flush: the actors' snapshots are not needed to train, and writing 110,000 of them from
    // one node took longer than the flush's 120 s deadline here (a finding of its own).
    const loaded = JSON.parse((await b.reel(['load', '--data', file, '--json', '--no-flush'])).stdout) as LoadSummary;
    out.dist_load_s = Number(((performance.now() - t0) / 1000).toFixed(1));
    // A node that lost its leases during the load lost what it had not written: the load sent those records again.
    out.dist_load_resent = loaded.resent ?? null;
    const w1 = await b.train('synw1', 1, DIST_SYN_EPOCHS, DIST_SYN_FLAGS);
    await b.add('n2');
    await b.balanced();
    const w2 = await b.train('synw2', 2, DIST_SYN_EPOCHS, DIST_SYN_FLAGS);
    if (process.env.BENCH_VERBOSE) console.error(JSON.stringify({ w1: w1.history, w2: w2.history }));
    // Every rating loaded trains once per epoch, or the rates below measure other data.
    for (const [name, h] of [['w1', w1.history], ['w2', w2.history]] as const) {
      const trained = Math.round(h[h.length - 1]!.updatesPerS * h[h.length - 1]!.seconds);
      out[`dist_ratings_per_epoch_${name}`] = trained;
      if (trained !== SYN_DIST.ratings) throw new Error(`the ${name} run trained ${trained} ratings an epoch, not the ${SYN_DIST.ratings} loaded`);
    }
    const r1 = distRate(w1.history);
    const r2 = distRate(w2.history);
    out.dist_dataset = SYN_DIST;
    out.dist_updates_per_s_w1 = Math.round(r1);
    out.dist_updates_per_s_w2 = Math.round(r2);
    out.dist_w2_over_w1 = Number((r2 / r1).toFixed(2));
    out.dist_w1_over_local = Number((r1 / (out.dist_local_updates_per_s as number)).toFixed(2));
    out.dist_w1_over_local_epoch = Number((r1 / (out.dist_local_epoch_updates_per_s as number)).toFixed(2));
    out.dist_share_w1 = shares(w1.history);
    out.dist_share_w2 = shares(w2.history);
  } finally {
    await b.stop();
  }
}

function speedOnce(table: RatingsTable): { updatesPerS: number; epochUpdatesPerS: number } {
  return mfRun(table, DIST_SYN_EPOCHS, MF_KERNELS.wasm);
}

runBench(main, { limitMs: 3_000_000, cleanup: killAll });
