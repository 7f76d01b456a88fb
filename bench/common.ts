/**
 * What the benchmarks share: the processes they start and how they are killed, the runner
 * (watchdog, signals, exit codes), progress lines, percentiles, the results table and the
 * results file with the machine's description.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { NatsServerHandle } from '../test/harness/nats-server.js';
import type { NodeProcess } from '../test/harness/processes.js';

// ---- processes and the runner ----

/** Children and the server, so that the watchdog and signals can kill them. */
export const live: { children: NodeProcess[]; server: NatsServerHandle | undefined } = { children: [], server: undefined };

export function alive(p: NodeProcess): boolean {
  return p.child.exitCode === null && p.child.signalCode === null;
}

/** SIGKILLs every live child and the server, at once (for the watchdog, signals and failures). */
export function killAll(): void {
  for (const c of live.children) if (alive(c)) c.child.kill('SIGKILL');
  if (live.server) {
    try {
      process.kill(live.server.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/**
 * Runs `main` and exits: 0 when it resolves, 1 when it fails, 2 when it is still running
 * after `limitMs`, 130 on SIGINT/SIGTERM. `cleanup` runs before every exit but the clean one.
 */
export function runBench(main: () => Promise<void>, opts: { limitMs: number; cleanup: () => void }): void {
  const watchdog = setTimeout(() => {
    progress(`gave up after ${opts.limitMs} ms`);
    opts.cleanup();
    process.exit(2);
  }, opts.limitMs);
  watchdog.unref();
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      opts.cleanup();
      process.exit(130);
    });
  }
  main().then(
    () => {
      clearTimeout(watchdog);
      process.exit(0);
    },
    (err: unknown) => {
      process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
      opts.cleanup();
      process.exit(1);
    },
  );
}

export function progress(msg: string): void {
  process.stderr.write(`[bench] ${msg}\n`);
}

// ---- numbers ----

/** Median of `xs` (the mean of the middle two when even). */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Two full collections (needs `node --expose-gc`, which the bench scripts pass). */
export function gc(): void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (!g) throw new Error('run with node --expose-gc (npm run bench:actors does)');
  g();
  g();
}

/** Times one run and fails it once it has taken longer than `limitMs`. */
export class RunClock {
  readonly t0 = performance.now();
  constructor(
    readonly phase: string,
    readonly limitMs: number,
  ) {}
  check(detail: () => string): void {
    if (performance.now() - this.t0 > this.limitMs) throw new Error(`${this.phase}: run exceeded ${this.limitMs} ms (${detail()})`);
  }
  seconds(): number {
    return (performance.now() - this.t0) / 1000;
  }
}

/** `conc` loops, each awaiting its own request, `n` requests in all, within `limitMs`. Returns requests/s. */
export async function concurrentRun(phase: string, n: number, conc: number, limitMs: number, once: (loop: number) => Promise<unknown>): Promise<number> {
  const clock = new RunClock(phase, limitMs);
  let issued = 0;
  let done = 0;
  const loop = async (j: number) => {
    while (issued < n) {
      issued++;
      await once(j);
      done++;
      if ((done & 4095) === 0) clock.check(() => `${done}/${n} done`);
    }
  };
  await Promise.all(Array.from({ length: conc }, (_, j) => loop(j)));
  return done / clock.seconds();
}

/** Nearest-rank percentile of ascending `sorted` (`p` in 0..1); NaN when empty. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

export function fmt(x: number, digits: number): string {
  if (!Number.isFinite(x)) return String(x);
  return digits === 0 ? Math.round(x).toLocaleString('en-US') : x.toFixed(digits);
}

// ---- results ----

/** A figure's target: it should be `>=` or `<=` this value. */
export interface Target {
  op: '>=' | '<=';
  value: number;
}

/** The table's `target` and `met?` cells for `value` (both empty without a target). */
export function targetCells(value: number, target: Target | undefined, digits: number): [string, string] {
  if (target === undefined) return ['', ''];
  const met = target.op === '>=' ? value >= target.value : value <= target.value;
  return [`${target.op} ${fmt(target.value, digits)}`, met ? 'yes' : 'NO'];
}

/** Prints `rows` under `head` in aligned columns: those in `leftCols` padded on the right, the rest right-aligned. */
export function printTable(head: string[], rows: string[][], leftCols: number[] = [0]): void {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (leftCols.includes(i) ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ');
  console.log(line(head));
  console.log(w.map((n) => '-'.repeat(n)).join('  '));
  for (const r of rows) console.log(line(r));
}

/** Node version, CPU and memory, and when: appended to every results file. */
export function machineInfo(): Record<string, unknown> {
  return {
    node_version: process.version,
    cpu_model: cpus()[0]?.model ?? 'unknown',
    cpu_count: cpus().length,
    total_mem_bytes: totalmem(),
    timestamp: new Date().toISOString(),
  };
}

/** Writes `out` and then `machineInfo()` to `bench/results/<name>` in the source tree (not dist/). */
export function writeResults(name: string, out: Record<string, unknown>): void {
  // This module runs from dist/bench/: two levels up is the repository.
  const file = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', 'results', name);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify({ ...out, ...machineInfo() }, null, 2)}\n`);
  console.log(`\nwrote ${file}`);
}

/** CPU seconds (user + system) a process has used so far, from /proc; NaN when gone. */
export function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return Number.NaN;
  }
}

/** `x` rounded to `digits` decimals. */
export function round(x: number, digits: number): number {
  const m = 10 ** digits;
  return Math.round(x * m) / m;
}
