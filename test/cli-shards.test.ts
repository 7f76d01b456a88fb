import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCluster, type TestCluster } from './harness/cluster.js';
import { builtCli } from './harness/processes.js';

const run = promisify(execFile);
const cli = builtCli();

describe('reel shards move and balance against real nodes', () => {
  let c: TestCluster;
  const reel = (...args: string[]) => run(process.execPath, [cli, ...args, '--nats', c.nats.url, '--prefix', c.prefix], { timeout: 60_000 });

  beforeAll(async () => {
    c = await startTestCluster({ nodes: 3, label: 'shards' });
    await c.waitBalanced();
  }, 60_000);
  afterAll(async () => {
    await c?.close();
  });

  it('shards - move pins shards to other nodes; balance clears the pins and ownership converges back to placement', async () => {
    await c.client.view.refresh();
    const owners = c.client.owners();
    const placement = c.client.view.storedPlacement(c.shardCount).table;
    expect(placement).toBeDefined();
    // Two pins that swap ownership between nodes, as an operator moving load by hand would.
    const a = owners.findIndex((o) => o === 'n1');
    const b = owners.findIndex((o) => o === 'n2');
    await reel('shards', 'move', String(a), 'n2');
    await reel('shards', 'move', String(b), 'n1');
    await c.client.view.refresh();
    expect(c.client.view.shard(a).value?.owner).toBe('n2');
    expect(c.client.view.shard(b).value?.owner).toBe('n1');
    // balance returns once ownership is back where placement puts it: no wait of our own.
    const { stdout } = await reel('shards', 'balance', '--json');
    const res = JSON.parse(stdout) as { clearedOverrides: number; placed: boolean; shards: Record<string, number> };
    expect(res).toMatchObject({ clearedOverrides: 2, placed: true });
    // Three equal nodes hold 42 or 43 of 128 shards each (plain rendezvous gave 31/48/49).
    expect(Object.values(res.shards).sort()).toEqual([42, 43, 43]);
    await c.client.view.refresh();
    // No node joined or left: the stored placement is the one before the pins, and the pinned shards are home again.
    expect(c.client.view.storedPlacement(c.shardCount).table).toEqual(placement);
    expect(c.client.view.shard(a).value?.owner).toBe('n1');
    expect(c.client.view.shard(b).value?.owner).toBe('n2');
  });

  it('shards - balance --no-wait returns once the pins are cleared; the nodes move the shards back on their own', async () => {
    await c.client.view.refresh();
    const owners = c.client.owners();
    const s = owners.findIndex((o) => o === 'n3');
    await reel('shards', 'move', String(s), 'n1');
    const { stdout } = await reel('shards', 'balance', '--no-wait', '--json');
    expect(JSON.parse(stdout)).toEqual({ clearedOverrides: 1, placed: null });
    await c.waitBalanced(undefined, 30_000);
    expect(c.client.owners()[s]).toBe('n3');
  });
});
