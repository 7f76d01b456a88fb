import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeStatus } from '../cluster/index.js';
import { startTestCluster, type TestCluster } from './harness/cluster.js';

describe('cluster scatter-gather', () => {
  let c: TestCluster;
  beforeAll(async () => {
    c = await startTestCluster({ nodes: 3, label: 'scatter' });
    await c.waitBalanced();
  });
  afterAll(async () => {
    await c?.close();
  });

  it('scatter-gather - one message per node; together the answers cover every shard once', async () => {
    const before = c.client.system.stats.asksSent;
    const g = await c.client.scatter.gather<NodeStatus>('status', undefined, { deadlineMs: 2000 });
    expect(c.client.system.stats.asksSent - before).toBe(3);
    expect(g.missingShards).toEqual([]);
    expect(g.answers.map((a) => a.node).sort()).toEqual(['n1', 'n2', 'n3']);
    const all = g.answers.flatMap((a) => a.shards).sort((x, y) => x - y);
    expect(all).toEqual(Array.from({ length: 128 }, (_, i) => i));
    for (const a of g.answers) expect(a.value.owned.map(([s]) => s).sort((x, y) => x - y)).toEqual([...a.shards].sort((x, y) => x - y));
  });

  it('scatter-gather - with one node stopped, a partial result within the deadline names exactly its shards', async () => {
    const n2 = c.nodes.get('n2')!;
    const n2Shards = c.client.owners().flatMap((o, s) => (o === 'n2' ? [s] : []));
    n2.kill('SIGSTOP');
    try {
      const t0 = Date.now();
      const g = await c.client.scatter.gather<NodeStatus>('status', undefined, { deadlineMs: 300 });
      const took = Date.now() - t0;
      expect(g.answers.map((a) => a.node).sort()).toEqual(['n1', 'n3']);
      expect(g.missingShards).toEqual(n2Shards);
      expect(took).toBeLessThan(300 + 700); // the deadline plus a sweep tick, with slack for a noisy machine
    } finally {
      n2.kill('SIGCONT');
    }
  });
});
