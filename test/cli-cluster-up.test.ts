import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { ClusterClient, type ClusterReport } from '../cluster/index.js';
import { builtCli, runReel } from './harness/processes.js';
import { waitFor } from './harness/wait.js';

const execFileP = promisify(execFile);
const cli = builtCli();

/** The environment without REEL_* settings: each test names its cluster through flags or the folder it runs in. */
const ENV = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('REEL_')));

/** Runs `reel ARGS` in `cwd` to its end, without the REEL_* settings of this environment. */
const reel = (cwd: string, args: string[], timeoutMs = 30_000) => runReel(args, { cwd, env: ENV, timeoutMs });

/** Listens on `port` (0: any) at `host`; undefined when that fails. */
function listen(port: number, host: string): Promise<Server | undefined> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.on('error', () => resolve(undefined));
    srv.listen(port, host, () => resolve(srv));
  });
}

function close(srv: Server): Promise<void> {
  return new Promise((r) => srv.close(() => r()));
}

/** Whether a port can be listened on now (port 0: any), and which. */
async function tryListen(port: number): Promise<number | undefined> {
  const srv = await listen(port, '0.0.0.0');
  if (srv === undefined) return undefined;
  const p = (srv.address() as { port: number }).port;
  await close(srv);
  return p;
}

/** A port nothing listens on now. */
async function freePort(): Promise<number> {
  return (await tryListen(0))!;
}

/** A base such that base+1 … base+n are all free (node i serves metrics on base+i). */
async function freeRange(n: number): Promise<number> {
  for (;;) {
    const base = (await freePort()) - 1;
    let ok = true;
    for (let i = 1; i <= n && ok; i++) ok = (await tryListen(base + i)) !== undefined;
    if (ok) return base;
  }
}

function logOf(file: string): string {
  return existsSync(file) ? readFileSync(file, 'utf8') : '(no log)';
}

function tail(file: string): string {
  return logOf(file).slice(-600);
}

/**
 * `reel cluster up` as a terminal runs it: the leader of its own process group, so that
 * `ctrlC()` sends SIGINT to the whole group, exactly as a terminal's Ctrl-C does.
 */
interface Up {
  readonly child: ChildProcess;
  readonly exited: Promise<number | string>;
  output(): string;
  ctrlC(): void;
}

const started: Up[] = [];

