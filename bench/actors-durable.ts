/**
 * The figures of bench:actors about asks applied once ("correctness under faults"), called
 * from `bench/actors.ts`:
 *
 * - `persisted_ask_per_s`: asks over NATS whose handler persists before it answers
 *   (`applyDurable` of the test actor: `ctx.persist(answer)`, the reply waits for the JetStream
 *   KV write), against plain asks (`echo`, as `nats_ask_per_s_c64`) to the same node process in
 *   the same run, alternating; `persisted_ratio` is the ratio of the medians. The node runs as
 *   cluster nodes do: KV snapshots and applied asks remembered (`node-proc --kv --dedup`).
 * - `dedup_bytes_per_actor`: the heap the applied-asks window holds for an actor receiving
 *   1,000 asks/s, measured in process under a `ManualClock` (simulated seconds, no waiting).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Kvm, type KV } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { ManualClock } from '../runtime/clock.js';
import { decodeValue, encodeValue } from '../runtime/envelope.js';
import { DEFAULT_ASK_TIMEOUT_MS, DEFAULT_DEDUP_MARGIN_MS, DEFAULT_DEDUP_MAX_ENTRIES } from '../runtime/options.js';
import { ActorSystem } from '../runtime/system.js';
import { LocalHub, LocalTransport } from '../runtime/transport-local.js';
import { NatsTransport } from '../runtime/transport-nats.js';
import type { Snapshot } from '../runtime/types.js';
import { startNatsServer, uniquePrefix } from '../test/harness/nats-server.js';
import { builtFixture, startNodeProcess } from '../test/harness/processes.js';
import { alive, concurrentRun, fmt, gc, live, median, progress, RunClock } from './common.js';
import { counterFactory, type Tally } from './counter-actor.js';

/** How bench/actors.ts takes a figure: its runs, and a value when it is not their median. */
export type AddFigure = (key: string, runs: number[], digits: number) => { value?: number };

const RUNS = 3;
const RUN_LIMIT_MS = 30_000;

// ---- persisted asks over NATS ----

const CONCURRENCY = 64;
/** Persisted asks per run, spread over 64 actors (one per loop, so none waits behind another). */
const PERSISTED_ASKS = 20_000;
const PERSISTED_WARMUP = 5_000;
/** Plain asks per run and warm-up: as `nats_ask_per_s_c64`. */
const PLAIN_ASKS = 96_000;
const PLAIN_WARMUP = 20_000;
const ECHO_BODY_BYTES = 64;

interface PersistedRun {
  perS: number;
  /** Bytes of each of the run's 64 snapshots in KV at its end, the applied asks each holds and their share of the bytes. */
  snapshotBytes: number[];
  appliedEntries: number[];
  appliedBytes: number[];
}

/**
 * One run: `n` `applyDurable` asks to 64 fresh actors (`p<run>-<j>`, so every run starts from the
 * same empty state), then a check that every ask was applied exactly once and that what KV holds
 * is what the actors answered. Fresh actors per run because both the fixture's state (it logs
 * every applied id) and the applied-asks window in each snapshot grow with the asks an actor has
 * taken: reusing actors would make each run write larger snapshots than the last.
 */
async function persistedRun(client: ActorSystem, kv: () => Promise<KV>, tag: string, n: number): Promise<PersistedRun> {
  const keys = Array.from({ length: CONCURRENCY }, (_, j) => `p${tag}-${j}`);
  const refs = keys.map((k) => client.ref('test', k));
  const perS = await concurrentRun(`persisted ${tag}`, n, CONCURRENCY, RUN_LIMIT_MS, async (j) => {
    const v = await refs[j]!.ask('applyDurable');
    if (typeof v !== 'number') throw new Error(`applyDurable answered ${String(v)}`);
  });
  const counts = (await Promise.all(refs.map((r) => r.ask<number>('get')))) as number[];
  const sum = counts.reduce((s, x) => s + x, 0);
  if (sum !== n) throw new Error(`persisted ${tag}: actors counted ${sum} applies, want ${n}`);
  const bucket = await kv();
  const snapshotBytes: number[] = [];
  const appliedEntries: number[] = [];
  const appliedBytes: number[] = [];
  for (let j = 0; j < keys.length; j++) {
    const e = await bucket.get(keys[j]!);
    if (e === null || e.operation !== 'PUT') throw new Error(`persisted ${tag}: no snapshot of ${keys[j]} in KV`);
    const snap = decodeValue(e.value) as Snapshot<{ n: number }>;
    // Every answer was sent after its write: the last write holds the count the actor has.
    if (snap.data?.n !== counts[j]) throw new Error(`persisted ${tag}: KV holds n=${snap.data?.n} for ${keys[j]}, the actor ${counts[j]}`);
    snapshotBytes.push(e.value.length);
    appliedEntries.push(snap.applied?.length ?? 0);
    appliedBytes.push(snap.applied ? encodeValue(snap.applied).length : 0);
  }
  return { perS, snapshotBytes, appliedEntries, appliedBytes };
}

