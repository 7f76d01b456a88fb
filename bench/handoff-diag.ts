/**
 * Diagnosis for bench:rebalance: how long one node takes to passivate and flush the actors
 * of the shards it hands off, in isolation (one process, no cluster protocol). Activates N
 * actors holding 1 KB each in an actor system on JetStream KV snapshots, then times
 * `unhost` of every shard (what a handoff runs), with the event loop's longest stall.
 *
 *   node dist/bench/handoff-diag.js [N ...]      (default 5000 10000 25000)
 */
import { performance } from 'node:perf_hooks';
import { connect } from '@nats-io/transport-node';
import { ActorSystem, kvSnapshotStore, natsTransport, type RuntimeEvent } from '../runtime/index.js';
import { allShards } from '../runtime/shard.js';
import { testActorFactory } from '../test/fixtures/actors.js';
import { startNatsServer, uniquePrefix } from '../test/harness/nats-server.js';

const SHARDS = 128;
const WINDOW = 2_000;

async function main(): Promise<void> {
  const sizes = process.argv.slice(2).map(Number).filter((n) => n > 0);
  const server = await startNatsServer();
  try {
    for (const n of sizes.length ? sizes : [5_000, 10_000, 25_000]) {
      const nc = await connect({ servers: server.url, noAsyncTraces: true });
      const prefix = uniquePrefix('diag');
      const snaps: number[] = [];
      const onEvent = (e: RuntimeEvent) => {
        if (e.type === 'snapshot' && e.accepted) snaps.push(performance.now());
      };
      const system = new ActorSystem({ nodeId: 'diag', shardCount: SHARDS, transport: natsTransport(nc, { prefix }), store: kvSnapshotStore(nc, { bucketPrefix: prefix }), onEvent });
      system.register('test', testActorFactory);
      await system.start(allShards(SHARDS));
      let next = 0;
      await Promise.all(Array.from({ length: WINDOW }, async () => {
        while (next < n) await system.ask('test', `a${next++}`, 'fill', { bytes: 1024 }, { deadlineMs: 60_000 });
      }));
      snaps.length = 0;
      let maxGap = 0;
      let last = performance.now();
      const mon = setInterval(() => {
        const now = performance.now();
        maxGap = Math.max(maxGap, now - last);
        last = now;
      }, 1);
      const t0 = performance.now();
      await system.unhost(allShards(SHARDS));
      const secs = (performance.now() - t0) / 1000;
      clearInterval(mon);
      const first = snaps.length ? (snaps[0]! - t0) / 1000 : Number.NaN;
      console.log(
        JSON.stringify({
          actors: n,
          unhost_s: +secs.toFixed(3),
          snapshots: snaps.length,
          first_ack_s: +first.toFixed(3),
          per_s: Math.round(snaps.length / secs),
          event_loop_max_stall_ms: Math.round(maxGap),
        }),
      );
      await system.stop();
      await nc.close();
    }
  } finally {
    await server.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
