/**
 * Actor benchmarks: in-process tell and ask throughput, memory per idle activation, and
 * over NATS ask latency/throughput (against a plain NATS request/reply baseline measured in
 * the same run) and batched tells; then, from `bench/actors-durable.ts`, the heap the
 * applied-asks window holds per actor and asks that persist before answering (JetStream KV).
 * Starts its own nats-servers and child processes on 127.0.0.1, prints a table and writes
 * `bench/results/actors.json`.
 *
 *   npm run bench:actors        (node --expose-gc dist/bench/actors.js)
 */
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { DEFAULT_DISPATCH_BUDGET } from '../runtime/dispatcher.js';
import { encodeMessage, newEnvelope } from '../runtime/envelope.js';
import { DEFAULT_MAILBOX_CAPACITY } from '../runtime/options.js';
import type { ActorRef } from '../runtime/actor-ref.js';
import { ActorSystem, type BatchMessage } from '../runtime/system.js';
import { NatsTransport } from '../runtime/transport-nats.js';
import { startNatsServer, uniquePrefix, type NatsServerHandle } from '../test/harness/nats-server.js';
import { builtFixture, startNodeProcess } from '../test/harness/processes.js';
import {
  concurrentRun as boundedConcurrentRun, fmt, gc, killAll, live, median, percentile, printTable, progress, RunClock as BoundedClock, runBench, targetCells, writeResults, type Target,
} from './common.js';
import { dedupMemoryFigures, persistedAskFigures } from './actors-durable.js';
import { CounterActor, counterFactory, type Tally } from './counter-actor.js';

// ---- sizes and bounds ----

const RUNS = 3;
const LOCAL_ACTORS = 1_000;
/**
 * Tells per actor per chunk. A chunk (8,000) fits in one dispatcher turn (8,192), so the
 * microtask the first tell schedules drains the whole chunk before the sender's
 * setImmediate fires: no mailbox holds more than 8 messages (capacity 10,000), so no
 * `Overloaded` is possible, and the sender never outruns the actors.
 */
const TELLS_PER_ACTOR_PER_CHUNK = 8;
const LOCAL_TELL_MSGS = 5_000_000;
const LOCAL_TELL_WARMUP_MSGS = 2_000_000;
const LOCAL_ASK_ROUNDS = 300;
const LOCAL_ASK_WARMUP_ROUNDS = 100;
const IDLE_ACTIVATIONS = 100_000;
const NATS_C1_SAMPLES = 20_000;
const NATS_C1_WARMUP = 3_000;
const NATS_CONCURRENCY = 64;
const NATS_C64_ASKS = 96_000;
const NATS_C64_WARMUP = 20_000;
const ECHO_BODY_BYTES = 64;
/** Counters the batched tells spread over, and tells per `tellBatch` call (about 200 per shard frame, ~12 KB, far under max_payload). */
const BATCH_ACTORS = 1_000;
const BATCH_SIZE = 25_000;
const BATCHES_PER_RUN = 80;
const BATCH_WARMUP_BATCHES = 40;
/** Batches between flow-control marker asks; at most two windows (~11 MB) are in flight. */
const BATCH_WINDOW = 4;
/** No single run may take longer than this. */
const RUN_LIMIT_MS = 30_000;
/** The whole bench gives up after this. */
const BENCH_LIMIT_MS = 240_000;

// ---- helpers ----

const immediate = () => new Promise<void>((r) => setImmediate(r));

/** A run of this bench, bounded by RUN_LIMIT_MS. */
class RunClock extends BoundedClock {
  constructor(phase: string) {
    super(phase, RUN_LIMIT_MS);
  }
}

// ---- in-process tell and ask ----

interface LocalBench {
  system: ActorSystem;
  tally: Tally;
  actors: CounterActor[];
  keys: string[];
  refs: ActorRef[];
}

async function localBench(nodeId: string): Promise<LocalBench> {
  const tally: Tally = { handled: 0 };
  const actors: CounterActor[] = [];
  const system = new ActorSystem({ nodeId });
  system.register('bench', counterFactory(tally, actors));
  await system.start();
  const keys = Array.from({ length: LOCAL_ACTORS }, (_, i) => `a${i}`);
  return { system, tally, actors, keys, refs: keys.map((k) => system.ref('bench', k)) };
}

