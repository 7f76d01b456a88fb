import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import type { ClusterReport } from '../cluster/index.js';
import { builtCli } from './harness/processes.js';
import { waitFor } from './harness/wait.js';

const run = promisify(execFile);
const cli = builtCli();

/** Whether a port can be listened on now (port 0: any), and which. */
function tryListen(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.on('error', () => resolve(undefined));
    srv.listen(port, '0.0.0.0', () => {
      const p = (srv.address() as { port: number }).port;
      srv.close(() => resolve(p));
    });
  });
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

function tail(file: string): string {
  return existsSync(file) ? readFileSync(file, 'utf8').slice(-600) : '(no log)';
}

describe('reel cluster up', () => {
  const dir = mkdtempSync(join(tmpdir(), 'reel-up-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('cluster up - starts nats-server and N nodes with logs and metrics; Ctrl-C drains them and stops everything', async () => {
    const port = await freePort();
    const metricsBase = await freeRange(2);
    const up = spawn(process.execPath, [cli, 'cluster', 'up', '--nodes', '2', '--dir', dir, '--port', String(port), '--metrics-port', String(metricsBase)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((r) => up.on('exit', (code) => r(code)));
    let out = '';
    up.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    up.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    try {
      const url = `nats://127.0.0.1:${port}`;
      let report: ClusterReport | undefined;
      await waitFor('both nodes own every shard', async () => {
        const r = await run(process.execPath, [cli, 'status', '--nats', url, '--json']).catch(() => undefined);
        report = r ? (JSON.parse(r.stdout) as ClusterReport) : undefined;
        return report !== undefined && report.healthy && report.nodes.filter((n) => n.health === 'live').length === 2;
      }, { timeoutMs: 30_000, intervalMs: 250, describe: () => ({ out, report, logs: ['node-1', 'node-2'].map((n) => tail(join(dir, 'logs', `${n}.log`))) }) });
      expect(report!.nodes.map((n) => n.id)).toEqual(['node-1', 'node-2']);
      const metrics = await (await fetch(`http://127.0.0.1:${metricsBase + 1}/metrics`)).text();
      expect(metrics).toMatch(/^reel_cluster_shards_owned \d+$/m);
      expect(existsSync(join(dir, 'logs', 'node-1.log'))).toBe(true);
      expect(readFileSync(join(dir, 'logs', 'node-2.log'), 'utf8')).toContain('"msg":"node ready"');
    } finally {
      up.kill('SIGINT');
    }
    expect(await exited).toBe(0);
    expect(out).toContain('node-1 exited (0)');
    expect(out).toContain('node-2 exited (0)');
    expect(out).toContain('nats-server exited');
  });
});
