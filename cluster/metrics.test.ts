import { Registry, register as globalRegistry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { ActorSystem, DURATION_BUCKETS_S, MAX_MESSAGE_TYPES_PER_KIND } from '../runtime/index.js';
import type { Actor } from '../runtime/index.js';
import { parsePrometheus, type PromScrape } from '../test/harness/prometheus.js';
import { BucketHistogram } from './bucket-histogram.js';
import { startMetricsServer } from './metrics-server.js';
import { METRICS_SYSTEM_OPTIONS, registerNodeMetrics, type MetricsSource } from './metrics.js';
import { HANDOFF_BUCKETS_S } from './ownership.js';

const echo: Actor = {
  receive(msg) {
    if (msg.type === 'boom') throw new Error('boom');
    return msg.type;
  },
};

async function setup(): Promise<{ system: ActorSystem; src: MetricsSource & { handoffs: BucketHistogram; owned: number; reconnects: number }; registry: Registry } & AsyncDisposable> {
  const system = new ActorSystem({ nodeId: 'm1', shardCount: 8, ...METRICS_SYSTEM_OPTIONS });
  system.register('echo', () => echo);
  system.register('idle', () => echo);
  await system.start();
  const src = {
    system,
    handoffs: new BucketHistogram(HANDOFF_BUCKETS_S),
    owned: 5,
    reconnects: 2,
    ownedShards: () => src.owned,
    rebalances: () => 3,
    handoffDurations: () => src.handoffs,
    natsReconnects: () => src.reconnects,
    handoffRollbacks: () => 1,
    natsConnected: () => true,
  };
  const registry = new Registry();
  registerNodeMetrics(registry, src);
  return { system, src, registry, [Symbol.asyncDispose]: () => system.stop() };
}

/** The one sample of `name` with `labels`. */
function value(p: PromScrape, name: string, labels: Record<string, string> = {}): number {
  const found = p.select(name, labels);
  if (found.length !== 1) throw new Error(`${found.length} samples of ${name} with ${JSON.stringify(labels)}`);
  return found[0]!.value;
}

describe('cluster metrics', () => {
  it('cluster metrics - counters, gauges and the duration histogram mirror the runtime, scrape after scrape', async () => {
    await using ctx = await setup();
    const { system, registry } = ctx;
    for (let i = 0; i < 20; i++) await system.ask('echo', `k${i % 4}`, 'a');
    for (let i = 0; i < 7; i++) await system.ask('echo', `k${i % 4}`, 'b');
    await expect(system.ask('echo', 'k9', 'boom')).rejects.toThrow();

    const text = await registry.metrics();
    // Twice: counters are set from the runtime's counts, never added to.
    for (const p of [parsePrometheus(text), parsePrometheus(await registry.metrics())]) {
      expect(value(p, 'reel_actor_messages_total', { kind: 'echo', type: 'a', outcome: 'handled' })).toBe(20);
      expect(value(p, 'reel_actor_messages_total', { kind: 'echo', type: 'b', outcome: 'handled' })).toBe(7);
      expect(value(p, 'reel_actor_messages_total', { kind: 'echo', type: 'boom', outcome: 'failed' })).toBe(1);
      expect(value(p, 'reel_actor_messages_total', { kind: 'echo', type: 'a', outcome: 'overloaded' })).toBe(0);
      expect(value(p, 'reel_actor_activations', { kind: 'echo' })).toBe(system.kindStats('echo').active);
      expect(value(p, 'reel_actor_activations', { kind: 'idle' })).toBe(0);
      expect(value(p, 'reel_actor_mailbox_depth_max')).toBe(0);
      expect(value(p, 'reel_cluster_shards_owned')).toBe(5);
      expect(value(p, 'reel_cluster_rebalances_total')).toBe(3);
      expect(value(p, 'reel_nats_reconnects_total')).toBe(2);
      expect(value(p, 'reel_cluster_handoff_rollbacks_total')).toBe(1);
      expect(value(p, 'reel_nats_connected')).toBe(1);
      expect(value(p, 'reel_actor_snapshot_write_failures_total', { kind: 'echo' })).toBe(0);

      expect(p.types.get('reel_actor_message_duration_seconds')).toBe('HISTOGRAM');
      expect(value(p, 'reel_actor_message_duration_seconds_count', { kind: 'echo' })).toBe(28);
      expect(value(p, 'reel_actor_message_duration_seconds_count', { kind: 'idle' })).toBe(0);
      const buckets = p.select('reel_actor_message_duration_seconds_bucket', { kind: 'echo' });
      expect(buckets.map((b) => b.labels.le)).toEqual([...DURATION_BUCKETS_S.map(String), '+Inf']);
      const cumulative = buckets.map((b) => b.value);
      expect([...cumulative].sort((x, y) => x - y)).toEqual(cumulative);
      expect(cumulative.at(-1)).toBe(28);
      expect(value(p, 'reel_actor_message_duration_seconds_sum', { kind: 'echo' })).toBeCloseTo(system.kindStats('echo').durations!.sum, 12);
    }
    expect(text).toContain('# TYPE reel_actor_messages_total counter');
    expect(text).toContain('# TYPE reel_actor_message_duration_seconds histogram');
    expect(text).toContain('# TYPE reel_cluster_shards_owned gauge');
    // No actor key in any label.
    expect(text).not.toMatch(/"k\d"/);
    // An explicit registry: nothing lands in the global one.
    expect(await globalRegistry.metrics()).not.toContain('reel_');
  });

  it('cluster metrics - the handoff histogram exposes cumulative buckets, sum and count', async () => {
    await using ctx = await setup();
    for (const s of [0.004, 0.02, 0.3, 0.3, 7, 120]) ctx.src.handoffs.observe(s);
    const p = parsePrometheus(await ctx.registry.metrics());
    const buckets = Object.fromEntries(p.select('reel_cluster_handoff_duration_seconds_bucket').map((b) => [b.labels.le, b.value]));
    expect(buckets).toEqual({ '0.01': 1, '0.025': 2, '0.05': 2, '0.1': 2, '0.25': 2, '0.5': 4, '1': 4, '2.5': 4, '5': 4, '10': 5, '30': 5, '60': 5, '+Inf': 6 });
    expect(value(p, 'reel_cluster_handoff_duration_seconds_count')).toBe(6);
    expect(value(p, 'reel_cluster_handoff_duration_seconds_sum')).toBeCloseTo(127.624, 9);
  });

  it('cluster metrics - message types past the per-kind limit are summed under type="other"', async () => {
    await using ctx = await setup();
    const n = MAX_MESSAGE_TYPES_PER_KIND + 5;
    for (let i = 0; i < n; i++) await ctx.system.ask('echo', 'k', `t${i}`);
    await ctx.system.ask('echo', 'k', `t${n - 1}`);
    const p = parsePrometheus(await ctx.registry.metrics());
    const handled = p.select('reel_actor_messages_total', { kind: 'echo', outcome: 'handled' });
    expect(handled).toHaveLength(MAX_MESSAGE_TYPES_PER_KIND + 1);
    expect(value(p, 'reel_actor_messages_total', { kind: 'echo', type: 'other', outcome: 'handled' })).toBe(6);
    expect(p.sum('reel_actor_messages_total', { kind: 'echo', outcome: 'handled' })).toBe(n + 1);
  });

  it('cluster metrics - the server answers GET /metrics in Prometheus text and 404 elsewhere', async () => {
    await using ctx = await setup();
    const server = await startMetricsServer(ctx.registry, 0, '127.0.0.1');
    try {
      expect(server.port).toBeGreaterThan(0);
      const res = await fetch(`http://127.0.0.1:${server.port}/metrics`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe(ctx.registry.contentType);
      expect(value(parsePrometheus(await res.text()), 'reel_cluster_shards_owned')).toBe(5);
      expect((await fetch(`http://127.0.0.1:${server.port}/`)).status).toBe(404);
      expect((await fetch(`http://127.0.0.1:${server.port}/metrics`, { method: 'POST' })).status).toBe(405);
    } finally {
      await server.close();
    }
  });
});