const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;

export async function persistedAskFigures(fig: AddFigure, extra: Record<string, unknown>): Promise<void> {
  // A server of its own, with JetStream: the other NATS figures run without it.
  const server = (live.server = await startNatsServer());
  const closers: Array<() => Promise<unknown>> = [];
  const prefix = uniquePrefix('durable');
  const node = startNodeProcess(['--nats', server.url, '--id', 'bench-durable', '--shards', '0-127', '--shard-count', '128', '--prefix', prefix, '--kv', '--dedup'], {
    script: builtFixture('node-proc.js'),
  });
  live.children.push(node);
  try {
    await node.ready;
    progress(`persisted asks: nats-server ${server.url} with JetStream; node-proc --kv --dedup`);
    const transport = await NatsTransport.connect({ servers: server.url, name: 'bench-durable-client' }, { prefix });
    const client = new ActorSystem({ nodeId: 'bench-durable-client', transport });
    closers.push(() => client.stop());
    await client.start([]);
    const nc: NatsConnection = await connect({ servers: server.url, noAsyncTraces: true, name: 'bench-durable-kv' });
    closers.push(() => nc.close());
    let bucket: Promise<KV> | undefined;
    // The node creates the bucket on its first write; opened here once it exists.
    const kv = () => (bucket ??= new Kvm(nc).open(`${prefix}_snap_test`));

    const body = new Uint8Array(ECHO_BODY_BYTES).map((_, i) => i);
    const echoRefs = Array.from({ length: CONCURRENCY }, (_, j) => client.ref('test', `e${j}`));
    const plainOnce = (j: number) => echoRefs[j]!.ask('echo', body);

    progress('persisted asks: warm-up');
    await persistedRun(client, kv, 'w', PERSISTED_WARMUP);
    await concurrentRun('plain warm-up', PLAIN_WARMUP, CONCURRENCY, RUN_LIMIT_MS, plainOnce);
    const persisted: PersistedRun[] = [];
    const plain: number[] = [];
    for (let r = 0; r < RUNS; r++) {
      gc();
      persisted.push(await persistedRun(client, kv, String(r), PERSISTED_ASKS));
      gc();
      plain.push(await concurrentRun('plain c64 (dedup, KV)', PLAIN_ASKS, CONCURRENCY, RUN_LIMIT_MS, plainOnce));
      const p = persisted[r]!;
      progress(
        `persisted run ${r + 1}: ${fmt(p.perS, 0)}/s (snapshots at the end ${fmt(mean(p.snapshotBytes), 0)} B, of which ${fmt(mean(p.appliedBytes), 0)} B ` +
          `for ${fmt(mean(p.appliedEntries), 0)} applied asks); plain ${fmt(plain[r]!, 0)}/s`,
      );
    }
    const perS = persisted.map((p) => p.perS);
    fig('persisted_ask_per_s', perS, 0);
    fig('plain_ask_per_s_c64_dedup_kv', plain, 0);
    // The ratio of the medians; its runs are each persisted run over the plain run right after it.
    fig('persisted_ratio', perS.map((x, i) => x / plain[i]!), 3).value = median(perS) / median(plain);
    extra.persisted_asks_per_run = PERSISTED_ASKS;
    extra.persisted_in_flight = CONCURRENCY;
    extra.persisted_actors_per_run = CONCURRENCY;
    extra.persisted_snapshot_bytes_end_of_run = persisted.map((p) => Math.round(mean(p.snapshotBytes)));
    extra.persisted_snapshot_applied_entries_end_of_run = persisted.map((p) => Math.round(mean(p.appliedEntries)));
    extra.persisted_snapshot_applied_bytes_end_of_run = persisted.map((p) => Math.round(mean(p.appliedBytes)));
    extra.plain_asks_per_run = PLAIN_ASKS;
  } finally {
    for (const c of closers.reverse()) await c().catch((e: unknown) => progress(`close failed: ${String(e)}`));
    // SIGKILL, not a graceful stop: the state is thrown away with the server, and passivating
    // the echo actors would try to write windows of thousands of remembered 64-byte answers.
    if (alive(node)) node.child.kill('SIGKILL');
    await node.exited;
    live.children.splice(live.children.indexOf(node), 1);
    await server.stop();
    live.server = undefined;
  }
}

