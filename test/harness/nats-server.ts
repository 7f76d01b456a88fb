import { findNatsServer } from '../../cli/nats-server-binary.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Options of `startNatsServer`. */
export interface NatsServerOptions {
  /** Enable JetStream (KV, streams) with a temporary store directory. @default true */
  jetstream?: boolean;
  /**
   * nats-server config text (authorization, tls, …), written to a file in the server's temporary
   * directory and passed with `-c`; the address, port, ports file and JetStream flags apply on top.
   */
  config?: string;
}

/** A running nats-server on a free port; stop it (or `await using` it) when done. */
export interface NatsServerHandle {
  /** Client URL, `nats://127.0.0.1:PORT`. */
  readonly url: string;
  readonly port: number;
  /** JetStream store directory (removed by `stop`). */
  readonly storeDir: string;
  /** Pid of the running server process. */
  readonly pid: number;
  /** Stops the server process and keeps its store: a crash of the broker, until `restart`. */
  kill(): Promise<void>;
  /** Stops the server (if running) and starts it again on the same port with the same store. */
  restart(): Promise<void>;
  /** Sends SIGTERM, waits for the process to exit and removes the temporary directories. */
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** How long startup may take before the launcher gives up, in ms. */
const START_TIMEOUT_MS = 10_000;
/** How long a SIGTERM may take before SIGKILL, in ms. */
const STOP_TIMEOUT_MS = 10_000;
const PORTS_POLL_MS = 20;
const STDERR_TAIL_CHARS = 2_000;

export { findNatsServer };

/**
 * A name fragment unique to one test run, valid as a NATS subject token and inside a
 * KV bucket name (`[A-Za-z0-9_-]`): `t_<label>_<6 random chars>`.
 */
export function uniquePrefix(label: string): string {
  const clean = label.replace(/[^A-Za-z0-9_-]/g, '_');
  return `t_${clean}_${randomBytes(6).toString('base64url').slice(0, 6)}`;
}

/**
 * Starts a nats-server bound to 127.0.0.1 on a port the OS picks, and resolves once the
 * server has written its ports file (it writes it only after it listens).
 */
export async function startNatsServer(opts: NatsServerOptions = {}): Promise<NatsServerHandle> {
  const bin = findNatsServer();
  const jetstream = opts.jetstream ?? true;
  const root = await mkdtemp(join(tmpdir(), 'reel-nats-'));
  const storeDir = join(root, 'store');
  const portsDir = join(root, 'ports');

  const args = ['-a', '127.0.0.1', '-p', '-1', '--ports_file_dir', portsDir];
  if (jetstream) args.push('-js', '-sd', storeDir);
  if (opts.config !== undefined) {
    const configFile = join(root, 'nats-server.conf');
    // It may hold passwords: readable by this user only.
    await writeFile(configFile, opts.config, { mode: 0o600 });
    args.push('-c', configFile);
  }

  // ports_file_dir must exist before the server writes into it.
  await mkdir(portsDir, { recursive: true });
  const cleanup = async () => {
    await rm(root, { recursive: true, force: true });
  };

  let proc: Running;
  try {
    proc = await launch(bin, args, portsDir);
  } catch (err) {
    await cleanup();
    throw err;
  }
  const port = proc.port;

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      await proc.terminate();
      await cleanup();
    })();
    return stopping;
  };

  const handle: NatsServerHandle = {
    url: `nats://127.0.0.1:${port}`,
    port,
    storeDir,
    get pid() {
      return proc.child.pid!;
    },
    async kill() {
      await proc.terminate();
    },
    async restart() {
      if (stopping) throw new Error('nats-server handle was stopped');
      await proc.terminate();
      // The same port and store: clients reconnect to what they left, JetStream state included.
      const again = args.map((a) => (a === '-1' ? String(port) : a));
      for (const f of await readdir(portsDir)) await rm(join(portsDir, f), { force: true });
      proc = await launch(bin, again, portsDir);
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
  return handle;
}

/** A nats-server process that has written its ports file. */
interface Running {
  child: ChildProcess;
  port: number;
  /** SIGTERM (SIGKILL after STOP_TIMEOUT_MS) and wait for the exit; idempotent. */
  terminate(): Promise<void>;
}

async function launch(bin: string, args: string[], portsDir: string): Promise<Running> {
  const child = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-STDERR_TAIL_CHARS);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  // A spawn failure (ENOENT, EACCES) arrives as 'error', and 'exit' may never follow it.
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  const terminate = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    }
  };
  try {
    return { child, port: await waitForPort(portsDir, exited, spawnError, () => stderr), terminate };
  } catch (err) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
    throw err;
  }
}

/** Polls the ports directory until the server's ports file holds a client URL, the server exits or time runs out. */
async function waitForPort(
  portsDir: string,
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>,
  spawnError: Promise<Error>,
  stderrTail: () => string,
): Promise<number> {
  const failure = Promise.race([
    exited.then(({ code, signal }): never => {
      throw new Error(`nats-server exited during startup (code ${code}, signal ${signal}); stderr tail:\n${stderrTail()}`);
    }),
    spawnError.then((err): never => {
      throw new Error(`nats-server could not be started: ${err.message}`);
    }),
  ]);
  failure.catch(() => {}); // raced below; this keeps a late failure from being unhandled
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    const port = await readPort(portsDir);
    if (port !== undefined) return port;
    if (Date.now() > deadline) {
      throw new Error(
        `nats-server startup timed out after ${START_TIMEOUT_MS} ms in phase 'waiting for ports file in ${portsDir}'; stderr tail:\n${stderrTail()}`,
      );
    }
    await Promise.race([failure, new Promise((r) => setTimeout(r, PORTS_POLL_MS))]);
  }
}

/** Reads the client port from a complete ports file, if one exists yet. */
async function readPort(portsDir: string): Promise<number | undefined> {
  const names = (await readdir(portsDir)).filter((n) => n.endsWith('.ports'));
  for (const name of names) {
    let parsed: { nats?: unknown };
    try {
      parsed = JSON.parse(await readFile(join(portsDir, name), 'utf8')) as { nats?: unknown };
    } catch {
      continue; // written but not yet complete: read it again on the next poll
    }
    const urls = Array.isArray(parsed.nats) ? parsed.nats : [];
    for (const u of urls) {
      const m = typeof u === 'string' ? /:(\d+)$/.exec(u) : null;
      if (m) return Number(m[1]);
    }
  }
  return undefined;
}