function clusterUp(cwd: string, args: string[]): Up {
  const child = spawn(process.execPath, [cli, 'cluster', 'up', ...args], { cwd, env: ENV, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | string>((r) => child.on('exit', (code, sig) => r(code ?? sig ?? -1)));
  const up: Up = { child, exited, output: () => out, ctrlC: () => process.kill(-child.pid!, 'SIGINT') };
  started.push(up);
  return up;
}

/** The pids of `cluster up`'s children whose command line contains `match`. */
async function childPids(up: Up, match: string): Promise<number[]> {
  const { stdout } = await execFileP('ps', ['-o', 'pid=,args=', '--ppid', String(up.child.pid)]);
  return stdout.split('\n').filter((l) => l.includes(match)).map((l) => Number(l.trim().split(/\s+/)[0]));
}

/** Owner of every shard, read from the cluster the folder's .reel/cluster.json names. */
async function ownersIn(cwd: string): Promise<string[]> {
  const { nats, prefix } = JSON.parse(readFileSync(join(cwd, '.reel', 'cluster.json'), 'utf8')) as { nats: string; prefix: string };
  const nc = await connect({ servers: nats.split(','), noAsyncTraces: true });
  try {
    const client = await ClusterClient.connect(nc, { prefix });
    try {
      await client.view.refresh();
      return client.owners();
    } finally {
      await client.close();
    }
  } finally {
    await nc.close();
  }
}

describe('reel cluster up', () => {
  const root = mkdtempSync(join(tmpdir(), 'reel-up-'));
  let n = 0;
  /** A fresh folder to run `cluster up` in (its `.reel` is the default --dir). */
  const folder = () => {
    const d = join(root, `run-${++n}`);
    mkdirSync(d);
    return d;
  };
  afterEach(async () => {
    // A test that failed half-way leaves nothing behind: stop what it started, then the stragglers.
    for (const up of started.splice(0)) {
      if (up.child.exitCode !== null || up.child.signalCode !== null) continue;
      up.ctrlC();
      const t = setTimeout(() => up.child.kill('SIGKILL'), 30_000);
      await up.exited;
      clearTimeout(t);
    }
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('cluster up - Ctrl-C (SIGINT to the process group) drains every node, then stops nats-server; later commands in the folder use .reel/cluster.json', async () => {
    const cwd = folder();
    const port = await freePort();
    const metricsBase = await freeRange(2);
    const up = clusterUp(cwd, ['--nodes', '2', '--port', String(port), '--metrics-port', String(metricsBase)]);
    const url = `nats://127.0.0.1:${port}`;
    const clusterJson = join(cwd, '.reel', 'cluster.json');
    await waitFor('cluster up wrote .reel/cluster.json', () => existsSync(clusterJson) || up.child.exitCode !== null, { timeoutMs: 20_000, intervalMs: 50, describe: () => up.output() });
    expect(JSON.parse(readFileSync(clusterJson, 'utf8'))).toEqual({ nats: url, prefix: 'reel' });

    // No --nats: status finds the cluster through .reel/cluster.json (never the server on :4222).
    let report: ClusterReport | undefined;
    await waitFor('both nodes own every shard', async () => {
      const r = await reel(cwd, ['status', '--json']);
      report = r.code === 0 ? (JSON.parse(r.stdout) as ClusterReport) : undefined;
      return report !== undefined && report.healthy && report.nodes.filter((x) => x.health === 'live').length === 2;
    }, { timeoutMs: 30_000, intervalMs: 250, describe: () => ({ out: up.output(), report, logs: ['node-1', 'node-2'].map((x) => tail(join(cwd, '.reel', 'logs', `${x}.log`))) }) });
    expect(report!.nodes.map((x) => x.id)).toEqual(['node-1', 'node-2']);
    const human = await reel(cwd, ['status']);
    expect(human.stdout).toContain(`cluster 'reel' at ${url} (from .reel/cluster.json)`);
    // A second cluster up in the same folder, even on free ports, would share the server's store.
    const second = await reel(cwd, ['cluster', 'up', '--nodes', '1', '--port', String(await freePort()), '--metrics-port', String(await freeRange(1))]);
    expect(second.code, second.stderr).toBe(2);
    expect(second.stderr).toContain(`already runs on ${join(cwd, '.reel', 'nats')}`);
    const metrics = await (await fetch(`http://127.0.0.1:${metricsBase + 1}/metrics`)).text();
    expect(metrics).toMatch(/^reel_cluster_shards_owned \d+$/m);
    expect(readFileSync(join(cwd, '.reel', 'logs', 'node-2.log'), 'utf8')).toContain('"msg":"node ready"');

    up.ctrlC();
    expect(await up.exited).toBe(0);
    const out = up.output();
    expect(out).toContain('node-1 exited (0)');
    expect(out).toContain('node-2 exited (0)');
    expect(out).not.toContain('nats-server exited');
    // The server stops only after every node has drained and exited.
    const stopped = out.indexOf('reel: nats-server stopped');
    expect(stopped).toBeGreaterThan(out.indexOf('node-1 exited (0)'));
    expect(stopped).toBeGreaterThan(out.indexOf('node-2 exited (0)'));
    for (const id of ['node-1', 'node-2']) {
      const log = readFileSync(join(cwd, '.reel', 'logs', `${id}.log`), 'utf8');
      expect(log).toContain('drained; exiting');
      expect(log).not.toContain('drain failed');
    }

    // The cluster is gone: status says nothing answers at the URL of cluster.json (it never falls back to :4222).
    const after = await reel(cwd, ['status']);
    expect(after.code).toBe(1);
    expect(after.stderr).toContain(`cannot connect to NATS at ${url} (from .reel/cluster.json`);
  });

  it("operator walkthrough - README's steps end to end: cluster up, status, add a node, move and balance shards, drain, Ctrl-C", async () => {
    const cwd = folder();
    const port = await freePort();
    const metricsBase = await freeRange(4);
    // 1. Start a local cluster (README: `reel cluster up --nodes 3`, here on free ports).
    const up = clusterUp(cwd, ['--nodes', '3', '--port', String(port), '--metrics-port', String(metricsBase)]);
    const logs = () => ({ out: up.output(), logs: ['node-1', 'node-2', 'node-3'].map((x) => tail(join(cwd, '.reel', 'logs', `${x}.log`))) });
    let report: ClusterReport | undefined;
    /** Every named node live, every shard where placement puts it, no handoff in flight (status from the folder: no --nats). */
    const placed = async (ids: string[]) => {
      const r = await reel(cwd, ['status', '--json']);
      report = r.code === 0 ? (JSON.parse(r.stdout) as ClusterReport) : undefined;
      if (report === undefined) return false;
      const live = report.nodes.filter((x) => x.health === 'live');
      return live.map((x) => x.id).join() === ids.join() && report.misplaced.length === 0 && live.every((x) => x.handingOff === 0);
    };
    await waitFor('three nodes own every shard', () => placed(['node-1', 'node-2', 'node-3']), { timeoutMs: 30_000, intervalMs: 250, describe: () => ({ ...logs(), report }) });
    expect(report!.nodes.map((x) => x.shards).sort()).toEqual([42, 43, 43]);

    // 2. Add a node from another terminal, in the same folder: it finds the cluster through .reel/cluster.json.
    const node4 = spawn(process.execPath, [cli, 'node', '--id', 'node-4', '--metrics-port', String(metricsBase + 4)], { cwd, env: ENV, stdio: ['ignore', 'pipe', 'pipe'] });
    let node4Out = '';
    node4.stdout!.on('data', (d: Buffer) => (node4Out += d.toString()));
    node4.stderr!.on('data', (d: Buffer) => (node4Out += d.toString()));
    const node4Exit = new Promise<number | null>((r) => node4.on('exit', (code) => r(code)));
    try {
      await waitFor('four nodes, 32 shards each', () => placed(['node-1', 'node-2', 'node-3', 'node-4']), { timeoutMs: 30_000, intervalMs: 250, describe: () => ({ node4: node4Out.slice(-800), report }) });
      expect(report!.nodes.map((x) => x.shards)).toEqual([32, 32, 32, 32]);
      const human = await reel(cwd, ['status']);
      expect(human.stdout).toMatch(/4 live nodes — healthy/);

      // 3. Move two shards by hand, then balance: both go back where placement puts them.
      const ownersBefore = await ownersIn(cwd);
      const a = ownersBefore.findIndex((o) => o !== 'node-2');
      const b = ownersBefore.findIndex((o, s) => o !== 'node-1' && s !== a);
      for (const [shard, node] of [[a, 'node-2'], [b, 'node-1']] as const) {
        const mv = await reel(cwd, ['shards', 'move', String(shard), node]);
        expect(mv.code, mv.stderr).toBe(0);
        expect(mv.stdout).toContain(`shard ${shard} is on ${node}`);
      }
      const pinned = await reel(cwd, ['status', '--json']);
      expect((JSON.parse(pinned.stdout) as ClusterReport).overrides).toEqual({ [String(Math.min(a, b))]: a < b ? 'node-2' : 'node-1', [String(Math.max(a, b))]: a < b ? 'node-1' : 'node-2' });
      const bal = await reel(cwd, ['shards', 'balance'], 120_000);
      expect(bal.code, bal.stderr).toBe(0);
      expect(bal.stdout).toContain('cleared 2 manual placement(s); every shard is where placement puts it');
      expect(await ownersIn(cwd)).toEqual(ownersBefore);

      // 4. Drain the added node: its shards go back to the three, and it exits 0.
      const drain = await reel(cwd, ['drain', 'node-4'], 120_000);
      expect(drain.code, drain.stderr).toBe(0);
      expect(await node4Exit).toBe(0);
      await waitFor('three nodes own every shard again', () => placed(['node-1', 'node-2', 'node-3']), { timeoutMs: 30_000, intervalMs: 250, describe: () => report });
      expect(report!.nodes.map((x) => x.shards).sort()).toEqual([42, 43, 43]);
    } finally {
      node4.kill('SIGKILL');
    }

    // 5. Ctrl-C: every node drains and exits 0, then the server stops; cluster up exits 0.
    up.ctrlC();
    expect(await up.exited, up.output()).toBe(0);
    for (const id of ['node-1', 'node-2', 'node-3']) expect(up.output()).toContain(`${id} exited (0)`);
    expect(up.output()).toContain('reel: nats-server stopped');
  });

  it('cluster up --nats-servers 3 - three routed nats-servers with R3 buckets; a server killed mid-run is reported, the nodes fail over and keep every shard served; Ctrl-C stops it all', async () => {
    const cwd = folder();
    const port = await freeRange(3).then((b) => b + 1);
    const routePort = await freeRange(3).then((b) => b + 1);
    const metricsBase = await freeRange(2);
    const up = clusterUp(cwd, ['--nodes', '2', '--nats-servers', '3', '--port', String(port), '--route-port', String(routePort), '--metrics-port', String(metricsBase)]);
    const urls = [0, 1, 2].map((i) => `nats://127.0.0.1:${port + i}`).join(',');
    const clusterJson = join(cwd, '.reel', 'cluster.json');
    await waitFor('cluster up wrote .reel/cluster.json', () => existsSync(clusterJson) || up.child.exitCode !== null, { timeoutMs: 30_000, intervalMs: 50, describe: () => up.output() });
    expect(JSON.parse(readFileSync(clusterJson, 'utf8'))).toEqual({ nats: urls, prefix: 'reel' });
    // Each server has its own name, store and config; the config routes to the two others.
    const conf = readFileSync(join(cwd, '.reel', 'nats', 'nats-2.conf'), 'utf8');
    expect(conf).toContain('server_name: "nats-2"');
    expect(conf).toContain(`routes: ["nats-route://127.0.0.1:${routePort}", "nats-route://127.0.0.1:${routePort + 2}"]`);
    let report: ClusterReport | undefined;
    let last: { code: number | null; stdout: string; stderr: string } | undefined;
    const healthy = () =>
      waitFor('both nodes own every shard', async () => {
        const r = (last = await reel(cwd, ['status', '--json']));
        report = r.code === 0 ? (JSON.parse(r.stdout) as ClusterReport) : undefined;
        return report !== undefined && report.healthy && report.nodes.filter((x) => x.health === 'live').length === 2;
      }, { timeoutMs: 40_000, intervalMs: 250, describe: () => ({ out: up.output(), report, last, logs: ['node-1', 'node-2'].map((n) => tail(join(cwd, '.reel', 'logs', `${n}.log`))) }) });
    await healthy();
    const nc = await connect({ servers: urls.split(','), noAsyncTraces: true });
    try {
      const jsm = await jetstreamManager(nc);
      expect((await jsm.streams.info('KV_reel_cluster')).config.num_replicas).toBe(3);
    } finally {
      await nc.close();
    }

    // A server dies: cluster up says so and keeps running; the nodes fail over to the others.
    const [victim] = await childPids(up, `nats-1.conf`);
    process.kill(victim!, 'SIGKILL');
    await waitFor('cluster up reports the dead server', () => up.output().includes('nats-1 exited'), { timeoutMs: 10_000, intervalMs: 50, describe: () => up.output() });
    expect(up.output()).toContain('the nodes fail over to nats-2, nats-3');
    await healthy();

    up.ctrlC();
    // A server died during the run: exit 1, after the nodes drained and the other servers stopped.
    expect(await up.exited).toBe(1);
    const out = up.output();
    expect(out).toContain('node-1 exited (0)');
    expect(out).toContain('node-2 exited (0)');
    expect(out).toContain('reel: nats-2 stopped');
    expect(out).toContain('reel: nats-3 stopped');
  }, 90_000);

  it('cluster up --secure --nats-servers 3 - TLS on clients and routes and a user per role: nodes serve, commands in the folder connect as operator, a client without credentials or TLS is refused', async () => {
    const cwd = folder();
    const port = await freeRange(3).then((b) => b + 1);
    const routePort = await freeRange(3).then((b) => b + 1);
    const up = clusterUp(cwd, ['--nodes', '2', '--secure', '--nats-servers', '3', '--port', String(port), '--route-port', String(routePort), '--metrics-port', String(await freeRange(2))]);
    const secure = join(cwd, '.reel', 'secure');
    let report: ClusterReport | undefined;
    await waitFor('both nodes own every shard, over TLS', async () => {
      if (up.child.exitCode !== null) return true;
      const r = await reel(cwd, ['status', '--json']);
      report = r.code === 0 ? (JSON.parse(r.stdout) as ClusterReport) : undefined;
      return report !== undefined && report.healthy && report.nodes.filter((x) => x.health === 'live').length === 2;
    }, { timeoutMs: 40_000, intervalMs: 250, describe: () => ({ out: up.output(), report }) });
    expect(up.child.exitCode, up.output()).toBe(null);
    const file = JSON.parse(readFileSync(join(cwd, '.reel', 'cluster.json'), 'utf8')) as Record<string, string>;
    expect(file).toMatchObject({ credentials: join(secure, 'operator.credentials.json'), tlsCa: join(secure, 'ca.pem'), tlsCert: join(secure, 'operator.pem') });
    // Passwords and keys are the owner's alone.
    for (const f of ['operator.credentials.json', 'node.nk', 'node-key.pem', 'ca-key.pem']) expect(statSync(join(secure, f)).mode & 0o077).toBe(0);
    expect(statSync(join(cwd, '.reel', 'nats', 'nats-1.conf')).mode & 0o077).toBe(0);
    // The routes between the servers require TLS too.
    expect(readFileSync(join(cwd, '.reel', 'nats', 'nats-1.conf'), 'utf8')).toMatch(/cluster \{[^]*tls \{[^]*verify: true/);
    // Named explicitly, without credentials or certificates: refused, saying what is lacking.
    const bare = await reel(cwd, ['status', '--nats', `nats://127.0.0.1:${port}`]);
    expect(bare.code).toBe(1);
    expect(bare.stderr).toContain('requires TLS: pass --tls-ca');
    // The gateway's credentials read the cluster (what they may not write: test/nats-permissions.test.ts).
    const asGateway = ['--nats', `nats://127.0.0.1:${port}`, '--credentials', join(secure, 'gateway.credentials.json'), '--tls-ca', join(secure, 'ca.pem'), '--tls-cert', join(secure, 'gateway.pem'), '--tls-key', join(secure, 'gateway-key.pem')];
    const status = await reel(cwd, ['status', '--json', ...asGateway]);
    expect(status.code, status.stderr).toBe(0);

    up.ctrlC();
    expect(await up.exited).toBe(0);
    expect(up.output()).toContain('reel: nats-3 stopped');
  }, 90_000);

  it('cluster up - a node that dies during the run is reported, the others keep running, and cluster up exits 1 at the end', async () => {
    const cwd = folder();
    const port = await freePort();
    const up = clusterUp(cwd, ['--nodes', '2', '--port', String(port), '--metrics-port', String(await freeRange(2))]);
    await waitFor('both nodes ready', () => ['node-1', 'node-2'].every((x) => logOf(join(cwd, '.reel', 'logs', `${x}.log`)).includes('"msg":"node ready"')), { timeoutMs: 30_000, intervalMs: 100, describe: () => up.output() });
    const [pid] = await childPids(up, '--id node-1 ');
    expect(pid).toBeGreaterThan(0);
    process.kill(pid!, 'SIGKILL');
    await waitFor('cluster up reports node-1', () => up.output().includes('node-1 exited (SIGKILL)'), { timeoutMs: 10_000, intervalMs: 20, describe: () => up.output() });
    expect(up.child.exitCode).toBe(null);
    up.ctrlC();
    expect(await up.exited).toBe(1);
    expect(up.output()).toContain('node-2 exited (0)');
    expect(up.output()).toContain('reel: nats-server stopped');
  });

  it('cluster up - a busy --port (on 127.0.0.1 or 0.0.0.0) fails fast naming the port and --port, and starts nothing', async () => {
    for (const host of ['127.0.0.1', '0.0.0.0']) {
      const cwd = folder();
      const srv = (await listen(0, host))!;
      const port = (srv.address() as { port: number }).port;
      try {
        const r = await reel(cwd, ['cluster', 'up', '--nodes', '2', '--port', String(port), '--metrics-port', String(await freeRange(2))]);
        expect(r.code, `${host}: ${r.stdout}${r.stderr}`).toBe(2);
        expect(r.stderr).toContain(`port ${port} is in use`);
        expect(r.stderr).toContain('--port');
        expect(existsSync(join(cwd, '.reel', 'cluster.json'))).toBe(false);
        expect(existsSync(join(cwd, '.reel', 'logs', 'node-1.log'))).toBe(false);
        expect(existsSync(join(cwd, '.reel', 'logs', 'nats-server.log'))).toBe(false);
      } finally {
        await close(srv);
      }
    }
  });

  it("cluster up - a busy node metrics port fails fast naming it and --metrics-port, before nats-server starts", async () => {
    const cwd = folder();
    const base = await freeRange(2);
    const srv = (await listen(base + 2, '0.0.0.0'))!;
    try {
      const r = await reel(cwd, ['cluster', 'up', '--nodes', '2', '--port', String(await freePort()), '--metrics-port', String(base)]);
      expect(r.code, r.stdout + r.stderr).toBe(2);
      expect(r.stderr).toContain(`port ${base + 2} is in use`);
      expect(r.stderr).toContain('--metrics-port');
      expect(existsSync(join(cwd, '.reel', 'logs', 'nats-server.log'))).toBe(false);
      expect(existsSync(join(cwd, '.reel', 'cluster.json'))).toBe(false);
    } finally {
      await close(srv);
    }
  });

  it('cluster up - nats-server dying during startup fails at once with its log tail; no node starts', async () => {
    const cwd = folder();
    // A file where the JetStream store directory goes: nats-server exits "storage directory is not a directory".
    mkdirSync(join(cwd, '.reel', 'nats'), { recursive: true });
    writeFileSync(join(cwd, '.reel', 'nats', 'jetstream'), 'not a directory');
    const r = await reel(cwd, ['cluster', 'up', '--nodes', '2', '--port', String(await freePort()), '--metrics-port', String(await freeRange(2))]);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    // Said on the exit itself, not after a startup timeout.
    expect(r.stderr).toContain('nats-server exited during startup');
    expect(r.stderr).toContain('storage directory is not a directory');
    expect(existsSync(join(cwd, '.reel', 'logs', 'node-1.log'))).toBe(false);
    expect(existsSync(join(cwd, '.reel', 'cluster.json'))).toBe(false);
  });

  it('cluster up - bad values of --nodes, --port and --metrics-port are usage errors naming the flag', async () => {
    const cwd = folder();
    // Every other value is a good one (never the default port 4222, taken on these machines).
    const good = { '--nodes': '2', '--port': String(await freePort()), '--metrics-port': String(await freeRange(2)) };
    for (const [flag, value] of [['--nodes', '0'], ['--nodes', 'x'], ['--port', '70000'], ['--port', 'abc'], ['--metrics-port', 'abc'], ['--metrics-port', '65535']] as const) {
      const r = await reel(cwd, ['cluster', 'up', ...Object.entries({ ...good, [flag]: value }).flat()]);
      expect(r.code, `${flag} ${value}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toContain(flag);
    }
    expect(existsSync(join(cwd, '.reel'))).toBe(false);
  });
});
