/**
 * Local training benchmark of the MF-SGD kernels, the plain-TypeScript reference
 * (`models/mf.ts`) and WebAssembly SIMD (`models/mf-wasm.ts`), one thread, in this process:
 *
 *   - speed: updates/s of each kernel (`ts_sgd_updates_per_s`, `wasm_sgd_updates_per_s`;
 *     `local_sgd_updates_per_s` is the faster one's), 32 factors, 20 epochs over ml-100k
 *     `u1.base` reshuffled every epoch, through `trainMf` (the entry point training uses),
 *     timed around each epoch alone; the median of 3 runs per kernel, with the RMSE on
 *     `u1.test` reached;
 *   - quality with the defaults of `reel eval`: RMSE and MAE on `u1` and the five folds
 *     `u1..u5` (mean and standard deviation).
 *
 * Prints a table and writes `bench/results/train-local.json`.
 *
 *   node dist/bench/train-local.js
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readRatings } from '../data/movielens.js';
import {
  DEFAULT_MF_EPOCHS, defaultMfHyperparameters, fingerprint, mae, predictTable, ratingsTableFrom, rmse, trainMf, tsKernel, MF_KERNELS,
  type MfHyperparameters, type MfKernel, type RatingsTable,
} from '../models/index.js';
import { fmt, median, printTable, progress, runBench, targetCells, writeResults, type Target } from './common.js';

const ML100K = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'shared', 'datasets', 'ml-100k');
const SPEED_FACTORS = 32;
const SPEED_EPOCHS = 20;
const SPEED_RUNS = 3;
const SEED = 1;
/** The targets for the best model (SVD++ or a blend may be needed) and for the kernel (WebAssembly SIMD). */
const TARGETS: Record<string, Target> = {
  rmse_u1: { op: '<=', value: 0.91 },
  rmse_u1_u5_mean: { op: '<=', value: 0.905 },
  local_sgd_updates_per_s: { op: '>=', value: 60e6 },
};

async function fold(f: number): Promise<{ train: RatingsTable; test: RatingsTable }> {
  const train = await ratingsTableFrom(readRatings(join(ML100K, `u${f}.base`)));
  const test = await ratingsTableFrom(readRatings(join(ML100K, `u${f}.test`)), train);
  return { train, test };
}

/** Trains on the fold; the model's test RMSE and MAE and the updates/s of its epochs. */
function run(d: { train: RatingsTable; test: RatingsTable }, hp: MfHyperparameters, epochs: number, kernel: MfKernel = tsKernel): { rmse: number; mae: number; updatesPerS: number } {
  let seconds = 0;
  const model = trainMf(d.train, hp, { epochs, seed: SEED, kernel, onEpoch: (r) => void (seconds += r.seconds) });
  const p = predictTable(model, d.test);
  return { rmse: rmse(p, d.test.ratings), mae: mae(p, d.test.ratings), updatesPerS: (d.train.n * epochs) / seconds };
}

