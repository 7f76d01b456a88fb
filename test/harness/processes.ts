import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** A child node process and the JSON events it printed. */
export interface NodeProcess {
  readonly child: ChildProcess;
  readonly events: Array<Record<string, unknown>>;
  /** Resolves with the `ready` event; rejects if the process exits first. */
  readonly ready: Promise<Record<string, unknown>>;
  /** Resolves with the exit code (or signal) once the process is gone. */
  readonly exited: Promise<number | string>;
  /** SIGTERM and wait for exit. */
  stop(): Promise<number | string>;
  /** Writes a line to the process's stdin. */
  send(line: string): void;
  /** Resolves with the first event (already printed or to come) that `match` accepts. */
  waitEvent(match: (e: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  stderr(): string;
}

/** Starts the built node fixture (`npm run build` first) with `args`: children run JavaScript, never TypeScript. */
export function startNodeProcess(args: string[], opts: { script?: string; readyTimeoutMs?: number } = {}): NodeProcess {
  const script = opts.script ?? builtFixture('node-proc.js');
  const child = spawn(process.execPath, [script, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  const events: Array<Record<string, unknown>> = [];
  const watchers = new Set<(e: Record<string, unknown>) => void>();
  let err = '';
  child.stderr!.on('data', (d: Buffer) => {
    err = (err + d.toString()).slice(-8192);
  });
  const exited = new Promise<number | string>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  const ready = new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`node process ${args.join(' ')} not ready after ${opts.readyTimeoutMs ?? 15_000} ms; stderr: ${err}`)),
      opts.readyTimeoutMs ?? 15_000,
    );
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let ev: Record<string, unknown>;
      try {
        ev = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      events.push(ev);
      for (const w of watchers) w(ev);
      if (ev.event === 'ready') {
        clearTimeout(timer);
        resolve(ev);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`node process exited (${code}) before it was ready; stderr: ${err}`));
    });
  });
  ready.catch(() => undefined);
  return {
    child,
    events,
    ready,
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
    stderr: () => err,
    send(line: string) {
      child.stdin!.write(`${line}\n`);
    },
    waitEvent(match, timeoutMs = 20_000) {
      const found = events.find(match);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          watchers.delete(w);
          reject(new Error(`timed out after ${timeoutMs} ms waiting for an event from ${args.join(' ')}; stderr: ${err}`));
        }, timeoutMs);
        const w = (e: Record<string, unknown>) => {
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