/** Tells `msgs` messages round-robin to the 1,000 actors; timed until the last handler ran. Returns messages/s. */
async function localTellRun(b: LocalBench, msgs: number, byAddress: boolean): Promise<number> {
  const { system, tally, refs, keys } = b;
  const chunk = LOCAL_ACTORS * TELLS_PER_ACTOR_PER_CHUNK;
  const chunks = Math.ceil(msgs / chunk);
  const target = tally.handled + chunks * chunk;
  const clock = new RunClock(byAddress ? 'local tell by address' : 'local tell');
  for (let c = 0; c < chunks; c++) {
    if (byAddress) {
      for (let r = 0; r < TELLS_PER_ACTOR_PER_CHUNK; r++) for (let a = 0; a < LOCAL_ACTORS; a++) system.tell('bench', keys[a]!, 'n');
    } else {
      for (let r = 0; r < TELLS_PER_ACTOR_PER_CHUNK; r++) for (let a = 0; a < LOCAL_ACTORS; a++) refs[a]!.tell('n');
    }
    await immediate();
    if ((c & 63) === 0) clock.check(() => `chunk ${c}/${chunks}`);
  }
  while (tally.handled < target) {
    await immediate();
    clock.check(() => `handled ${tally.handled}/${target}`);
  }
  return (chunks * chunk) / clock.seconds();
}

/** One ask per actor per round, all in flight together. Returns asks/s. */
async function localAskRun(b: LocalBench, rounds: number): Promise<number> {
  const clock = new RunClock('local ask');
  const ps = new Array<Promise<unknown>>(LOCAL_ACTORS);
  for (let r = 0; r < rounds; r++) {
    for (let a = 0; a < LOCAL_ACTORS; a++) ps[a] = b.refs[a]!.ask('n');
    await Promise.all(ps);
    if ((r & 15) === 0) clock.check(() => `round ${r}/${rounds}`);
  }
  return (rounds * LOCAL_ACTORS) / clock.seconds();
}

function verifyLocal(b: LocalBench, phase: string): void {
  const stats = b.system.kindStats('bench');
  const sum = b.actors.reduce((s, a) => s + a.n, 0);
  if (b.actors.length !== LOCAL_ACTORS || sum !== b.tally.handled || stats.handled !== sum || stats.overloaded !== 0 || stats.failed !== 0) {
    throw new Error(
      `${phase}: totals disagree: actors=${b.actors.length} sum=${sum} tally=${b.tally.handled} handled=${stats.handled} overloaded=${stats.overloaded} failed=${stats.failed}`,
    );
  }
}

/** Heap bytes per idle activation holding a counter, from `n` fresh activations. */
async function idleActivationRun(n: number): Promise<number> {
  const tally: Tally = { handled: 0 };
  const system = new ActorSystem({ nodeId: 'bench-mem' });
  system.register('mem', counterFactory(tally));
  await system.start();
  const clock = new RunClock('idle activations');
  await immediate();
  gc();
  const before = process.memoryUsage().heapUsed;
  // Chunks within one dispatcher turn, as for tells; each activation gets exactly one message.
  // Keys are made here, after the first reading: an activation's key is part of its cost.
  const chunk = LOCAL_ACTORS * TELLS_PER_ACTOR_PER_CHUNK;
  for (let i = 0; i < n; i += chunk) {
    const end = Math.min(n, i + chunk);
    for (let j = i; j < end; j++) system.tell('mem', `m${j}`, 'n');
    await immediate();
  }
  while (tally.handled < n) {
    await immediate();
    clock.check(() => `handled ${tally.handled}/${n}`);
  }
  await immediate();
  gc();
  const after = process.memoryUsage().heapUsed;
  const stats = system.kindStats('mem');
  if (system.activeActors !== n || stats.handled !== n || stats.activated !== n) {
    throw new Error(`idle activations: active=${system.activeActors} handled=${stats.handled} activated=${stats.activated}, want ${n}`);
  }
  await system.stop();
  return (after - before) / n;
}

// ---- NATS ----

interface NatsLoad {
  perS: number;
  p50Ms: number;
  p99Ms: number;
  n: number;
}

/** `n` requests one after another; per-request latency from `performance.now()`. */
async function serialRun(phase: string, n: number, once: () => Promise<unknown>): Promise<NatsLoad> {
  const lat = new Float64Array(n);
  const clock = new RunClock(phase);
  let i = 0;
  for (; i < n; i++) {
    const t0 = performance.now();
    await once();
    lat[i] = performance.now() - t0;
    if ((i & 1023) === 0) clock.check(() => `${i}/${n} samples`);
  }
  const secs = clock.seconds();
  lat.sort();
  return { perS: n / secs, p50Ms: percentile(lat, 0.5), p99Ms: percentile(lat, 0.99), n };
}

/** `conc` loops, each awaiting its own request, `n` requests in all. Returns requests/s. */
function concurrentRun(phase: string, n: number, conc: number, once: (loop: number) => Promise<unknown>): Promise<number> {
  return boundedConcurrentRun(phase, n, conc, RUN_LIMIT_MS, once);
}