// ---- memory of the applied-asks window ----

const DEDUP_ACTORS = 20;
const DEDUP_ASKS_PER_S = 1_000;
const DEDUP_SECONDS = 30;
const DEDUP_MAX_ENTRIES = 1_000_000;
/**
 * Expected retention. Each ask has the default deadline (5 s) and is kept until its deadline plus
 * the margin (10 s): 15 s, so once 15 s have passed an actor has 15,000 unexpired ids right after
 * a second's asks (14,000 when read a second later, as here, after the clock has moved on). The
 * expired ones are not removed one by one, though: the window sweeps them in bulk when its map
 * has doubled since the last sweep (at 256, 512, … entries), and the sweep sets the next one at
 * twice what it kept. At 1,000 asks/s the map reaches 16,384 during the 17th second; that sweep
 * keeps ~14,400 ids and sets the next at ~28,800, which comes after 30.8 s. So at steady state an
 * actor holds between ~14,400 and ~28,800 entries (a saw-tooth of about 14 s), and at 30 s, where
 * this run reads the heap, 28,000: near the top. The bytes per entry do not depend on where.
 */
const DEDUP_RETENTION_MS = DEFAULT_ASK_TIMEOUT_MS + DEFAULT_DEDUP_MARGIN_MS;

/**
 * The applied-asks window of each active actor of `kind`, read through the runtime's private
 * fields (the bench must not change the runtime): `ActorSystem.kinds` and `Activation.window`.
 * Fails loudly if those fields move.
 */
function windows(system: ActorSystem, kind: string): Array<{ size: number; entries(now: number): unknown[] }> {
  const kinds = (system as unknown as { kinds?: Map<string, { acts: Map<string, { window?: unknown }> }> }).kinds;
  const acts = kinds?.get(kind)?.acts;
  if (acts === undefined) throw new Error('dedup: ActorSystem.kinds is not where the bench reads it');
  return [...acts.values()].map((a) => {
    if (!('window' in a)) throw new Error('dedup: Activation.window is not where the bench reads it');
    return (a.window ?? { size: 0, entries: () => [] }) as { size: number; entries(now: number): unknown[] };
  });
}

interface DedupRun {
  /** Heap growth over the run (after gc), bytes. */
  heapBytes: number;
  /** Window entries of each actor at the end, and those not yet expired. */
  entries: number[];
  unexpired: number[];
  /** Bytes the unexpired entries add to a snapshot of each actor (msgpack of its `applied`). */
  snapshotBytes: number[];
  /** Entries of the first actor at the end of each simulated second. */
  bySecond: number[];
}

/**
 * A server and a client `ActorSystem` on one `LocalHub`, sharing a `ManualClock`: every simulated
 * second each of DEDUP_ACTORS counters gets DEDUP_ASKS_PER_S asks (all answered before the clock
 * moves on), for DEDUP_SECONDS seconds; then the heap is read after gc. With `dedup` the server
 * remembers applied asks (`dedupMaxEntries` 1,000,000, far above what it holds); without, the same
 * actors get the same asks. Ids are flat strings, as a node decodes them from the wire (the
 * client's own would be rope strings sharing their prefix).
 */
