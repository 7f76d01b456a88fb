import { mkdir, open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Checkpoint, ModelManifest } from '../actors/training/index.js';
import { encodeNpy } from '../models/index.js';

/** File formats of `reel models export`. */
export const EXPORT_FORMATS = ['csv', 'npy'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** What `reel models export` wrote. */
export interface ExportResult {
  version: string;
  /** Epoch of the checkpoint the rows come from. */
  epoch: number;
  format: ExportFormat;
  dir: string;
  /** Rows per kind: `{ user: 943, title: 1682 }`. */
  rows: Record<string, number>;
  /** File names written into `dir`, `manifest.json` last. */
  files: string[];
}

/** One kind's rows gathered from every shard: keys in order, and each row's factors then bias. */
interface KindRows {
  keys: string[];
  factors: number;
  /** `keys.length × (factors + 1)`, in `keys` order; each row's factors, then its bias (as in a checkpoint). */
  rows: Float32Array;
}

/** Bytes of text written to a file at once. */
const WRITE_CHUNK_CHARS = 1 << 20;

/** Decimal ids in numeric order (2 before 10), any other key after them as a string. */
function compareKeys(a: string, b: string): number {
  const na = /^\d{1,15}$/.test(a);
  const nb = /^\d{1,15}$/.test(b);
  if (na && nb) return Number(a) - Number(b);
  if (na !== nb) return na ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Every shard's rows of `kind`, sorted by key, so that an export does not depend on the shard count. */
function gather(cp: Checkpoint, kind: string): KindRows {
  const k = cp.manifest.factors;
  const where: Array<[string, Float32Array, number]> = [];
  for (const { kind: pk, part } of cp.parts) {
    if (pk !== kind) continue;
    part.keys.forEach((key, i) => where.push([key, part.rows, i * (k + 1)]));
  }
  where.sort((x, y) => compareKeys(x[0], y[0]));
  const rows = new Float32Array(where.length * (k + 1));
  where.forEach(([, src, at], i) => rows.set(src.subarray(at, at + k + 1), i * (k + 1)));
  return { keys: where.map((w) => w[0]), factors: k, rows };
}

/** The shortest decimal that reads back as the same float32 (`0.1`, not `0.10000000149011612`). */
export function formatFloat32(x: number): string {
  // Six significant digits always fit a float32 that has a shorter form, and nine always suffice.
  for (let p = 6; p <= 9; p++) {
    const n = Number(x.toPrecision(p));
    if (Math.fround(n) === x) return String(n);
  }
  return String(x);
}

/** A CSV field, quoted when it holds a comma, a quote or a line break. */
function csvField(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Writes text produced line by line in chunks, so that a large export never sits whole in one string. */
async function writeLines(path: string, header: string, n: number, line: (i: number) => string): Promise<void> {
  const fh = await open(path, 'w');
  try {
    let buf = `${header}\n`;
    for (let i = 0; i < n; i++) {
      buf += `${line(i)}\n`;
      if (buf.length >= WRITE_CHUNK_CHARS) {
        await fh.write(buf);
        buf = '';
      }
    }
    await fh.write(buf);
  } finally {
    await fh.close();
  }
}

/** `key,bias,f0..fk-1`, one row per key. */
async function writeCsv(path: string, r: KindRows): Promise<void> {
  const k = r.factors;
  const header = ['key', 'bias', ...Array.from({ length: k }, (_, j) => `f${j}`)].join(',');
  await writeLines(path, header, r.keys.length, (i) => {
    const at = i * (k + 1);
    const cells = [csvField(r.keys[i]!), formatFloat32(r.rows[at + k]!)];
    for (let j = 0; j < k; j++) cells.push(formatFloat32(r.rows[at + j]!));
    return cells.join(',');
  });
}

/** An n × (k+1) float32 matrix with the CSV's columns (bias, f0..fk-1), and the keys one a line. */
async function writeNpy(dir: string, base: string, r: KindRows): Promise<string[]> {
  const k = r.factors;
  const data = new Float32Array(r.rows.length);
  for (let i = 0; i < r.keys.length; i++) {
    const at = i * (k + 1);
    data[at] = r.rows[at + k]!;
    data.set(r.rows.subarray(at, at + k), at + 1);
  }
  await writeFile(join(dir, `${base}.npy`), encodeNpy({ rows: r.keys.length, cols: k + 1, data }));
  await writeFile(join(dir, `${base}.keys.txt`), r.keys.length ? `${r.keys.join('\n')}\n` : '');
  return [`${base}.npy`, `${base}.keys.txt`];
}

/**
 * Writes a checkpoint's embeddings into `dir` (created if needed): per kind (`user` → `users`,
 * `title` → `titles`) `users.csv` (`key,bias,f0..`) or `users.npy` (the same columns, float32) with
 * `users.keys.txt`; then `manifest.json`: the version's manifest and an `export` section (the
 * checkpoint's epoch and metrics, the global mean, the columns, the files).
 */
export async function exportCheckpoint(cp: Checkpoint, current: ModelManifest, dir: string, format: ExportFormat): Promise<ExportResult> {
  await mkdir(dir, { recursive: true });
  const kinds = [...new Set(['user', 'title', ...cp.parts.map((p) => p.kind)])];
  const files: string[] = [];
  const rows: Record<string, number> = {};
  for (const kind of kinds) {
    const r = gather(cp, kind);
    rows[kind] = r.keys.length;
    const base = `${kind}s`;
    if (format === 'csv') {
      await writeCsv(join(dir, `${base}.csv`), r);
      files.push(`${base}.csv`);
    } else {
      files.push(...(await writeNpy(dir, base, r)));
    }
  }
  files.push('manifest.json');
  const epoch = cp.manifest.checkpoint?.epoch ?? cp.manifest.epochsDone;
  const doc = {
    ...current,
    export: {
      checkpoint: { epoch, prefix: cp.manifest.checkpoint?.prefix, metrics: cp.manifest.metrics },
      globalMean: cp.global.mean,
      format,
      columns: ['bias', ...Array.from({ length: cp.manifest.factors }, (_, j) => `f${j}`)],
      rows,
      files,
    },
  };
  await writeFile(join(dir, 'manifest.json'), `${JSON.stringify(doc, null, 2)}\n`);
  return { version: current.id, epoch, format, dir, rows, files };
}