interface BatchBench {
  system: ActorSystem;
  run: number;
}

/**
 * `batches` × `tellBatch(BATCH_SIZE)` to BATCH_ACTORS fresh counters on the node, timed until
 * the node has handled all of them (every counter answers the expected count). Returns msgs/s.
 *
 * No mailbox can overflow: a run sends each counter BATCHES_PER_RUN × 25 = 2,000 increments
 * in all, under the node's capacity of 10,000 even if none ran before the last arrived.
 */
async function batchedRun(b: BatchBench, batches: number): Promise<number> {
  const tag = b.run++;
  const keys = Array.from({ length: BATCH_ACTORS }, (_, i) => `b${tag}-${i}`);
  const refs = keys.map((k) => b.system.ref('test', k));
  const by1 = { by: 1 };
  const batch: BatchMessage[] = Array.from({ length: BATCH_SIZE }, (_, j) => ({ kind: 'test', key: keys[j % BATCH_ACTORS]!, type: 'incr', body: by1 }));
  const perActor = (batches * BATCH_SIZE) / BATCH_ACTORS;
  if (perActor > DEFAULT_MAILBOX_CAPACITY) throw new Error('batched: a run could overflow a mailbox');
  const clock = new RunClock('batched tells');
  // Flow control: an ask queued behind a window answers once the node has taken in that
  // window (NATS keeps one connection's order); at most two windows are unanswered.
  const markers: Promise<unknown>[] = [];
  for (let i = 0; i < batches; i++) {
    b.system.tellBatch(batch);
    if ((i + 1) % BATCH_WINDOW === 0 || i === batches - 1) {
      markers.push(refs[i % BATCH_ACTORS]!.ask('get'));
      if (markers.length > 1) await markers.shift();
      clock.check(() => `batch ${i}/${batches}`);
    }
  }
  await Promise.all(markers);
  for (;;) {
    const ns = (await Promise.all(refs.map((r) => r.ask<number>('get')))) as number[];
    if (ns.every((x) => x === perActor)) break;
    if (ns.some((x) => x > perActor)) throw new Error(`batched: a counter passed ${perActor}`);
    clock.check(() => `handled ${ns.reduce((s, x) => s + x, 0)}/${batches * BATCH_SIZE}`);
  }
  return (batches * BATCH_SIZE) / clock.seconds();
}

// ---- results ----

interface Figure {
  key: string;
  runs: number[];
  /** `>=` or `<=` a target, if the figure has one. */
  target?: Target;
  digits: number;
  /** The reported value when it is not the median of the runs (a ratio of medians). */
  value?: number;
}

function valueOf(f: Figure): number {
  return f.value ?? median(f.runs);
}

function printFigures(figs: Figure[]): void {
  const rows = figs.map((f) => {
    const med = valueOf(f);
    return [f.key, fmt(med, f.digits), f.runs.map((r) => fmt(r, f.digits)).join(' / '), ...targetCells(med, f.target, f.digits)];
  });
  printTable(['figure', 'median', 'runs', 'target', 'met?'], rows, [0, 2]);
}

// ---- main ----