async function main(): Promise<void> {
  if (!existsSync(join(ML100K, 'u1.base'))) throw new Error(`ml-100k folds not found in ${ML100K}`);
  const folds: { train: RatingsTable; test: RatingsTable }[] = [];
  for (let f = 1; f <= 5; f++) folds.push(await fold(f));

  const speedHp = { ...defaultMfHyperparameters(), factors: SPEED_FACTORS };
  const speed = Object.fromEntries(
    (Object.keys(MF_KERNELS) as (keyof typeof MF_KERNELS)[]).map((name) => {
      progress(`speed (${name}): ${SPEED_RUNS} runs of ${SPEED_EPOCHS} epochs, ${SPEED_FACTORS} factors, over u1.base`);
      run(folds[0]!, speedHp, 2, MF_KERNELS[name]); // warm the JIT up
      const runs = Array.from({ length: SPEED_RUNS }, () => run(folds[0]!, speedHp, SPEED_EPOCHS, MF_KERNELS[name]));
      return [name, { runs, updatesPerS: median(runs.map((r) => r.updatesPerS)) }];
    }),
  ) as Record<keyof typeof MF_KERNELS, { runs: ReturnType<typeof run>[]; updatesPerS: number }>;
  const fastest = speed.wasm.updatesPerS >= speed.ts.updatesPerS ? 'wasm' : 'ts';
  const updatesPerS = speed[fastest].updatesPerS;
  const speedRuns = speed[fastest].runs;

  const hp = defaultMfHyperparameters();
  progress(`quality: defaults (${JSON.stringify(hp)}, ${DEFAULT_MF_EPOCHS} epochs) on u1..u5`);
  const quality = folds.map((d, i) => {
    const r = run(d, hp, DEFAULT_MF_EPOCHS);
    progress(`u${i + 1}: RMSE ${r.rmse.toFixed(4)}, MAE ${r.mae.toFixed(4)}`);
    return r;
  });
  const rmses = quality.map((q) => q.rmse);
  const mean = rmses.reduce((a, b) => a + b) / rmses.length;
  const std = Math.sqrt(rmses.reduce((a, b) => a + (b - mean) ** 2, 0) / (rmses.length - 1));

  const out = {
    local_sgd_updates_per_s: Math.round(updatesPerS),
    local_sgd_factors: SPEED_FACTORS,
    local_sgd_epochs: SPEED_EPOCHS,
    local_sgd_runs_updates_per_s: speedRuns.map((r) => Math.round(r.updatesPerS)),
    local_sgd_rmse_u1: Number(speedRuns[0]!.rmse.toFixed(4)),
    local_sgd_kernel: fastest,
    ts_sgd_updates_per_s: Math.round(speed.ts.updatesPerS),
    wasm_sgd_updates_per_s: Math.round(speed.wasm.updatesPerS),
    wasm_over_ts: Number((speed.wasm.updatesPerS / speed.ts.updatesPerS).toFixed(2)),
    ts_sgd_runs_updates_per_s: speed.ts.runs.map((r) => Math.round(r.updatesPerS)),
    wasm_sgd_runs_updates_per_s: speed.wasm.runs.map((r) => Math.round(r.updatesPerS)),
    ts_sgd_rmse_u1: Number(speed.ts.runs[0]!.rmse.toFixed(4)),
    wasm_sgd_rmse_u1: Number(speed.wasm.runs[0]!.rmse.toFixed(4)),
    mf: {
      rmse_u1: Number(rmses[0]!.toFixed(4)),
      mae_u1: Number(quality[0]!.mae.toFixed(4)),
      rmse_u1_u5_mean: Number(mean.toFixed(4)),
      rmse_u1_u5_std: Number(std.toFixed(4)),
      rmse_per_fold: rmses.map((x) => Number(x.toFixed(4))),
      mae_u1_u5_mean: Number((quality.reduce((a, q) => a + q.mae, 0) / quality.length).toFixed(4)),
      hyperparameters: hp,
      epochs: DEFAULT_MF_EPOCHS,
      seed: SEED,
      data_fingerprint_u1_base: fingerprint(folds[0]!.train),
    },
  };

  const row = (name: string, value: number, digits: number, target?: Target): string[] => [name, fmt(value, digits), ...targetCells(value, target, digits)];
  printTable(
    ['figure', 'value', 'target', 'met?'],
    [
      row(`SGD updates/s (fastest: ${fastest}, ${SPEED_FACTORS} factors, median of ${SPEED_RUNS})`, out.local_sgd_updates_per_s, 0, TARGETS.local_sgd_updates_per_s),
      row('  plain TS', out.ts_sgd_updates_per_s, 0),
      row('  WebAssembly SIMD', out.wasm_sgd_updates_per_s, 0),
      row('  WebAssembly / TS', out.wasm_over_ts, 2),
      row(`  RMSE u1 after ${SPEED_EPOCHS} epochs at ${SPEED_FACTORS} factors (TS)`, out.ts_sgd_rmse_u1, 4),
      row(`  RMSE u1 after ${SPEED_EPOCHS} epochs at ${SPEED_FACTORS} factors (WebAssembly)`, out.wasm_sgd_rmse_u1, 4),
      row('MF RMSE u1 (defaults)', out.mf.rmse_u1, 4, TARGETS.rmse_u1),
      row('MF RMSE u1..u5 mean', out.mf.rmse_u1_u5_mean, 4, TARGETS.rmse_u1_u5_mean),
      row('MF RMSE u1..u5 std', out.mf.rmse_u1_u5_std, 4),
      row('MF MAE u1..u5 mean', out.mf.mae_u1_u5_mean, 4),
    ],
  );
  writeResults('train-local.json', out);
}

runBench(main, { limitMs: 600_000, cleanup: () => undefined });
