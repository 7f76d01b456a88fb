import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { clientUrls, localNatsCluster, natsServerConfig, type NatsServerPlan } from '../../cli/nats-config.js';
import { jetStreamReady } from '../../cli/nats-ready.js';
import { findNatsServer } from '../../cli/nats-server-binary.js';

/** Options of `startNatsCluster`. */
export interface NatsClusterOptions {
  /** @default 3 */
  servers?: number;
  /**
   * Ping interval of clients and routes, in s, and unanswered pings before a connection is
   * dropped: a paused server is cut off after about their product. @default 1 and 2
   */
  pingIntervalS?: number;
  pingMax?: number;
  /** Further configuration of every server (authorization, TLS). */
  extra?: string;
}

/** One server of a running NATS cluster. */
export interface NatsClusterServer {
  readonly name: string;
  readonly url: string;
  readonly pid: number;
  running(): boolean;
  /** SIGKILL: the server dies with its store as it was; `restart` brings it back on it. */
  kill(): Promise<void>;
  /** SIGSTOP / SIGCONT: a server that stops answering, routes and clients alike. */
  pause(): void;
  resume(): void;
  /** Starts it again (after `kill`) with the same name, ports and store. */
  restart(): Promise<void>;
}

/** A NATS cluster of real nats-servers on loopback with clustered JetStream; stop it when done. */
export interface NatsClusterHandle {
  /** Every server's client URL, comma-separated (what `--nats` takes). */
  readonly urls: string;
  readonly servers: NatsClusterServer[];
  readonly plans: NatsServerPlan[];
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 20_000;

/** Ports the OS says are free now (each bound to port 0 and released). */
async function freePorts(n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    out.push(
      await new Promise<number>((resolve, reject) => {
        const srv = createServer();
        srv.once('error', reject);
        srv.listen(0, '127.0.0.1', () => {
          const port = (srv.address() as { port: number }).port;
          srv.close(() => resolve(port));
        });
      }),
    );
  }
  return out;
}

/**
 * Starts `servers` nats-servers routed to each other, from the configuration `reel cluster up
 * --nats-servers` writes (`cli/nats-config.ts`), and resolves once JetStream answers on every one
 * of them and every server knows all the others (so that a bucket of 3 replicas can be placed).
 */
export async function startNatsCluster(opts: NatsClusterOptions = {}): Promise<NatsClusterHandle> {
  const n = opts.servers ?? 3;
  const bin = findNatsServer();
  const root = await mkdtemp(join(tmpdir(), 'reel-nats-cluster-'));
  // Client ports and route ports are picked apart, then laid out from a base each: they must be
  // known before any server starts, since every server names the others' routes.
  const ports = await freePorts(2 * n);
  // A name of its own: a route that reaches a port another test's cluster reused after a kill is refused.
  const clusterName = `reel-test-${basename(root).slice('reel-nats-cluster-'.length)}`;
  const plans = localNatsCluster({ servers: n, port: 0, routePort: 0, dir: root, clusterName, pingIntervalS: opts.pingIntervalS ?? 1, pingMax: opts.pingMax ?? 2, ...(opts.extra ? { extra: opts.extra } : {}) }).map((p, i) => ({
    ...p,
    port: ports[i]!,
    ...(p.cluster ? { cluster: { ...p.cluster, port: ports[n + i]!, routes: ports.slice(n).filter((_, j) => j !== i).map((rp) => `nats-route://127.0.0.1:${rp}`) } } : {}),
  }));
  const procs: Array<{ child: ChildProcess; exited: Promise<void>; stderr: string }> = [];
  const launch = async (i: number) => {
    const conf = join(root, `${plans[i]!.name}.conf`);
    await mkdir(plans[i]!.storeDir, { recursive: true });
    await writeFile(conf, natsServerConfig(plans[i]!));
    const child = spawn(bin, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    const rec = { child, exited: new Promise<void>((r) => child.once('exit', () => r())), stderr: '' };
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (d: string) => (rec.stderr = (rec.stderr + d).slice(-4000)));
    procs[i] = rec;
  };
  const running = (i: number) => procs[i]!.child.exitCode === null && procs[i]!.child.signalCode === null;
  const kill = async (i: number, signal: NodeJS.Signals) => {
    if (!running(i)) return;
    procs[i]!.child.kill('SIGCONT'); // a paused server cannot act on SIGTERM
    procs[i]!.child.kill(signal);
    await procs[i]!.exited;
  };
  const stop = async () => {
    await Promise.all(plans.map((_, i) => kill(i, 'SIGKILL')));
    await rm(root, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < n; i++) await launch(i);
    await jetStreamFormed(plans, n, () => procs.map((p, i) => (running(i) ? '' : `${plans[i]!.name} exited: ${p.stderr.slice(-800)}`)).join(''));
  } catch (err) {
    await stop();
    throw err;
  }
  const servers = plans.map((p, i): NatsClusterServer => ({
    name: p.name,
    url: `nats://127.0.0.1:${p.port}`,
    get pid() {
      return procs[i]!.child.pid!;
    },
    running: () => running(i),
    kill: () => kill(i, 'SIGKILL'),
    pause: () => void procs[i]!.child.kill('SIGSTOP'),
    resume: () => void procs[i]!.child.kill('SIGCONT'),
    async restart() {
      await kill(i, 'SIGKILL');
      // The ports may be taken by nothing else meanwhile on loopback; the store is the server's own.
      for (const f of await readdir(root)) if (f.endsWith('.ports')) await rm(join(root, f), { force: true });
      await launch(i);
      await jetStreamFormed([plans[i]!], n, () => (running(i) ? '' : procs[i]!.stderr.slice(-800)));
    },
  }));
  return { urls: clientUrls(plans), servers, plans, stop };
}

/** Every server of `plans` serves JetStream in a cluster of `servers` formed (`jetStreamReady`); fails with `why()` once it says a server exited. */
async function jetStreamFormed(plans: readonly NatsServerPlan[], servers: number, why: () => string): Promise<void> {
  await Promise.all(plans.map((p) => jetStreamReady(`nats://127.0.0.1:${p.port}`, { noAsyncTraces: true }, servers, START_TIMEOUT_MS, () => why() || undefined)));
}
