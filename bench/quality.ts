/**
 * `npm run bench:quality`: offline quality on ml-100k, both halves.
 * - explicit rating prediction: RMSE and MAE on the five u1..u5 folds, per model (MF, SVD++,
 *   and a blend fit on validation), one configuration per model chosen on a validation part;
 * - top-K with the protocol of RecBole's ml-100k quick start, per model (popularity, MF, ALS,
 *   BPR), the best chosen on validation.
 * - the cold-start protocol (`quality-cold.ts`): a seeded 10 % of titles held out entirely and
 *   ranked against each other, Recall@20 and NDCG@20 of the baselines (random, genre
 *   affinity, genre affinity × year prior) and of the content-aware model, against its
 *   targets: at least 1.2 × the better genre baseline and 3 × random.
 * Prints the tables and writes `bench/results/quality.json`: the best models' figures at the
 * top level, every model's under `models.<name>` (its explicit and its top-K figures side by
 * side where it has both), the cold-start figures as `cold_*`. A run of one part (`--part`)
 * updates that part's figures in the file and keeps the others'.
 *
 *   npm run bench:quality [-- DATA_DIR] [-- --part explicit|topk|cold]
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fmt, printTable, progress, runBench, targetCells, writeResults, type Target } from './common.js';
import { explicitQuality, type ExplicitQualityResult } from './quality-explicit.js';
import { topKQuality, type TopKQualityResult } from './quality-topk.js';
import { coldQuality } from './quality-cold.js';
import { existsSync, readFileSync } from 'node:fs';

const ML100K = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'shared', 'datasets', 'ml-100k');
const TARGETS: Record<string, Target> = {
  rmse_u1: { op: '<=', value: 0.91 },
  rmse_u1_u5_mean: { op: '<=', value: 0.905 },
  ndcg_at_10: { op: '>=', value: 0.28 },
  recall_at_10: { op: '>=', value: 0.24 },
};

function explicitTable(r: ExplicitQualityResult): void {
  printTable(
    ['explicit (RMSE)', 'valid', 'u1', 'u2', 'u3', 'u4', 'u5', 'mean ± std', 'MAE u1', 'MAE mean'],
    Object.entries(r.models).map(([name, m]) => [
      name + (name === r.best ? ' *' : ''),
      fmt(m.validation_rmse, 4),
      ...m.rmse_folds.map((x) => fmt(x, 4)),
      `${fmt(m.rmse_u1_u5_mean, 4)} ± ${fmt(m.rmse_u1_u5_std, 4)}`,
      fmt(m.mae_u1, 4),
      fmt(m.mae_u1_u5_mean, 4),
    ]),
  );
}

function topKTable(r: TopKQualityResult): void {
  const cols = ['recall_at_10', 'ndcg_at_10', 'recall_at_20', 'ndcg_at_20', 'mrr_at_10', 'hit_at_10', 'coverage_at_10', 'validation_ndcg_at_10'] as const;
  printTable(['top-K (RecBole protocol)', ...cols], Object.entries(r.models).map(([name, m]) => [name + (name === r.best ? ' *' : ''), ...cols.map((c) => fmt(m[c], 4))]));
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const partAt = args.indexOf('--part');
  const part = partAt >= 0 ? args.splice(partAt, 2)[1] : undefined;
  const dataDir = args[0] ?? ML100K;
  const t0 = performance.now();
  if (part !== undefined && !['explicit', 'topk', 'cold'].includes(part)) throw new Error(`--part must be explicit, topk or cold (got "${part}")`);
  const runs = (p: string) => part === undefined || part === p;
  const explicit = runs('explicit') ? await explicitQuality({ dataDir, log: progress }) : undefined;
  const topk = runs('topk') ? await topKQuality({ dataDir, log: progress }) : undefined;
  const cold = runs('cold') ? await coldQuality({ dataDir, log: progress }) : undefined;
  const models: Record<string, Record<string, unknown>> = {};
  for (const [name, m] of Object.entries(explicit?.models ?? {})) {
    const { config, seed, train_fingerprints, ...figures } = m;
    models[name] = { ...figures, explicit_config: config, explicit_seed: seed, explicit_train_fingerprints: train_fingerprints };
  }
  for (const [name, m] of Object.entries(topk?.models ?? {})) {
    const { config, seed, data_fingerprint, ...figures } = m;
    models[name] = { ...models[name], ...figures, topk_config: config, topk_seed: seed, topk_data_fingerprint: data_fingerprint };
  }
  console.log();
  if (explicit) explicitTable(explicit);
  console.log();
  if (topk) topKTable(topk);
  console.log();
  const best: Array<[string, number]> = [];
  if (explicit) best.push(['rmse_u1', explicit.rmse_u1], ['rmse_u1_u5_mean', explicit.rmse_u1_u5_mean], ['rmse_u1_u5_std', explicit.rmse_u1_u5_std]);
  if (topk) best.push(['recall_at_10', topk.recall_at_10], ['ndcg_at_10', topk.ndcg_at_10], ['recall_at_20', topk.recall_at_20], ['ndcg_at_20', topk.ndcg_at_20], ['coverage_at_10', topk.coverage_at_10]);
  printTable(['best model', 'value', 'target', 'met?'], best.map(([k, v]) => [k, fmt(v, 4), ...targetCells(v, TARGETS[k], 4)]));
  if (cold) {
    console.log();
    printTable(
      [`cold start (${cold.cold_held_out_titles} titles held out, seed ${cold.cold_seed}, ${cold.cold_users} users)`, 'recall_at_20', 'ndcg_at_20'],
      [
        ['random', fmt(cold.cold_recall_at_20_random, 4), fmt(cold.cold_ndcg_at_20_random, 4)],
        ['genre affinity', fmt(cold.cold_recall_at_20_genre_baseline, 4), fmt(cold.cold_ndcg_at_20_genre_baseline, 4)],
        ['genre affinity × year prior', fmt(cold.cold_recall_at_20_genre_year_baseline, 4), fmt(cold.cold_ndcg_at_20_genre_year_baseline, 4)],
        ['content-aware (LightGCN + feature encoder)', fmt(cold.cold_recall_at_20, 4), fmt(cold.cold_ndcg_at_20, 4)],
      ],
    );
    const genreBest = Math.max(cold.cold_recall_at_20_genre_baseline, cold.cold_recall_at_20_genre_year_baseline);
    printTable(
      ['cold_recall_at_20', 'value', 'target', 'met?'],
      [
        ['vs the better genre baseline', fmt(cold.cold_recall_at_20, 4), ...targetCells(cold.cold_recall_at_20, { op: '>=', value: 1.2 * genreBest }, 4)],
        ['vs random', fmt(cold.cold_recall_at_20, 4), ...targetCells(cold.cold_recall_at_20, { op: '>=', value: 3 * cold.cold_recall_at_20_random }, 4)],
      ],
    );
  }
  const seconds = (performance.now() - t0) / 1000;
  console.log(`\n${seconds.toFixed(0)} s`);
  // One part run: the other parts' figures stay as the file had them.
  const file = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', 'results', 'quality.json');
  const kept = part !== undefined && existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>) : {};
  writeResults('quality.json', {
    ...kept,
    ...(cold ?? {}),
    ...(explicit
      ? { explicit_best: explicit.best, rmse_u1: explicit.rmse_u1, rmse_u1_u5_mean: explicit.rmse_u1_u5_mean, rmse_u1_u5_std: explicit.rmse_u1_u5_std, explicit_validation: explicit.validation }
      : {}),
    ...(topk
      ? {
          topk_best: topk.best,
          recall_at_10: topk.recall_at_10,
          ndcg_at_10: topk.ndcg_at_10,
          recall_at_20: topk.recall_at_20,
          ndcg_at_20: topk.ndcg_at_20,
          coverage_at_10: topk.coverage_at_10,
          topk_protocol: topk.protocol,
          topk_split_seed: topk.split_seed,
          topk_data_fingerprint: topk.data_fingerprint,
          topk_interactions: topk.interactions,
          ...(topk.models.lightgcn ? { lightgcn_ndcg_at_10: topk.models.lightgcn.ndcg_at_10, lightgcn_recall_at_10: topk.models.lightgcn.recall_at_10, lightgcn_vs_bpr_ndcg_at_10: topk.models.lightgcn.ndcg_at_10 / topk.models.bpr!.ndcg_at_10 } : {}),
        }
      : {}),
    models: { ...((kept.models as Record<string, Record<string, unknown>> | undefined) ?? {}), ...models },
    seconds: part === undefined ? seconds : kept.seconds,
    ...(part !== undefined ? { [`seconds_${part}`]: seconds } : {}),
  });
}

runBench(main, { limitMs: 1_800_000, cleanup: () => undefined });
