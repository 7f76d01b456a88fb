import { AckPolicy, jetstreamManager } from '@nats-io/jetstream';
import { describe, expect, it } from 'vitest';
import { ActorSystem } from '../runtime/system.js';
import { LocalHub, LocalTransport } from '../runtime/transport-local.js';
import { natsPerFile } from '../test/harness/nats-per-file.js';
import { uniquePrefix } from '../test/harness/nats-server.js';
import { waitFor } from '../test/harness/wait.js';
import { consumerRetryMs, InteractionConsumers, interactionStream } from './interaction-stream.js';
import { SoleOwnership } from './ownership-sole.js';

describe('interaction consumers', () => {
  const broker = natsPerFile();

  it('interaction consumers - the wait before a consumer is tried again doubles from 1 s to at most 30 s, each drawn between half and all of it', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 20].map((n) => consumerRetryMs(n, 0.999_999))).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]);
    expect([1, 2, 6].map((n) => consumerRetryMs(n, 0))).toEqual([500, 1_000, 15_000]);
  });

  it('interaction consumers - a shard whose consumer cannot start is tried again less and less often, not at every sync, and consumes once it can', async () => {
    const prefix = uniquePrefix('icons');
    const stream = interactionStream(prefix);
    const jsm = await jetstreamManager(broker.nc);
    // A stream that takes two consumers, and has them: every shard's consumer is refused at once.
    await jsm.streams.add({ name: stream, subjects: [`${prefix}.interactions.>`], max_consumers: 2 });
    for (const f of ['filler-a', 'filler-b']) await jsm.consumers.add(stream, { durable_name: f, ack_policy: AckPolicy.Explicit });
    // Every request to create a shard's consumer, as the server receives it.
    const tries = new Map<number, number[]>();
    const sub = broker.nc.subscribe('$JS.API.CONSUMER.>', {
      callback: (_err, m) => {
        const shard = /\bshard-(\d+)\b/.exec(m.subject)?.[1];
        if (shard !== undefined) tries.set(Number(shard), [...(tries.get(Number(shard)) ?? []), performance.now()]);
      },
    });
    const system = await new ActorSystem({ nodeId: 'n1', shardCount: 2, transport: new LocalTransport(new LocalHub()), ownership: new SoleOwnership() }).start();
    const logs: Array<{ msg: string; fields?: Record<string, unknown> }> = [];
    // Synced every 50 ms: without a backoff, a refused shard would be asked for again 20 times a second.
    const consumers = new InteractionConsumers(system, broker.nc, prefix, (msg, fields) => logs.push({ msg, ...(fields ? { fields } : {}) }));
    try {
      await consumers.start(50);
      await waitFor('three tries of each shard', () => [0, 1].every((s) => (tries.get(s)?.length ?? 0) >= 3), { timeoutMs: 20_000, intervalMs: 20, describe: () => [...tries] });
      for (const s of [0, 1]) {
        const [t1, t2, t3] = tries.get(s)!;
        // At least half of 1 s, then of 2 s (a slow machine only waits longer).
        expect(t2! - t1!, `shard ${s}`).toBeGreaterThanOrEqual(500 - 5);
        expect(t3! - t2!, `shard ${s}`).toBeGreaterThanOrEqual(1_000 - 5);
      }
      // Said once for each shard (in one line when they fail at once), not at every try.
      const said = logs.filter((l) => l.msg.startsWith('interaction consumers could not start'));
      expect(said.flatMap((l) => l.fields?.shards as number[]).sort()).toEqual([0, 1]);
      expect(said.flatMap((l) => l.fields?.errors as string[]).join()).toMatch(/maximum consumers limit reached/);

      // Room for the shards' consumers: each starts at its next try, and says after how many failures.
      for (const f of ['filler-a', 'filler-b']) await jsm.consumers.delete(stream, f);
      const started = () => logs.filter((l) => l.msg === 'interaction consumers started after failing');
      await waitFor('both consumers started', () => started().flatMap((l) => l.fields?.shards as number[]).length === 2, { timeoutMs: 40_000, intervalMs: 50, describe: () => logs });
      expect((await jsm.consumers.info(stream, 'shard-0')).config.filter_subject).toBe(`${prefix}.interactions.0`);
      for (const n of started().flatMap((l) => l.fields?.failures as number[])) expect(n).toBeGreaterThanOrEqual(3);
    } finally {
      await consumers.stop();
      await system.stop();
      sub.unsubscribe();
    }
  });
});
