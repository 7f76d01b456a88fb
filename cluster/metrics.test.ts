import { Registry, register as globalRegistry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { ActorSystem, DURATION_BUCKETS_S, MAX_MESSAGE_TYPES_PER_KIND } from '../runtime/index.js';
import type { Actor } from '../runtime/index.js';
import { MemorySnapshotStore } from '../runtime/snapshot-store-memory.js';
import { LocalHub, LocalTransport } from '../runtime/transport-local.js';
import { testActorFactory } from '../test/fixtures/actors.js';
import { HandOwnership } from '../test/fixtures/ownership.js';
import { parsePrometheus, type PromScrape } from '../test/harness/prometheus.js';
import { rejection } from '../test/harness/rejection.js';
import { BucketHistogram } from './bucket-histogram.js';
import { startMetricsServer } from './metrics-server.js';
import { METRICS_SYSTEM_OPTIONS, processRegistry, registerNodeMetrics, type MetricsSource } from './metrics.js';
import { NODE_VERSION } from './node.js';
import { HANDOFF_BUCKETS_S } from './ownership.js';

const echo: Actor = {
  receive(msg) {
    if (msg.type === 'boom') throw new Error('boom');
    return msg.type;
  },
};

async function setup(): Promise<{ system: ActorSystem; src: MetricsSource & { handoffs: BucketHistogram; owned: number; reconnects: number }; registry: Registry } & AsyncDisposable> {
  const system = new ActorSystem({ nodeId: 'm1', shardCount: 8, dedupMaxEntries: 1_000, ...METRICS_SYSTEM_OPTIONS });
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
    leasesLost: () => 4,
  };
  const registry = new Registry();
  registerNodeMetrics(registry, src);
  return { system, src, registry, [Symbol.asyncDispose]: () => system.stop() };
}

