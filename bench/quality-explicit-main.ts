/**
 * Runs the explicit quality benchmark alone and prints its table (writes nothing):
 *
 *   node dist/bench/quality-explicit-main.js [ML100K_DIR]
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { progress } from './common.js';
import { explicitQuality } from './quality-explicit.js';

const dataDir = process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'shared', 'datasets', 'ml-100k');
const r = await explicitQuality({ dataDir, log: progress });
const f4 = (x: number) => x.toFixed(4);
const rowsOut = [['model', 'valid', 'u1', 'u2', 'u3', 'u4', 'u5', 'mean ± std', 'MAE u1', 'MAE mean']];
for (const [name, m] of Object.entries(r.models)) {
  rowsOut.push([name + (name === r.best ? ' *' : ''), f4(m.validation_rmse), ...m.rmse_folds.map(f4), `${f4(m.rmse_u1_u5_mean)} ± ${f4(m.rmse_u1_u5_std)}`, f4(m.mae_u1), f4(m.mae_u1_u5_mean)]);
}
const widths = rowsOut[0]!.map((_, c) => Math.max(...rowsOut.map((row) => row[c]!.length)));
for (const row of rowsOut) process.stdout.write(`${row.map((cell, c) => cell.padEnd(widths[c]!)).join('  ')}\n`);
process.stdout.write(`best (by validation): ${r.best}: rmse_u1 ${f4(r.rmse_u1)}, rmse_u1_u5_mean ${f4(r.rmse_u1_u5_mean)} ± ${f4(r.rmse_u1_u5_std)}; ${r.seconds.toFixed(0)} s\n`);
