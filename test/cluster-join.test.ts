import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countBy, startTestCluster, type TestCluster } from './harness/cluster.js';

describe('cluster - a node joins under load', () => {
  let c: TestCluster;
  beforeAll(async () => {
    c = await startTestCluster({ nodes: 3, label: 'join' });
    await c.waitBalanced();
  });
  afterAll(async () => {
    await c?.close();
  });

  it('cluster - a 4th node takes about a quarter of the shards; every ask is applied exactly once', async () => {
    const actors = Array.from({ length: 1000 }, (_, i) => `c${i}`);
    const sent = new Map<string, Set<string>>(actors.map((a) => [a, new Set()]));
    const acked = new Map<string, Set<string>>(actors.map((a) => [a, new Set()]));
    let failed = 0;
    const failures: string[] = [];
    let stop = false;
    let seq = 0;
    const loop = async (w: number) => {
      while (!stop) {
        const key = actors[(seq++ * 7 + w) % actors.length]!;
        const id = `w${w}-${seq}`;
        sent.get(key)!.add(id);
        try {
          await c.client.system.ask('test', key, 'apply', undefined, { id, deadlineMs: 8000 });
          acked.get(key)!.add(id);
        } catch (e) {
          failed++;
          if (failures.length < 5) failures.push(`${key} ${id}: ${(e as Error).message}`);
        }
      }
    };
    const load = Array.from({ length: 32 }, (_, w) => loop(w));
    // Load runs against 3 nodes, then through the join, then a little after.
    while (seq < 3000) await new Promise((r) => setTimeout(r, 20));
    const t0 = Date.now();
    await c.addNode('n4');
    await c.waitBalanced(['n1', 'n2', 'n3', 'n4']);
    const joinSeconds = (Date.now() - t0) / 1000;
    const before = seq;
    while (seq < before + 3000) await new Promise((r) => setTimeout(r, 20));
    stop = true;
    await Promise.all(load);

    const owners = countBy(c.client.owners());
    expect(owners.n4).toBeGreaterThanOrEqual(16);
    expect(owners.n4).toBeLessThanOrEqual(50);

    let applied = 0;
    for (const key of actors) {
      const ids = await c.client.system.ask<string[]>('test', key, 'applied');
      const set = new Set(ids);
      expect(set.size, `${key} applied an id twice`).toBe(ids.length);
      for (const id of ids) expect(sent.get(key)!.has(id), `${key} applied an id never sent to it`).toBe(true);
      for (const id of acked.get(key)!) expect(set.has(id), `${key} lost acknowledged ${id}`).toBe(true);
      expect(await c.client.system.ask('test', key, 'get')).toBe(ids.length);
      applied += ids.length;
    }
    // The old owners kept what their cuts left, and n4 activated those actors from it, not from the store (a warm handoff).
    const statuses = await c.client.scatter.gather<{ handedOver: { served: number; loaded: number } }>('status', undefined, { deadlineMs: 10_000 });
    const handedOver = statuses.answers.find((a) => a.node === 'n4')?.value.handedOver.loaded ?? 0;
    expect(statuses.answers.reduce((n, a) => n + a.value.handedOver.served, 0)).toBeGreaterThanOrEqual(handedOver);
    console.log(`join: ${seq} asks, ${applied} applied, ${failed} failed, join to balanced ${joinSeconds.toFixed(2)} s; n4 owns ${owners.n4} shards; ${handedOver} actors activated from what the old owners' cuts left; retries ${c.client.system.stats.askRetries} (${c.client.system.stats.askRetriesOnOwner} as soon as the new owner was known)`);
    expect(handedOver).toBeGreaterThan(0);
    expect(failed, failures.join('\n')).toBe(0);
    // Asks refused while their shard was dark went to its new owner when the client saw the claim.
    expect(c.client.system.stats.askRetriesOnOwner).toBeGreaterThan(0);
    expect(await c.activationProblems()).toEqual([]);
  });
});
