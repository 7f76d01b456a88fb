import { createServer, type Server } from 'node:net';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ClusterClient, clusterStatus, NODE_VERSION } from '../cluster/index.js';
import { shardOf } from '../runtime/index.js';
import { FAST_NODE_FLAGS, startTestCluster, type TestCluster } from './harness/cluster.js';
import { startNatsServer, uniquePrefix, type NatsServerHandle } from './harness/nats-server.js';
import { builtFixture, startNodeProcess, type NodeProcess } from './harness/processes.js';
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
      reel_cluster_fenced_writes_total: 'COUNTER',
      reel_cluster_stale_epoch_total: 'COUNTER',
      reel_actor_dedup_hits_total: 'COUNTER',
      reel_cluster_leases_lost_total: 'COUNTER',
      reel_build_info: 'GAUGE',
    };
    for (const s of before) {
      for (const [name, type] of Object.entries(types)) expect(s.parsed.types.get(name), `${s.node} ${name}`).toBe(type);
      expect(s.parsed.select('reel_build_info').map((x) => [x.labels, x.value])).toEqual([[{ version: NODE_VERSION, node: s.node }, 1]]);
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

  it('cluster metrics - an ask sent again with the same id is answered from the applied window and counted as a dedup hit', async () => {
    const before = total(await scrapeAll(), 'reel_actor_dedup_hits_total', { kind: 'test' });
    expect(await c.client.system.ask('test', 'dedup-k', 'apply', undefined, { id: 'dedup-once', deadlineMs: 8000 })).toBe(1);
    expect(await c.client.system.ask('test', 'dedup-k', 'apply', undefined, { id: 'dedup-once', deadlineMs: 8000 })).toBe(1);
    const after = await scrapeAll();
    // At least the repeat; an attempt resent on a slow machine is one more, and counted the same.
    expect(total(after, 'reel_actor_dedup_hits_total', { kind: 'test' }) - before).toBeGreaterThanOrEqual(1);
    expect(total(after, 'reel_actor_dedup_hits_total')).toBe(total(after, 'reel_actor_messages_total', { outcome: 'duplicates' }));
  });
});

/** A `reel node` on `nats` hosting the test kinds and the `fault` kind, with fast timings unless `extra` overrides them. */
function faultNode(nats: NatsServerHandle, prefix: string, id: string, extra: string[] = []): NodeProcess {
  return startNodeProcess(['node', '--nats', nats.url, '--id', id, '--prefix', prefix, '--shard-count', '32', '--kinds', builtFixture('fault-kinds.js'), ...FAST_NODE_FLAGS, ...extra]);
}

/** The owner of every shard as `client` sees it, once the view is read again. */
async function owners(client: ClusterClient): Promise<string[]> {
  await client.view.refresh();
  return client.owners();
}

