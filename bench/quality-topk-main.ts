/**
 * Runs `topKQuality` (bench/quality-topk.ts) on ml-100k and prints the per-model table; writes
 * nothing. For development runs; `npm run bench:quality` composes it with the explicit half.
 *
 *   npm run build && node dist/bench/quality-topk-main.js [DATA_DIR]
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fmt, printTable, progress, runBench, targetCells, type Target } from './common.js';
import { topKQuality } from './quality-topk.js';

const ML100K = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'shared', 'datasets', 'ml-100k');
/** The targets for the best model (RecBole's published BPR: 0.2768 and 0.2368). */
const TARGETS: Record<string, Target> = { ndcg_at_10: { op: '>=', value: 0.28 }, recall_at_10: { op: '>=', value: 0.24 } };

async function main(): Promise<void> {
  const t0 = performance.now();
  const r = await topKQuality({ dataDir: process.argv[2] ?? ML100K, log: progress });
  const cols = ['recall_at_10', 'ndcg_at_10', 'recall_at_20', 'ndcg_at_20', 'mrr_at_10', 'hit_at_10', 'coverage_at_10', 'validation_ndcg_at_10'] as const;
  printTable(['model', ...cols, 'config'], Object.entries(r.models).map(([name, m]) => [name, ...cols.map((c) => fmt(m[c], 4)), JSON.stringify(m.config)]));
  console.log();
  printTable(
    ['best (' + r.best + ')', 'value', 'target', 'met?'],
    (['recall_at_10', 'ndcg_at_10', 'recall_at_20', 'ndcg_at_20', 'coverage_at_10'] as const).map((k) => [k, fmt(r[k], 4), ...targetCells(r[k], TARGETS[k], 4)]),
  );
  console.log(`\ndata ${r.data_fingerprint}, split seed ${r.split_seed}, ${((performance.now() - t0) / 1000).toFixed(0)} s`);
}

runBench(main, { limitMs: 900_000, cleanup: () => undefined });
