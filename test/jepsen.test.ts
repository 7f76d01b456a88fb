import { afterAll, describe, expect, it } from 'vitest';
import { startTestCluster, type TestCluster } from './harness/cluster.js';
import { expectJepsenInvariants, startJepsenWorkload } from './harness/jepsen-workload.js';
import { delay, waitFor } from './harness/wait.js';

/**
 * A Jepsen-style run: open-loop asks with unique ids to actors that persist before answering,
 * through a sequence of faults, then a check of every acknowledged op and every activation.
 */
const KEYS = 150;
const RATE_PER_S = 250;
const ASK_DEADLINE_MS = 8_000;

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
    const w = startJepsenWorkload(c, { keys: KEYS, ratePerS: RATE_PER_S, deadlineMs: ASK_DEADLINE_MS });
    const phase = async (name: string, f: () => Promise<void>) => {
      const before = w.sent();
      const t = performance.now();
      await f();
      console.log(`jepsen: ${name} (${((performance.now() - t) / 1000).toFixed(1)} s, ${w.sent() - before} asks sent)`);
    };
    const cl = c;
    try {
      await phase('steady', () => w.sentMore(300));
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
        await w.sentMore(300);
        await cl.waitBalanced(['n1', 'n2', 'n3', 'n4'], 30_000);
      });
    } finally {
      w.stop();
    }
    const r = await w.finish();
    console.log(`jepsen: ${r.summary}; ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    expectJepsenInvariants(r);
    expect(performance.now() - t0).toBeLessThan(90_000);
  }, 120_000);
});