describe('cluster metrics - ports, faults and readiness of a node process', () => {
  let nats: NatsServerHandle;
  let nc: NatsConnection;
  let client: ClusterClient;
  let prefix: string;
  const procs: NodeProcess[] = [];
  const start = (id: string, extra: string[] = []) => {
    const p = faultNode(nats, prefix, id, extra);
    procs.push(p);
    return p;
  };

  beforeAll(async () => {
    nats = await startNatsServer();
    nc = await connect({ servers: nats.url, noAsyncTraces: true, maxReconnectAttempts: -1, reconnectTimeWait: 200 });
  });
  afterEach(async () => {
    await client?.close().catch(() => undefined);
    for (const p of procs.splice(0)) {
      p.kill('SIGCONT');
      p.kill('SIGKILL');
      await p.exited;
    }
  });
  afterAll(async () => {
    await nc?.close();
    await nats?.stop();
  });

  const newCluster = async (label: string) => {
    prefix = uniquePrefix(label);
    client = await ClusterClient.connect(nc, { prefix, shardCount: 32 });
  };

  it('cluster metrics - a busy --metrics-port makes reel node exit 1 naming the port before it joins: it never writes a members entry', async () => {
    await newCluster('busyport');
    const n1 = start('n1', ['--metrics-port', '0']);
    const listening = await n1.waitEvent((e) => e.msg === 'metrics server listening');
    // The default interface is the loopback one: a scrape from elsewhere needs --metrics-host.
    expect(listening).toMatchObject({ host: '127.0.0.1' });
    await n1.ready;
    const blocker: Server = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as { port: number }).port;
    try {
      const busy = start('busy', ['--metrics-port', String(port)]);
      expect(await busy.exited).toBe(1);
      expect(busy.stderr()).toContain(`--metrics-port ${port}: cannot listen on 127.0.0.1:${port}: the address is in use`);
      // Not even a delete marker: the node never wrote its entry (get is null only for a key never written).
      expect(await client.kv.get('members.busy')).toBeNull();
      expect((await owners(client)).includes('busy')).toBe(false);
    } finally {
      blocker.close();
    }
  });

  it('cluster metrics - a node hitting a fatal error after joining (uncaught exception, unhandled rejection) releases its shards at once, marks its entry failed and exits 1; status shows it gone until its entry is removed', async () => {
    await newCluster('fatal');
    // A lease far longer than the test waits: shards move this fast only if they are released.
    const slow = ['--lease-ms', '60000', '--renew-ms', '1000', '--gone-member-removal-ms', '10000'];
    const n1 = start('n1', slow);
    const n2 = start('n2', slow);
    await Promise.all([n1.ready, n2.ready]);
    await waitFor('n1 and n2 own every shard', async () => {
      const o = await owners(client);
      return o.every((x) => x === 'n1' || x === 'n2') && o.includes('n1') && o.includes('n2');
    }, { timeoutMs: 20_000, intervalMs: 100 });

    const crash = async (victim: NodeProcess, id: string, survivor: string, type: string, error: RegExp) => {
      const o = await owners(client);
      let k = 0;
      while (o[shardOf('fault', `f${k}`, 32)] !== id) k++;
      await client.system.ask('fault', `f${k}`, type, { node: id }, { deadlineMs: 5000 });
      await waitFor(`${id} exits after its fatal error`, () => victim.exitedAt() !== undefined, { timeoutMs: 20_000, intervalMs: 50, describe: () => victim.tail() });
      expect(await victim.exited).toBe(1);
      expect(victim.events.find((e) => e.msg === 'node cannot go on; exiting')?.error).toMatch(error);
      const left = victim.events.find((e) => e.msg === 'left the cluster');
      expect(left, victim.tail()).toMatchObject({ node: id });
      expect(left!.released).toBeGreaterThan(0);
      let seen: string[] = [];
      await waitFor(`${survivor} owns every shard long before ${id}'s 60 s leases could run out`, async () => (seen = await owners(client)).every((x) => x === survivor), { timeoutMs: 20_000, intervalMs: 100, describe: () => seen });
      const entry = await client.kv.get(`members.${id}`);
      expect(entry?.operation).toBe('PUT');
      expect(entry?.json<{ failed?: string; draining?: boolean }>()).toMatchObject({ draining: true, failed: expect.stringMatching(error) });
      const report = await clusterStatus(client, prefix, { heartbeatWindowMs: 1500 });
      expect(report.nodes.find((n) => n.id === id)).toMatchObject({ health: 'gone', shards: 0, failed: expect.stringMatching(error) });
      expect(report.healthy).toBe(false);
    };
    await crash(n1, 'n1', 'n2', 'throwUncaught', /thrown on purpose outside any handler/);
    // The survivor deletes the failed node's entry once it has stood still for --gone-member-removal-ms.
    await waitFor("n1's entry removed", async () => (await client.kv.get('members.n1'))?.operation === 'DEL', { timeoutMs: 20_000, intervalMs: 200 });
    const report = await clusterStatus(client, prefix, { heartbeatWindowMs: 1500 });
    expect(report.nodes.map((n) => [n.id, n.health])).toEqual([['n2', 'live']]);
    expect(report.healthy).toBe(true);

    const n3 = start('n3', slow);
    await n3.ready;
    await waitFor('n2 and n3 own every shard', async () => {
      const o = await owners(client);
      return o.every((x) => x === 'n2' || x === 'n3') && o.includes('n3') && o.includes('n2');
    }, { timeoutMs: 20_000, intervalMs: 100 });
    await crash(n2, 'n2', 'n3', 'rejectUnhandled', /rejected on purpose, unhandled/);
    // Two crashes, the removal of an entry after 10 s and a join: a slow machine needs more than the default 60 s.
  }, 120_000);

  it('cluster metrics - /healthz answers from the start; /readyz is 503 until the node holds its assigned shards, 200 then, 503 while cut off from NATS and 200 again after; lease losses are counted', async () => {
    await newCluster('ready');
    const slow = ['--lease-ms', '6000', '--renew-ms', '1000'];
    const n1 = start('n1', slow);
    await n1.ready;
    await waitFor('n1 owns every shard', async () => (await owners(client)).every((x) => x === 'n1'), { timeoutMs: 20_000, intervalMs: 100 });
    // Paused, n1 keeps every shard until its 6 s leases are seen to run out.
    n1.kill('SIGSTOP');
    const n2 = start('n2', [...slow, '--metrics-port', '0']);
    const listening = await n2.waitEvent((e) => e.msg === 'metrics server listening');
    const base = `http://127.0.0.1:${listening.port as number}`;
    const get = async (path: string) => {
      const r = await fetch(`${base}${path}`);
      return { status: r.status, text: await r.text() };
    };
    await n2.ready;
    expect(await get('/healthz')).toEqual({ status: 200, text: 'ok\n' });
    const waiting = await get('/readyz');
    expect(waiting.status).toBe(503);
    expect(waiting.text).toMatch(/^not ready: \d+ assigned shards not held yet/);
    let last = waiting;
    await waitFor('n2 ready', async () => (last = await get('/readyz')).status === 200, { timeoutMs: 30_000, intervalMs: 100, describe: () => last });
    expect(last.text).toBe('ready\n');
    expect((await owners(client)).every((x) => x === 'n2')).toBe(true);
    n1.kill('SIGKILL');

    await nats.kill();
    await waitFor('n2 not ready while cut off', async () => (last = await get('/readyz')).status === 503 && /disconnected from NATS/.test(last.text), { timeoutMs: 20_000, intervalMs: 100, describe: () => last });
    expect(await get('/healthz')).toEqual({ status: 200, text: 'ok\n' });
    await nats.restart();
    await waitFor('n2 ready again', async () => (last = await get('/readyz')).status === 200, { timeoutMs: 40_000, intervalMs: 100, describe: () => last });
    const p = parsePrometheus(await (await fetch(`${base}/metrics`)).text());
    // Cut off, it dropped all 32 shards at once.
    expect(p.sum('reel_cluster_leases_lost_total')).toBeGreaterThanOrEqual(32);
    expect(p.select('reel_build_info', { node: 'n2', version: NODE_VERSION })).toHaveLength(1);
  });
});
