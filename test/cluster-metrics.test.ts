import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCluster, type TestCluster } from './harness/cluster.js';
import { parsePrometheus, type PromScrape } from './harness/prometheus.js';
import { waitFor } from './harness/wait.js';

type Scrape = { node: string; text: string; parsed: PromScrape };

describe('cluster metrics - every node serves /metrics', () => {
  let c: TestCluster;
  let ports: Map<string, number>;

  beforeAll(async () => {
    c = await startTestCluster({ nodes: 3, label: 'metrics', metrics: true });
    ports = new Map();
    for (const [id, p] of c.nodes) {
      const ready = await p.ready;
      if (typeof ready.metricsPort !== 'number') throw new Error(`node ${id} announced no metricsPort: ${JSON.stringify(ready)}`);
      ports.set(id, ready.metricsPort);
    }
    await c.waitBalanced();
  });
  afterAll(async () => {
    await c?.close();
  });

  async function scrapeAll(): Promise<Scrape[]> {
    return Promise.all(
      [...ports].map(async ([node, port]) => {
        const res = await fetch(`http://127.0.0.1:${port}/metrics`);
        if (res.status !== 200) throw new Error(`scrape of ${node} on port ${port}: HTTP ${res.status}`);
        expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
        const text = await res.text();
        return { node, text, parsed: parsePrometheus(text) };
      }),
    );
  }

  /** Sum over nodes of the samples of `name` whose labels include `labels`. */
  function total(scrapes: Scrape[], name: string, labels: Record<string, string> = {}): number {
    return scrapes.reduce((n, s) => n + s.parsed.sum(name, labels), 0);
  }

  it('cluster metrics - shards owned sum to S; N asks raise messages_total and the duration count by exactly N', async () => {
    // The view shows every shard owned; a node's gauge counts what it holds itself, which can
    // trail the view by the moment between a claim landing in KV and the node reading the answer.
    let before: Scrape[] = [];
    await waitFor(
      `reel_cluster_shards_owned summed over nodes = ${c.shardCount}`,
      async () => total((before = await scrapeAll()), 'reel_cluster_shards_owned') === c.shardCount,
      { timeoutMs: 5_000, intervalMs: 50, describe: () => before.map((s) => [s.node, total([s], 'reel_cluster_shards_owned')]) },
    );
    const types: Record<string, string> = {
      process_cpu_user_seconds_total: 'COUNTER',
      reel_cluster_shards_owned: 'GAUGE',
      reel_actor_activations: 'GAUGE',
      reel_actor_messages_total: 'COUNTER',
      reel_actor_message_duration_seconds: 'HISTOGRAM',
      reel_actor_mailbox_depth_max: 'GAUGE',
      reel_cluster_rebalances_total: 'COUNTER',
      reel_cluster_handoff_duration_seconds: 'HISTOGRAM',
      reel_nats_reconnects_total: 'COUNTER',
      reel_nats_connected: 'GAUGE',
      reel_cluster_handoff_rollbacks_total: 'COUNTER',
      reel_actor_snapshot_write_failures_total: 'COUNTER',
    };
    for (const s of before) {
      for (const [name, type] of Object.entries(types)) expect(s.parsed.types.get(name), `${s.node} ${name}`).toBe(type);
    }
    const handled0 = total(before, 'reel_actor_messages_total', { kind: 'test', outcome: 'handled' });
    const durations0 = total(before, 'reel_actor_message_duration_seconds_count', { kind: 'test' });

    const N = 500;
    const keys = Array.from({ length: 100 }, (_, i) => `metrics-user-${i}`);
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < N) {
          const i = next++;
          await c.client.system.ask('test', keys[i % keys.length]!, 'incr', undefined, { deadlineMs: 8000 });
        }
      }),
    );

    const after = await scrapeAll();
    expect(total(after, 'reel_cluster_shards_owned')).toBe(c.shardCount);
    expect(total(after, 'reel_actor_messages_total', { kind: 'test', outcome: 'handled' }) - handled0, 'handled messages, summed over nodes').toBe(N);
    expect(total(after, 'reel_actor_messages_total', { kind: 'test', type: 'incr', outcome: 'handled' })).toBeGreaterThanOrEqual(N);
    expect(total(after, 'reel_actor_message_duration_seconds_count', { kind: 'test' }) - durations0, 'duration observations, summed over nodes').toBe(N);
    expect(total(after, 'reel_actor_activations', { kind: 'test' })).toBe(keys.length);
    expect(total(after, 'reel_actor_message_duration_seconds_bucket', { kind: 'test', le: '+Inf' }) - durations0).toBe(N);
    // No actor key (user or title id) in any label value, in any metric.
    for (const s of after) {
      for (const m of s.parsed.samples) {
        for (const v of Object.values(m.labels)) expect(v.startsWith('metrics-user-'), `${s.node} ${m.name} label ${v}`).toBe(false);
      }
      expect(s.text).not.toContain('metrics-user-');
    }
  });

  it('cluster metrics - a joining node makes others hand shards off, counted and timed', async () => {
    const before = await scrapeAll();
    const rebalances0 = total(before, 'reel_cluster_rebalances_total');
    const handoffs0 = total(before, 'reel_cluster_handoff_duration_seconds_count');
    const ready = await (await c.addNode('n4')).ready;
    ports.set('n4', ready.metricsPort as number);
    await c.waitBalanced(['n1', 'n2', 'n3', 'n4']);
    let after: Scrape[] = [];
    await waitFor(
      `shards owned summed over 4 nodes = ${c.shardCount}, every started handoff timed`,
      async () => {
        after = await scrapeAll();
        return total(after, 'reel_cluster_shards_owned') === c.shardCount && total(after, 'reel_cluster_rebalances_total') === total(after, 'reel_cluster_handoff_duration_seconds_count');
      },
      { timeoutMs: 5_000, intervalMs: 50, describe: () => after.map((s) => [s.node, s.parsed.sum('reel_cluster_shards_owned'), s.parsed.sum('reel_cluster_rebalances_total'), s.parsed.sum('reel_cluster_handoff_duration_seconds_count')]) },
    );
    expect(total(after, 'reel_cluster_rebalances_total')).toBeGreaterThan(rebalances0);
    expect(total(after, 'reel_cluster_handoff_duration_seconds_count')).toBeGreaterThan(handoffs0);
    expect(total(after, 'reel_cluster_handoff_duration_seconds_sum')).toBeGreaterThan(0);
    expect(after.find((s) => s.node === 'n4')!.parsed.sum('reel_cluster_shards_owned')).toBeGreaterThan(0);
  });
});
