import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import { afterAll, describe, expect, it } from 'vitest';
import { startTestCluster, type TestCluster } from './harness/cluster.js';
import { expectJepsenInvariants, startJepsenWorkload } from './harness/jepsen-workload.js';
import { startNatsCluster, type NatsClusterHandle } from './harness/nats-cluster.js';
import { startNatsServer, uniquePrefix } from './harness/nats-server.js';
import { builtFixture, runReel, startNodeProcess } from './harness/processes.js';
import { waitFor } from './harness/wait.js';

/**
 * reel on a NATS cluster of three real nats-servers (routes, clustered JetStream, R3 buckets):
 * the same invariants as the Jepsen-style test when a server dies or stops answering, and the
 * replica count a cluster's config states is what its buckets have.
 */
const KEYS = 120;
const RATE_PER_S = 200;
const ASK_DEADLINE_MS = 8_000;

describe('nats cluster', () => {
  let nats: NatsClusterHandle | undefined;
  const clusters: TestCluster[] = [];
  afterAll(async () => {
    for (const c of clusters) await c.close();
    await nats?.stop();
  });

  it('nats cluster - buckets of a cluster on three servers keep 3 replicas; a node asking for another count, or finding a bucket with one, refuses to run', async () => {
    nats = await startNatsCluster({ servers: 3 });
    const c = await startTestCluster({ nodes: 1, label: 'r3', natsUrls: nats.urls });
    clusters.push(c);
    const jsm = await jetstreamManager(c.nc);
    expect((await jsm.streams.info(`KV_${c.prefix}_cluster`)).config.num_replicas).toBe(3);
    await c.client.system.ask('test', 'k1', 'applyDurable', undefined, { id: 'r3-1', deadlineMs: 5_000 });
    expect((await jsm.streams.info(`KV_${c.prefix}_snap_test`)).config.num_replicas).toBe(3);

    // Another count than the cluster's: refused, before anything is written.
    const other = startNodeProcess(['node', '--nats', nats.urls, '--id', 'r1', '--prefix', c.prefix, '--kinds', builtFixture('test-kinds.js'), '--replicas', '1']);
    other.ready.catch(() => undefined);
    expect(await other.exited).toBe(2);
    expect(other.stderr()).toContain('started with 1 replica(s) but the cluster keeps 3');

    // A bucket of the cluster made with one replica (by hand, or by an older reel): refused, named.
    const prefix = uniquePrefix('r3bad');
    await new Kvm(c.nc).create(`${prefix}_snap_test`, { replicas: 1 });
    const bad = startNodeProcess(['node', '--nats', nats.urls, '--id', 'b1', '--prefix', prefix, '--kinds', builtFixture('test-kinds.js'), '--replicas', '3']);
    bad.ready.catch(() => undefined);
    expect(await bad.exited).toBe(2);
    expect(bad.stderr()).toContain(`KV_${prefix}_snap_test has 1`);
  }, 60_000);

  it('nats cluster - a node asking for 3 replicas from a lone nats-server refuses at once, saying why', async () => {
    await using lone = await startNatsServer();
    const p = startNodeProcess(['node', '--nats', lone.url, '--id', 'r3', '--prefix', uniquePrefix('lone'), '--kinds', builtFixture('test-kinds.js'), '--replicas', '3']);
    p.ready.catch(() => undefined);
    expect(await p.exited).toBe(2);
    expect(p.stderr()).toContain('3 replicas need a NATS cluster of at least 3 servers');
  });

  for (const fault of ['SIGKILL', 'SIGSTOP'] as const) {
    const what = fault === 'SIGKILL' ? 'killed (SIGKILL) mid-run and restarted later' : 'paused (SIGSTOP) past its route pings, then resumed';
    it(`nats cluster - a server ${what}, under the Jepsen-style workload: no acknowledged op lost or applied twice, no overlapping activations, every shard served`, async () => {
      nats ??= await startNatsCluster({ servers: 3 });
      const n = nats;
      const c = await startTestCluster({ nodes: 3, label: `srv${fault}`, natsUrls: n.urls });
      clusters.push(c);
      await c.waitBalanced();
      const w = startJepsenWorkload(c, { keys: KEYS, ratePerS: RATE_PER_S, deadlineMs: ASK_DEADLINE_MS });
      // The server most clients use: the first of the list.
      const victim = n.servers[0]!;
      try {
        await w.sentMore(300);
        if (fault === 'SIGKILL') await victim.kill();
        else victim.pause();
        // The others go on without it: asks keep being answered.
        const before = w.sent();
        await w.sentMore(600);
        expect(w.sent()).toBeGreaterThan(before);
        if (fault === 'SIGKILL') await victim.restart();
        else victim.resume();
        await c.waitBalanced(['n1', 'n2', 'n3'], 40_000);
        await w.sentMore(300);
      } finally {
        w.stop();
        victim.resume();
      }
      const r = await w.finish();
      console.log(`nats cluster (${fault} ${victim.name}): ${r.summary}`);
      expectJepsenInvariants(r);
      // Every server serves JetStream again, its peers caught up: a fresh client of the victim reads the cluster bucket.
      await waitFor('the victim serves the cluster bucket again', async () => {
        const nc = await connect({ servers: victim.url, noAsyncTraces: true, reconnect: false }).catch(() => undefined);
        if (nc === undefined) return false;
        try {
          return (await (await new Kvm(nc).open(`${c.prefix}_cluster`)).get('config')) !== null;
        } catch {
          return false;
        } finally {
          await nc.close();
        }
      }, { timeoutMs: 20_000, intervalMs: 200 });
    }, 150_000);
  }

  it('nats cluster - reel status reads the cluster through any of the servers', async () => {
    nats ??= await startNatsCluster({ servers: 3 });
    const servers = nats.servers;
    // The first test's cluster, or (this test run alone) one of its own, closed with the others.
    const c = clusters[0] ?? (await startTestCluster({ nodes: 1, label: 'st', natsUrls: nats.urls }));
    if (clusters.length === 0) clusters.push(c);
    await c.waitBalanced();
    const r = await runReel(['status', '--json', '--nats', servers[2]!.url, '--prefix', c.prefix]);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as { shardCount: number; unowned: number[]; nodes: unknown[] };
    expect(report.shardCount).toBe(c.shardCount);
    expect(report.unowned).toEqual([]);
    expect(report.nodes.length).toBeGreaterThan(0);

    // Two of three servers gone: JetStream has no quorum and answers nothing. Status says so, and why.
    // (A leader that has not yet seen its peers go may answer a read or two first.)
    await Promise.all([servers[0]!.kill(), servers[1]!.kill()]);
    let down = r;
    await waitFor('status fails on the lone server', async () => (down = await runReel(['status', '--json', '--nats', servers[2]!.url, '--prefix', c.prefix])).code !== 0 && down.code !== 3, {
      timeoutMs: 60_000, intervalMs: 200, describe: () => down,
    });
    expect(down.code, down.stderr).toBe(1);
    // (A request timed out, or the server says JetStream is unavailable: either, as it happens.)
    expect(down.stderr).toMatch(/^reel: JetStream is unavailable \((a request timed out|the server says: JetStream system temporarily unavailable)\): on a NATS cluster, a server may be down/);
    expect(JSON.parse(down.stdout)).toMatchObject({ error: { code: 'Unavailable', exitCode: 1 } });
  });
});
