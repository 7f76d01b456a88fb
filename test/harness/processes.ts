import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/** A JSON line a child printed, stamped with this (test) process's monotonic clock on arrival. */
export type ProcessEvent = Record<string, unknown> & { recvMono: number };

/** A child node process and the JSON events it printed. */
export interface NodeProcess {
  readonly child: ChildProcess;
  /** Every JSON line so far, in arrival order. `reel node` log lines read as `event: 'log'` (or `'ready'`). */
  readonly events: ProcessEvent[];
  /** Resolves with the `ready` event; rejects if the process exits first. */
  readonly ready: Promise<ProcessEvent>;
  /** Resolves with the exit code (or signal) once the process is gone. */
  readonly exited: Promise<number | string>;
  /** This process's monotonic clock when the child's exit was seen; undefined while it runs. */
  exitedAt(): number | undefined;
  /** SIGTERM (a `reel node` drains) and wait for exit. */
  stop(): Promise<number | string>;
  /** Sends a signal (SIGKILL, SIGSTOP, SIGCONT, SIGUSR2). */
  kill(signal: NodeJS.Signals): void;
  /** Resolves with the first event (already printed or to come) that `match` accepts. */
  waitEvent(match: (e: ProcessEvent) => boolean, timeoutMs?: number): Promise<ProcessEvent>;
  stderr(): string;
  /** The last lines of stdout and stderr, for failure messages. */
  tail(): string;
}

/** Options of `startNodeProcess`. */
export interface NodeProcessOptions {
  /** Script to run with node; default: the `reel` command. */
  script?: string;
  readyTimeoutMs?: number;
  /** Extra environment (the test clock, for one). */
  env?: Record<string, string>;
  /**
   * Read for each stdout line before it is parsed: a line it returns false for is dropped unparsed
   * (a benchmark that shares its process with a load generator keeps only the events it counts).
   */
  keepLine?: (line: string) => boolean;
}

/**
 * Starts a built script (default `dist/cli/main.js`, the `reel` command: `npm run build` first)
 * with `args`. Children run JavaScript, never TypeScript. Each stdout chunk is stamped with this
 * process's monotonic clock as it arrives, so that facts from several children can be put on
 * one time line (see `overlappingActivations`).
 */
export function startNodeProcess(args: string[], opts: NodeProcessOptions = {}): NodeProcess {
  const script = opts.script ?? builtCli();
  const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...opts.env } });
  const events: ProcessEvent[] = [];
  const watchers = new Set<(e: ProcessEvent) => void>();
  let err = '';
  let outTail = '';
  let exitedAt: number | undefined;
  child.stderr!.on('data', (d: Buffer) => {
    // Enough for a failed test to show what the node did (training workers log each step).
    err = (err + d.toString()).slice(-(1 << 20));
  });
  const exited = new Promise<number | string>((resolve) =>
    child.on('exit', (code, signal) => {
      exitedAt = performance.now();
      resolve(code ?? signal ?? -1);
    }),
  );
  let partial = '';
  const readyTimeoutMs = opts.readyTimeoutMs ?? 20_000;
  const ready = new Promise<ProcessEvent>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`node process ${args.join(' ')} not ready after ${readyTimeoutMs} ms; ${tail()}`)), readyTimeoutMs);
    child.stdout!.on('data', (d: Buffer) => {
      const recvMono = performance.now();
      const text = partial + d.toString();
      const lines = text.split('\n');
      partial = lines.pop()!;
      for (const line of lines) {
        outTail = (outTail + line + '\n').slice(-4096);
        if (opts.keepLine !== undefined && !opts.keepLine(line)) continue;
        let ev: ProcessEvent;
        try {
          ev = { ...(JSON.parse(line) as Record<string, unknown>), recvMono };
        } catch {
          continue;
        }
        // `reel node` and `reel gateway` print log lines ({level, msg, …}); runtime events carry `event` themselves.
        if (ev.event === undefined) ev.event = ev.msg === 'node ready' || ev.msg === 'gateway ready' ? 'ready' : 'log';
        events.push(ev);
        for (const w of watchers) w(ev);
        if (ev.event === 'ready') {
          clearTimeout(timer);
          resolve(ev);
        }
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`node process exited (${code}) before it was ready; ${tail()}`));
    });
  });
  ready.catch(() => undefined);
  function tail(): string {
    return `stdout tail: ${outTail.slice(-1500)}\nstderr tail: ${err.slice(-1500)}`;
  }
  return {
    child,
    events,
    ready,
    exited,
    exitedAt: () => exitedAt,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
    kill(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
    stderr: () => err,
    tail,
    waitEvent(match, timeoutMs = 20_000) {
      const found = events.find(match);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          watchers.delete(w);
          reject(new Error(`timed out after ${timeoutMs} ms waiting for an event from ${args.join(' ')}; ${tail()}`));
        }, timeoutMs);
        const w = (e: ProcessEvent) => {
          if (!match(e)) return;
          clearTimeout(timer);
          watchers.delete(w);
          resolve(e);
        };
        watchers.add(w);
      });
    },
  };
}

/** The repository root, from test/harness (vitest, sources) or dist/test/harness (built). */
function repoRoot(): string {
  return fileURLToPath(new URL('.', import.meta.url)).replace(/[\\/](dist[\\/])?test[\\/]harness[\\/]?$/, '');
}

/** Path of a built fixture script under `dist/test/fixtures/`. */
export function builtFixture(name: string): string {
  return `${repoRoot()}/dist/test/fixtures/${name}`;
}

/** Path of the built `reel` command, `dist/cli/main.js`. */
export function builtCli(): string {
  return `${repoRoot()}/dist/cli/main.js`;
}

/** How a run of the `reel` command ended. */
export interface CliRun {
  /** Its exit code (null if a signal ended it). */
  code: number | null;
  stdout: string;
  stderr: string;
}

const execFileP = promisify(execFile);

/**
 * Runs the built `reel` command with `args` to its end. A non-zero exit is an outcome, not a
 * throw: the caller asserts on the code and the output. No time limit unless `timeoutMs`.
 */
export function runReel(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CliRun> {
  return execFileP(process.execPath, [builtCli(), ...args], { timeout: opts.timeoutMs ?? 0, ...(opts.cwd ? { cwd: opts.cwd } : {}), ...(opts.env ? { env: opts.env } : {}) }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e: { code: number | null; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );
}

/** A `reel start` that serves (not `--once`): its process, its output so far, and its exit. */
export interface ServingStart {
  child: ChildProcess;
  /** host:port of its gateway, as printed. */
  address: string;
  exited: Promise<number | null>;
  stdout(): string;
  stderr(): string;
}

/**
 * Runs `reel start` with `args` (without `--once`) and resolves once it prints that it serves
 * and the grpcurl line after it; rejects, with its output, if it exits first. The caller
 * stops it (SIGTERM, or SIGKILL in a `finally`).
 */
export async function startServing(args: string[]): Promise<ServingStart> {
  const child = spawn(process.execPath, [builtCli(), 'start', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => void (stderr += d.toString()));
  const address = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString();
      const m = /serving reel\.v1 gRPC on (\S+)/.exec(stdout);
      if (m && stdout.includes('grpcurl')) resolve(m[1]!);
    });
    void exited.then((code) => reject(new Error(`reel start exited ${code} before serving: ${stdout}\n${stderr}`)));
  }).catch((err: unknown) => {
    if (child.exitCode === null) child.kill('SIGKILL');
    throw err;
  });
  return { child, address, exited, stdout: () => stdout, stderr: () => stderr };
}