async function main(): Promise<void> {
  const figs: Figure[] = [];
  const extra: Record<string, unknown> = {};
  const fig = (key: string, runs: number[], digits: number, target?: Figure['target']) => {
    const f: Figure = { key, runs, digits, ...(target ? { target } : {}) };
    figs.push(f);
    return f;
  };
  if (LOCAL_ACTORS * TELLS_PER_ACTOR_PER_CHUNK > DEFAULT_DISPATCH_BUDGET) throw new Error('a tell chunk must fit in one dispatcher turn');

  // In process: tell (ActorRef and by address, alternating) and ask.
  {
    progress('local tell: warm-up');
    const b = await localBench('bench-local');
    await localTellRun(b, LOCAL_TELL_WARMUP_MSGS, false);
    await localTellRun(b, LOCAL_TELL_WARMUP_MSGS / 2, true);
    const byRef: number[] = [];
    const byAddr: number[] = [];
    for (let r = 0; r < RUNS; r++) {
      gc();
      byRef.push(await localTellRun(b, LOCAL_TELL_MSGS, false));
      gc();
      byAddr.push(await localTellRun(b, LOCAL_TELL_MSGS, true));
      progress(`local tell run ${r + 1}: ref ${fmt(byRef[r]!, 0)}/s, by address ${fmt(byAddr[r]!, 0)}/s`);
    }
    verifyLocal(b, 'local tell');
    fig('local_tell_per_s', byRef, 0, { op: '>=', value: 5_000_000 });
    fig('local_tell_by_address_per_s', byAddr, 0);

    progress('local ask: warm-up');
    await localAskRun(b, LOCAL_ASK_WARMUP_ROUNDS);
    const asks: number[] = [];
    for (let r = 0; r < RUNS; r++) {
      gc();
      asks.push(await localAskRun(b, LOCAL_ASK_ROUNDS));
      progress(`local ask run ${r + 1}: ${fmt(asks[r]!, 0)}/s`);
    }
    verifyLocal(b, 'local ask');
    fig('local_ask_per_s', asks, 0);
    extra.local_actors = LOCAL_ACTORS;
    extra.local_tell_msgs_per_run = LOCAL_TELL_MSGS;
    extra.local_ask_in_flight = LOCAL_ACTORS;
    await b.system.stop();
  }

  // Memory per idle activation.
  {
    const mem: number[] = [];
    for (let r = 0; r < RUNS; r++) {
      gc();
      mem.push(await idleActivationRun(IDLE_ACTIVATIONS));
      progress(`idle activations run ${r + 1}: ${mem[r]!.toFixed(0)} bytes each`);
    }
    fig('bytes_per_idle_activation', mem, 0);
    extra.idle_activations = IDLE_ACTIVATIONS;
  }

  // Memory of the applied-asks window (bench/actors-durable.ts).
  await dedupMemoryFigures(fig, extra);

  // Over NATS.
  let server: NatsServerHandle | undefined;
  const children = live.children;
  const closers: Array<() => Promise<unknown>> = [];
  try {
    server = live.server = await startNatsServer({ jetstream: false });
    const prefix = uniquePrefix('bench');
    const rawSubject = `${prefix}.raw`;
    progress(`nats-server ${server.url}; starting node and raw responder`);
    const node = startNodeProcess(['--nats', server.url, '--id', 'bench-node', '--shards', '0-127', '--shard-count', '128', '--prefix', prefix], { script: builtFixture('node-proc.js') });
    children.push(node);
    const here = dirname(fileURLToPath(import.meta.url));
    const raw = startNodeProcess(['--nats', server.url, '--subject', rawSubject], { script: join(here, 'raw-responder.js') });
    children.push(raw);
    await Promise.all([node.ready, raw.ready]);

    const transport = await NatsTransport.connect({ servers: server.url, name: 'bench-client' }, { prefix });
    const client = new ActorSystem({ nodeId: 'bench-client', transport });
    closers.push(() => client.stop());
    await client.start([]);
    // The baseline client gets the same connection options reel uses (no async stack traces).
    const nc: NatsConnection = await connect({ servers: server.url, noAsyncTraces: true, name: 'bench-raw-client' });
    closers.push(() => nc.close());

    const body = new Uint8Array(ECHO_BODY_BYTES).map((_, i) => i);
    const echoRefs = Array.from({ length: NATS_CONCURRENCY }, (_, j) => client.ref('test', `e${j}`));
    const echoed = await echoRefs[0]!.ask<Uint8Array>('echo', body);
    if (!(echoed instanceof Uint8Array) || echoed.length !== ECHO_BODY_BYTES || echoed[63] !== 63) throw new Error('echo did not return the body');

    // The request frame reel puts on the wire, with an id as long as those of the runs.
    const sample = encodeMessage(newEnvelope(`bench-client.xxxxxxxx.${1_000_000}`, 'test', 'e1', 100, 0, 'echo', performance.now() + 5_000, '', body), performance.now());
    const payloadBytes = sample.length;
    const rawPayload = new Uint8Array(payloadBytes).fill(7);
    const rawOnce = () => nc.request(rawSubject, rawPayload, { timeout: 5_000 });
    const reelOnce = (j: number) => echoRefs[j]!.ask('echo', body);
    extra.payload_bytes = payloadBytes;
    extra.echo_body_bytes = ECHO_BODY_BYTES;

    progress('nats c1: warm-up');
    await serialRun('reel c1 warm-up', NATS_C1_WARMUP, () => reelOnce(0));
    await serialRun('raw c1 warm-up', NATS_C1_WARMUP, rawOnce);
    const reel1: NatsLoad[] = [];
    const raw1: NatsLoad[] = [];
    const f0 = transport.stats.framesOut;
    const b0 = transport.stats.bytesOut;
    for (let r = 0; r < RUNS; r++) {
      gc();
      reel1.push(await serialRun('reel c1', NATS_C1_SAMPLES, () => reelOnce(0)));
      gc();
      raw1.push(await serialRun('raw c1', NATS_C1_SAMPLES, rawOnce));
      progress(
        `nats c1 run ${r + 1}: reel ${fmt(reel1[r]!.perS, 0)}/s p50 ${reel1[r]!.p50Ms.toFixed(3)} p99 ${reel1[r]!.p99Ms.toFixed(3)} ms; ` +
          `raw ${fmt(raw1[r]!.perS, 0)}/s p50 ${raw1[r]!.p50Ms.toFixed(3)} p99 ${raw1[r]!.p99Ms.toFixed(3)} ms`,
      );
    }
    extra.payload_bytes_measured_avg = Math.round(((transport.stats.bytesOut - b0) / (transport.stats.framesOut - f0)) * 10) / 10;
    fig('nats_ask_per_s_c1', reel1.map((x) => x.perS), 0);
    fig('nats_ask_p50_ms_c1', reel1.map((x) => x.p50Ms), 3);
    fig('nats_ask_p99_ms_c1', reel1.map((x) => x.p99Ms), 3, { op: '<=', value: 1 });
    fig('raw_nats_req_per_s_c1', raw1.map((x) => x.perS), 0);
    fig('raw_nats_req_p50_ms_c1', raw1.map((x) => x.p50Ms), 3);
    fig('raw_nats_req_p99_ms_c1', raw1.map((x) => x.p99Ms), 3);
    extra.nats_c1_samples_per_run = NATS_C1_SAMPLES;

    progress('nats c64: warm-up');
    await concurrentRun('reel c64 warm-up', NATS_C64_WARMUP, NATS_CONCURRENCY, reelOnce);
    await concurrentRun('raw c64 warm-up', NATS_C64_WARMUP, NATS_CONCURRENCY, rawOnce);
    const reel64: number[] = [];
    const raw64: number[] = [];
    for (let r = 0; r < RUNS; r++) {
      gc();
      reel64.push(await concurrentRun('reel c64', NATS_C64_ASKS, NATS_CONCURRENCY, reelOnce));
      gc();
      raw64.push(await concurrentRun('raw c64', NATS_C64_ASKS, NATS_CONCURRENCY, rawOnce));
      progress(`nats c64 run ${r + 1}: reel ${fmt(reel64[r]!, 0)}/s, raw ${fmt(raw64[r]!, 0)}/s`);
    }
    fig('nats_ask_per_s_c64', reel64, 0);
    fig('raw_nats_req_per_s_c64', raw64, 0);
    // The ratio of the medians; its runs are each reel run over the baseline run right after it.
    fig('ratio_c64', reel64.map((x, i) => x / raw64[i]!), 3, { op: '>=', value: 1 }).value = median(reel64) / median(raw64);
    extra.nats_c64_asks_per_run = NATS_C64_ASKS;

    progress('batched tells: warm-up');
    const bb: BatchBench = { system: client, run: 0 };
    await batchedRun(bb, BATCH_WARMUP_BATCHES);
    const batched: number[] = [];
    for (let r = 0; r < RUNS; r++) {
      gc();
      batched.push(await batchedRun(bb, BATCHES_PER_RUN));
      progress(`batched run ${r + 1}: ${fmt(batched[r]!, 0)} msgs/s`);
    }
    fig('batched_msgs_per_s', batched, 0, { op: '>=', value: 2_000_000 });
    extra.batch_size = BATCH_SIZE;
    extra.batch_actors = BATCH_ACTORS;
    extra.batched_msgs_per_run = BATCH_SIZE * BATCHES_PER_RUN;
  } finally {
    for (const c of closers.reverse()) await c().catch((e: unknown) => progress(`close failed: ${String(e)}`));
    await Promise.all(children.map((c) => c.stop()));
    await server?.stop();
    live.server = undefined;
    children.length = 0;
  }

  // Asks that persist before answering, against plain asks to the same node (bench/actors-durable.ts).
  await persistedAskFigures(fig, extra);

  // The figure that matters goes first in the JSON, then the rest and the context.
  const ratio = figs.find((f) => f.key === 'ratio_c64');
  const reordered = ratio ? [...figs.filter((f) => f !== ratio), ratio] : figs;
  printFigures(reordered);
  const out: Record<string, unknown> = {};
  for (const f of reordered) {
    const med = valueOf(f);
    out[f.key] = f.digits === 0 ? Math.round(med) : Number(med.toFixed(4));
    out[`${f.key}_runs`] = f.runs.map((x) => (f.digits === 0 ? Math.round(x) : Number(x.toFixed(4))));
  }
  writeResults('actors.json', Object.assign(out, extra));
}

runBench(main, { limitMs: BENCH_LIMIT_MS, cleanup: killAll });