async function dedupRun(dedup: boolean): Promise<DedupRun> {
  await sleep(20);
  gc();
  const before = process.memoryUsage().heapUsed;
  const clock = new ManualClock();
  const hub = new LocalHub();
  const tally: Tally = { handled: 0 };
  const server = new ActorSystem({ nodeId: 'dedup-server', clock, transport: new LocalTransport(hub), dedupMaxEntries: dedup ? DEDUP_MAX_ENTRIES : 0 });
  server.register('bench', counterFactory(tally));
  await server.start();
  const client = new ActorSystem({ nodeId: 'dedup-client', clock, transport: new LocalTransport(hub) });
  await client.start([]);
  const refs = Array.from({ length: DEDUP_ACTORS }, (_, i) => client.ref('bench', `d${i}`));
  const idPrefix = `${client.nodeId}.${client.incarnation}.`;
  const run = new RunClock(`dedup ${dedup ? 'on' : 'off'}`, RUN_LIMIT_MS);
  const bySecond: number[] = [];
  let seq = 0;
  const ps = new Array<Promise<unknown>>(DEDUP_ACTORS * DEDUP_ASKS_PER_S);
  for (let s = 0; s < DEDUP_SECONDS; s++) {
    let i = 0;
    for (let a = 0; a < DEDUP_ASKS_PER_S; a++) {
      for (const r of refs) ps[i++] = r.ask('n', undefined, { id: Buffer.from(idPrefix + seq++, 'latin1').toString('latin1') });
    }
    await Promise.all(ps);
    clock.advance(1_000);
    bySecond.push(dedup ? windows(server, 'bench')[0]!.size : 0);
    run.check(() => `second ${s}/${DEDUP_SECONDS}`);
  }
  if (tally.handled !== DEDUP_ACTORS * DEDUP_ASKS_PER_S * DEDUP_SECONDS) throw new Error(`dedup: handled ${tally.handled} asks`);
  // The client's ask registry clears its time buckets on its next (real-time) tick.
  await sleep(20);
  gc();
  const heapBytes = process.memoryUsage().heapUsed - before;
  const now = clock.monoMs();
  const ws = windows(server, 'bench');
  if (ws.length !== DEDUP_ACTORS) throw new Error(`dedup: ${ws.length} actors active, want ${DEDUP_ACTORS}`);
  const applied = ws.map((w) => w.entries(now));
  const out: DedupRun = {
    heapBytes,
    entries: ws.map((w) => w.size),
    unexpired: applied.map((e) => e.length),
    snapshotBytes: applied.map((e) => encodeValue(e).length),
    bySecond,
  };
  await client.stop();
  await server.stop();
  return out;
}

export async function dedupMemoryFigures(fig: AddFigure, extra: Record<string, unknown>): Promise<void> {
  progress('dedup memory: warm-up');
  await dedupRun(false);
  await dedupRun(true);
  const perActor: number[] = [];
  const perEntry: number[] = [];
  const entries: number[] = [];
  let last: DedupRun | undefined;
  for (let r = 0; r < RUNS; r++) {
    const off = await dedupRun(false);
    const on = (last = await dedupRun(true));
    const bytes = (on.heapBytes - off.heapBytes) / DEDUP_ACTORS;
    const n = mean(on.entries);
    perActor.push(bytes);
    entries.push(n);
    perEntry.push(bytes / n);
    progress(`dedup run ${r + 1}: ${fmt(bytes, 0)} B per actor, ${fmt(n, 0)} entries (${fmt(mean(on.unexpired), 0)} unexpired), ${(bytes / n).toFixed(1)} B per entry`);
  }
  fig('dedup_bytes_per_actor', perActor, 0);
  fig('dedup_entries_per_actor', entries, 0);
  fig('dedup_bytes_per_entry', perEntry, 1);
  extra.dedup_actors = DEDUP_ACTORS;
  extra.dedup_asks_per_s_per_actor = DEDUP_ASKS_PER_S;
  extra.dedup_simulated_s = DEDUP_SECONDS;
  extra.dedup_retention_ms = DEDUP_RETENTION_MS;
  extra.dedup_unexpired_entries_per_actor = Math.round(mean(last!.unexpired));
  extra.dedup_entries_per_actor_by_second = last!.bySecond;
  // What those unexpired entries add to every snapshot write of such an actor (answers `undefined`).
  extra.dedup_snapshot_applied_bytes_per_actor = Math.round(mean(last!.snapshotBytes));
  extra.dedup_cluster_max_entries = DEFAULT_DEDUP_MAX_ENTRIES;
}
