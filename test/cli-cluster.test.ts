import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import type { ClusterReport } from '../cluster/index.js';
import { startNatsServer, uniquePrefix, type NatsServerHandle } from './harness/nats-server.js';
import { builtCli, runReel } from './harness/processes.js';
import { waitFor } from './harness/wait.js';

const run = promisify(execFile);
const cli = builtCli();

const reel = (args: string[]) => runReel(args);

describe('operator CLI against real reel node processes', () => {
  let nats: NatsServerHandle;
  let dir: string;
  let config: string;
  let prefix: string;
  const nodes = new Map<string, { child: ChildProcess; exit: Promise<number | null> }>();

  const startNode = (id: string, extra: string[] = []) => {
    const child = spawn(process.execPath, [cli, 'node', '--config', config, '--id', id, ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
    const exit = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    nodes.set(id, { child, exit });
  };
  const status = async (): Promise<{ code: number; report: ClusterReport }> => {
    const r = await run(process.execPath, [cli, 'status', '--config', config, '--json']).then(
      (x) => ({ code: 0, stdout: x.stdout }),
      (e: { code: number; stdout: string }) => ({ code: e.code, stdout: e.stdout }),
    );
    // Before the first node has created the cluster, status fails (exit 1) with a JSON error object.
    const parsed = JSON.parse(r.stdout) as ClusterReport | { error: { code: string } };
    if ('error' in parsed) {
      expect(r.code).toBe(1);
      return { code: r.code, report: { nodes: [], healthy: false, moving: [], misplaced: [] } as unknown as ClusterReport };
    }
    return { code: r.code, report: parsed };
  };
  /** Every node as wanted, the cluster healthy, and (no handoff in flight) each live node holding what placement gives it. */
  const settled = (want: Record<string, 'live' | 'gone'>, healthy: boolean) => async () => {
    const { report } = await status();
    const ok = Object.entries(want).every(([id, h]) => report.nodes.find((n) => n.id === id)?.health === h || (h === 'gone' && !report.nodes.some((n) => n.id === id)));
    if (!ok || report.healthy !== healthy) return false;
    const live = report.nodes.filter((n) => n.health === 'live');
    // Placed where placement says, and (equal weights) each live node holding its share, rounded.
    const share = report.shardCount / live.length;
    return report.misplaced.length === 0 && live.every((n) => n.handingOff === 0 && Math.abs(n.shards - share) < 1);
  };

  beforeAll(async () => {
    nats = await startNatsServer();
    dir = mkdtempSync(join(tmpdir(), 'reel-cli-'));
    config = join(dir, 'reel.json');
    // Settings from a config file, as an operator would keep them; short timings for the test.
    prefix = uniquePrefix('cli');
    writeFileSync(config, JSON.stringify({ nats: nats.url, prefix, heartbeatWindowMs: 1500, leaseMs: 1000, goneMemberRemovalMs: 20_000 }));
  });
  afterAll(async () => {
    for (const { child } of nodes.values()) child.kill('SIGKILL');
    await nats?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('cli - status --json reflects start, join, drain and kill; drain empties the node and it exits 0; a killed node is listed gone (degraded) until its entry is removed', async () => {
    // a does not probe for dead owners (`--probe-ms 0`): it waits out c's lease, so that c's shards
    // are seen moving after its kill (early takeover has its own tests, test/cluster-failover.test.ts).
    startNode('a', ['--probe-ms', '0']);
    startNode('b');
    await waitFor('a and b own every shard', settled({ a: 'live', b: 'live' }, true), { timeoutMs: 20_000, intervalMs: 200 });
    let { code, report } = await status();
    expect(code).toBe(0);
    expect(report.shardCount).toBe(128);
    expect(report.nodes.map((n) => [n.id, n.health]).sort()).toEqual([['a', 'live'], ['b', 'live']]);
    expect(report.nodes.reduce((s, n) => s + n.shards, 0)).toBe(128);

    // c's leases are long enough (5 s) that its shards are seen moving after its kill, however slow each status run is.
    startNode('c', ['--lease-ms', '5000']);
    await waitFor('c joined and owns shards', async () => (await settled({ a: 'live', b: 'live', c: 'live' }, true)()) && (await status()).report.nodes.find((n) => n.id === 'c')!.shards > 0, { timeoutMs: 20_000, intervalMs: 200 });
    ({ report } = await status());
    for (const n of report.nodes) expect(n.shards).toBeGreaterThan(20);

    const drained = await run(process.execPath, [cli, 'drain', 'b', '--config', config, '--json']);
    expect(JSON.parse(drained.stdout)).toMatchObject({ node: 'b', drained: true });
    expect(await nodes.get('b')!.exit).toBe(0);
    ({ code, report } = await status());
    expect(report.nodes.some((n) => n.id === 'b')).toBe(false);
    expect(report.nodes.reduce((s, n) => s + n.shards, 0)).toBe(128);
    expect(code).toBe(0);

    nodes.get('c')!.child.kill('SIGKILL');
    let last: unknown;
    await waitFor('c seen gone with its shards moving', async () => {
      const r = await status();
      last = r;
      return r.code === 3 && r.report.moving.length > 0 && r.report.nodes.find((n) => n.id === 'c')?.health === 'gone';
    }, { timeoutMs: 20_000, intervalMs: 100, describe: () => last });
    // Draining a node that is gone is refused plainly: there is no process left to hand anything off.
    const drainGone = (await run(process.execPath, [cli, 'drain', 'c', '--config', config]).catch((e: unknown) => e)) as { code: number; stderr: string };
    expect(drainGone.code).toBe(4);
    expect(drainGone.stderr).toContain("node 'c' is gone: it stopped without leaving the cluster");
    // A crashed node stays listed, gone, and the cluster DEGRADED, even once its shards are served again…
    await waitFor('a took every shard; c still listed gone', async () => {
      const r = await status();
      last = r;
      return r.code === 3 && r.report.nodes.find((n) => n.id === 'c')?.health === 'gone' && r.report.nodes.find((n) => n.id === 'a')?.shards === 128 && r.report.moving.length === 0;
    }, { timeoutMs: 20_000, intervalMs: 100, describe: () => last });
    // …until a, having seen c's entry stand still for goneMemberRemovalMs, removes it.
    await waitFor('c removed; a holds every shard', settled({ a: 'live', c: 'gone' }, true), { timeoutMs: 30_000, intervalMs: 200 });
    ({ code, report } = await status());
    expect(code).toBe(0);
    expect(report.nodes.map((n) => n.id)).toEqual(['a']);
    expect(report.nodes.find((n) => n.id === 'a')!.shards).toBe(128);
    const human = await reel(['status', '--config', config]);
    // Health is asserted above (JSON); here the header: the server asked, where its URL came from, and "1 live node".
    expect(human.stdout).toContain(`cluster '${prefix}' at ${nats.url} (from config file ${config}): 128 shards, 1 live node — `);
  }, 120_000);

  it('cli - a bad config file is a usage error naming the file and line; unknown nodes exit 4', async () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{\n  "nats": "x",\n  oops\n}');
    const e1 = (await run(process.execPath, [cli, 'status', '--config', bad]).catch((e: unknown) => e)) as { code: number; stderr: string };
    expect(e1.code).toBe(2);
    expect(e1.stderr).toContain(`config file ${bad}:3`);
    const e2 = (await run(process.execPath, [cli, 'drain', 'nobody', '--config', config]).catch((e: unknown) => e)) as { code: number; stderr: string };
    expect(e2.code).toBe(4);
    expect(e2.stderr).toContain("no live node 'nobody'");
  });

  it('cli - status, drain and shards against a NATS with no such cluster fail clearly and create nothing', async () => {
    const none = uniquePrefix('none');
    const nc = await connect({ servers: nats.url, noAsyncTraces: true });
    try {
      const jsm = await jetstreamManager(nc);
      const streams = async () => {
        const found: string[] = [];
        for await (const name of jsm.streams.names()) if (name.includes(none)) found.push(name);
        return found;
      };
      for (const args of [['status'], ['status', '--json'], ['drain', 'a'], ['shards', 'move', '1', 'a'], ['shards', 'balance']]) {
        const r = await reel([...args, '--nats', nats.url, '--prefix', none]);
        expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(1);
        expect(r.stderr).toContain(`no reel cluster with prefix '${none}' at ${nats.url} (no bucket ${none}_cluster)`);
        expect(await streams(), args.join(' ')).toEqual([]);
        if (args.includes('--json')) expect(JSON.parse(r.stdout)).toEqual({ error: { code: 'NoCluster', message: expect.stringContaining(`no reel cluster with prefix '${none}'`), exitCode: 1 } });
      }
    } finally {
      await nc.close();
    }
  });

  it('cli - arguments are checked before connecting: exit 2 naming the argument', async () => {
    // Nothing listens there: a command that connected before checking would fail with exit 1 instead.
    const nowhere = ['--nats', 'nats://127.0.0.1:1'];
    const cases: Array<[string[], string]> = [
      [['drain', 'a', '--timeout', 'abc'], '--timeout'],
      [['drain', 'a', '--timeout', '0'], '--timeout'],
      [['drain', 'a', '--timeout=-5'], '--timeout'],
      [['drain', 'a.b'], 'node'],
      [['shards', 'move', 'abc', 'a'], 'shard'],
      [['shards', 'move', '1.5', 'a'], 'shard'],
      [['shards', 'move', '1', 'no such'], 'node'],
      [['shards', 'move', '1', 'a', '--timeout', 'soon'], '--timeout'],
      [['shards', 'balance', '--timeout', '-1'], '--timeout'],
    ];
    for (const [args, named] of cases) {
      const r = await reel([...args, ...nowhere]);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr, args.join(' ')).toContain(named);
      expect(r.stderr, args.join(' ')).not.toContain('cannot connect');
    }
    // The shard's range needs the cluster's shard count: checked once connected, still a usage error.
    const r = await reel(['shards', 'move', '128', 'a', '--config', config]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain("shard '128' is not in 0-127");
  });
});
