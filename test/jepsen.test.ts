import { afterAll, describe, expect, it } from 'vitest';
import type { ReelError } from '../runtime/errors.js';
import { activationStarts, overlappingActivations, startTestCluster, type TestCluster } from './harness/cluster.js';
import { delay, waitFor } from './harness/wait.js';

/**
 * A Jepsen-style run: open-loop asks with unique ids to actors that persist before answering,
 * through a sequence of faults, then a check of every acknowledged op and every activation.
 */
const KEYS = 150;
const RATE_PER_S = 250;
const ASK_DEADLINE_MS = 8_000;

type Outcome = 'ok' | 'failed';

describe('jepsen', () => {
  let c: TestCluster | undefined;
  afterAll(async () => {
    await c?.close();
  });

  it('jepsen - kills, pauses, a join, a broker restart and clocks ±2 s off and stepped back: no acknowledged op lost or applied twice, no overlapping activations, every shard served', async () => {
    const t0 = performance.now();
    c = await startTestCluster({ nodes: 2, label: 'jepsen' });
    // n3 runs with both clocks 2 s ahead, and each SIGUSR2 steps its wall clock back 5 s.
    await c.addNode('n3', { env: { REEL_TEST_CLOCK: 'wall=+2000,mono=+2000', REEL_TEST_CLOCK_STEP: 'wall=-5000' } });
    await c.waitBalanced();
    const sys = c.client.system;
    const keys = Array.from({ length: KEYS }, (_, i) => `j${i}`);
    const sent = new Map<string, string>(); // id → key
    const outcome = new Map<string, Outcome>();
    const failures = new Map<string, number>();
    let seq = 0;
    let inFlight = 0;
    // Open loop: a fixed rate whatever the answers do; each ask has its own id.
    const gen = setInterval(() => {
      for (let i = 0; i < RATE_PER_S / 20; i++) {
        const key = keys[seq % KEYS]!;
        const id = `op-${seq++}`;
        sent.set(id, key);
        inFlight++;
        sys.ask('test', key, 'applyDurable', undefined, { id, deadlineMs: ASK_DEADLINE_MS }).then(
          () => outcome.set(id, 'ok'),
          (e: ReelError) => {
            outcome.set(id, 'failed');
            failures.set(e.code, (failures.get(e.code) ?? 0) + 1);
          },
        ).finally(() => inFlight--);
      }
    }, 50);
    const phase = async (name: string, f: () => Promise<void>) => {
      const before = seq;
      const t = performance.now();
      await f();
      console.log(`jepsen: ${name} (${((performance.now() - t) / 1000).toFixed(1)} s, ${seq - before} asks sent)`);
    };
    const sentSince = (n: number) => waitFor(`${n} more asks sent`, () => seq >= n, { timeoutMs: 20_000 });
    const cl = c;
    try {
      await phase('steady', () => sentSince(seq + 300));
      await phase('SIGKILL n1 and start a replacement with the same id', async () => {
        const n1 = cl.nodes.get('n1')!;
        n1.kill('SIGKILL');
        await n1.exited;
        // The replacement's clocks run 2 s behind the machine's.
        await cl.addNode('n1', { env: { REEL_TEST_CLOCK: 'wall=-2000,mono=-2000' } });
        await cl.waitBalanced(['n1', 'n2', 'n3'], 30_000);
      });
      await phase('SIGSTOP n3 (clocks 2 s ahead) for 0.6 s, under its 1 s lease', async () => {
        // Nobody may take its shards meanwhile: the others wait a lease plus a margin from when
        // they saw its last renewal, whatever its clocks say. The pause length is the fault itself.
        const n3 = cl.nodes.get('n3')!;
        n3.kill('SIGSTOP');
        await delay(600);
        n3.kill('SIGCONT');
        await cl.waitBalanced(['n1', 'n2', 'n3'], 30_000);
      });
      await phase('SIGSTOP n2 past its lease', async () => {
        const n2 = cl.nodes.get('n2')!;
        n2.kill('SIGSTOP');
        // Its shards are claimed by others once its leases are seen to run out.
        await waitFor('n2 owns no shard', async () => {
          await cl.client.view.refresh().catch(() => undefined);
          return !cl.client.owners().includes('n2');
        }, { timeoutMs: 20_000, intervalMs: 50 });
        n2.kill('SIGCONT');
        await cl.waitBalanced(['n1', 'n2', 'n3'], 30_000);
      });
      await phase('n4 joins', async () => {
        await cl.addNode('n4');
        await cl.waitBalanced(['n1', 'n2', 'n3', 'n4'], 30_000);
      });
      await phase('nats-server restarts on the same port and store', async () => {
        await cl.nats.restart();
        await cl.waitBalanced(['n1', 'n2', 'n3', 'n4'], 40_000);
      });
      await phase("n3's wall clock steps back 5 s", async () => {
        cl.nodes.get('n3')!.kill('SIGUSR2');
        await cl.nodes.get('n3')!.waitEvent((e) => e.msg === 'test clock stepped', 10_000);
        await sentSince(seq + 300);
        await cl.waitBalanced(['n1', 'n2', 'n3', 'n4'], 30_000);
      });
    } finally {
      clearInterval(gen);
    }
    await waitFor('every ask settled', () => inFlight === 0, { timeoutMs: ASK_DEADLINE_MS + 5_000 });

    // Every acknowledged op applied exactly once; nothing applied that was not sent to that key.
    let lost = 0;
    let twice = 0;
    let stray = 0;
    let applied = 0;
    const seen = new Set<string>();
    for (const key of keys) {
      const ids = await sys.ask<string[]>('test', key, 'applied', undefined, { deadlineMs: 10_000 });
      const mine = new Set<string>();
      for (const id of ids) {
        if (mine.has(id)) twice++;
        mine.add(id);
        if (sent.get(id) !== key) stray++;
        seen.add(id);
      }
      applied += ids.length;
    }
    for (const [id, o] of outcome) if (o === 'ok' && !seen.has(id)) lost++;
    const acked = [...outcome.values()].filter((o) => o === 'ok').length;
    const overlaps = overlappingActivations(c.processes());
    const served = (await c.client.scatter.gather('status', undefined, { deadlineMs: 2_000 })).missingShards;
    console.log(
      `jepsen: ${seq} asks, ${acked} acknowledged, ${applied} applied, ${outcome.size - acked} failed ${JSON.stringify(Object.fromEntries(failures))}; ` +
        `lost ${lost}, applied twice ${twice}, stray ${stray}; ${activationStarts(c.processes())} activations, ${overlaps.length} overlapping; ` +
        `unserved shards ${served.length}; ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
    expect(lost, 'acknowledged ops lost').toBe(0);
    expect(twice, 'ops applied twice').toBe(0);
    expect(stray, 'ops applied to a key they were not sent to').toBe(0);
    expect(overlaps).toEqual([]);
    expect(served).toEqual([]);
    expect(acked).toBeGreaterThan(seq / 2);
    expect(performance.now() - t0).toBeLessThan(90_000);
  }, 120_000);
});