/** A node's registry for `system`, whose cluster-side counts do not matter to the test. */
function registryOf(system: ActorSystem): Registry {
  const registry = new Registry();
  registerNodeMetrics(registry, {
    system,
    ownedShards: () => 0,
    rebalances: () => 0,
    handoffDurations: () => new BucketHistogram(HANDOFF_BUCKETS_S),
    natsReconnects: () => 0,
    handoffRollbacks: () => 0,
    natsConnected: () => true,
    leasesLost: () => 0,
  });
  return registry;
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
      // Every ask is remembered (a copy may still come): 28 sent, none expired yet.
      expect(value(p, 'reel_actor_remembered_asks')).toBe(28);
      expect(value(p, 'reel_cluster_shards_owned')).toBe(5);
      expect(value(p, 'reel_cluster_rebalances_total')).toBe(3);
      expect(value(p, 'reel_nats_reconnects_total')).toBe(2);
      expect(value(p, 'reel_cluster_handoff_rollbacks_total')).toBe(1);
      expect(value(p, 'reel_nats_connected')).toBe(1);
      expect(value(p, 'reel_actor_snapshot_write_failures_total', { kind: 'echo' })).toBe(0);
      expect(value(p, 'reel_cluster_leases_lost_total')).toBe(4);
      expect(value(p, 'reel_cluster_stale_epoch_total')).toBe(0);
      expect(value(p, 'reel_cluster_fenced_writes_total')).toBe(0);
      expect(value(p, 'reel_actor_dedup_hits_total', { kind: 'echo' })).toBe(0);

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
    for (const c of ['reel_cluster_leases_lost_total', 'reel_cluster_stale_epoch_total', 'reel_cluster_fenced_writes_total', 'reel_actor_dedup_hits_total']) {
      expect(text).toContain(`# TYPE ${c} counter`);
    }
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

  it('cluster metrics - an ask sent again with its id is answered from the applied window and counted as a dedup hit, per kind', async () => {
    const system = await new ActorSystem({ nodeId: 'd1', shardCount: 4, dedupMaxEntries: 1000 }).register('test', testActorFactory).start();
    try {
      const registry = registryOf(system);
      expect(await system.ask('test', 'k', 'apply', undefined, { id: 'once' })).toBe(1);
      expect(await system.ask('test', 'k', 'apply', undefined, { id: 'once' })).toBe(1);
      expect(await system.ask('test', 'k', 'apply', undefined, { id: 'once' })).toBe(1);
      const p = parsePrometheus(await registry.metrics());
      expect(value(p, 'reel_actor_dedup_hits_total', { kind: 'test' })).toBe(2);
      expect(value(p, 'reel_actor_dedup_hits_total', { kind: 'test' })).toBe(system.kindStats('test').duplicates);
    } finally {
      await system.stop();
    }
  });

  it('cluster metrics - a message naming a stale owner epoch is refused and counted; a stale owner\'s snapshot write is fenced by the store and counted', async () => {
    const store = new MemorySnapshotStore();
    const node = async (id: string, own: HandOwnership) =>
      new ActorSystem({ nodeId: id, shardCount: 4, transport: new LocalTransport(new LocalHub()), store, ownership: own, askAttemptTimeoutMs: 0 }).register('test', testActorFactory).start();
    // Serves epoch 2, but its senders stamp epoch 1: every attempt is refused as stale until the deadline.
    const stale = await node('stale', new HandOwnership(2, true, 1));
    const oldOwn = new HandOwnership(1);
    const old = await node('old', oldOwn);
    const fresh = await node('new', new HandOwnership(2));
    try {
      expect(['StaleEpoch', 'DeadlineExceeded']).toContain((await rejection(stale.ask('test', 'k', 'incr', undefined, { deadlineMs: 200 }))).code);
      const refused = stale.stats.staleEpochs;
      expect(refused).toBeGreaterThan(0);
      expect(value(parsePrometheus(await registryOf(stale).metrics()), 'reel_cluster_stale_epoch_total')).toBe(refused);

      // The old owner wrote k; a new owner (epoch 2) wrote it after; the old one's late write is refused.
      await old.ask('test', 'k', 'incr');
      await old.ask('test', 'k', 'persist');
      await fresh.ask('test', 'k', 'incr');
      await fresh.ask('test', 'k', 'persist');
      await rejection(old.ask('test', 'k', 'persist', undefined, { deadlineMs: 300 }));
      expect(old.kindStats('test').snapshotsRejected).toBe(1);
      const p = parsePrometheus(await registryOf(old).metrics());
      expect(value(p, 'reel_cluster_fenced_writes_total')).toBe(1);
      expect(value(parsePrometheus(await registryOf(fresh).metrics()), 'reel_cluster_fenced_writes_total')).toBe(0);
    } finally {
      oldOwn.lose();
      for (const s of [stale, old, fresh]) await s.stop();
    }
  });

  it('cluster metrics - a process registry serves process metrics and reel_build_info{version,node} before the node has joined', async () => {
    const registry = processRegistry({ node: 'n7' });
    const p = parsePrometheus(await registry.metrics());
    expect(p.types.get('reel_build_info')).toBe('GAUGE');
    expect(value(p, 'reel_build_info', { version: NODE_VERSION, node: 'n7' })).toBe(1);
    expect(p.select('process_cpu_user_seconds_total')).toHaveLength(1);
    expect(p.select('reel_cluster_shards_owned')).toHaveLength(0);
  });

  it('cluster metrics - the server answers /metrics in Prometheus text, /healthz at once, /readyz 503 with a reason until ready, and 404 elsewhere; it listens on 127.0.0.1 unless told otherwise', async () => {
    await using ctx = await setup();
    let reason: string | undefined = 'joining the cluster';
    const server = await startMetricsServer(ctx.registry, { port: 0, notReady: () => reason });
    try {
      expect(server.port).toBeGreaterThan(0);
      expect(server.host).toBe('127.0.0.1');
      const base = `http://127.0.0.1:${server.port}`;
      const res = await fetch(`${base}/metrics`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe(ctx.registry.contentType);
      expect(value(parsePrometheus(await res.text()), 'reel_cluster_shards_owned')).toBe(5);
      const health = await fetch(`${base}/healthz`);
      expect([health.status, await health.text()]).toEqual([200, 'ok\n']);
      let ready = await fetch(`${base}/readyz`);
      expect([ready.status, await ready.text()]).toEqual([503, 'not ready: joining the cluster\n']);
      reason = undefined;
      ready = await fetch(`${base}/readyz`);
      expect([ready.status, await ready.text()]).toEqual([200, 'ready\n']);
      expect((await fetch(`${base}/readyz`, { method: 'HEAD' })).status).toBe(200);
      expect((await fetch(`${base}/`)).status).toBe(404);
      expect((await fetch(`${base}/metrics`, { method: 'POST' })).status).toBe(405);
      expect((await fetch(`${base}/healthz`, { method: 'POST' })).status).toBe(405);
    } finally {
      await server.close();
    }
  });
});
