/**
 * `npm run bench:serve`: Recommend latency and throughput through one gateway.
 *
 * A nats-server, two `reel node` processes with ml-100k (`u.item`, `u.data`) loaded and MF
 * trained on both (32 factors) and activated, one `reel gateway` (the default 50 ms budget),
 * and an open-loop generator in its own process (`serve-load.ts`: requests at a fixed rate
 * whatever the latency, users uniform over all 943). The gateway caches nothing; the user
 * actor keeps no ranked list beyond its page snapshots, so every request ranks every title.
 *
 * - For 500, 1,000 and 2,000 requests/s: p50, p99, errors, fallbacks and the rate achieved,
 *   over 10 s after a 2 s warm-up.
 * - `max_rps`: the highest rate (a multiple of 250) with p99 ≤ 20 ms, no errors, fallbacks
 *   ≤ 0.1 % and the rate achieved within 1 %; `echo_max_rps` the same for an empty method on
 *   the same gRPC stack (`echo-server.ts`), and `ratio_vs_echo` their quotient. Both are found
 *   by doubling from 500 and then bisecting to 250 (fewer 12 s runs than stepping up by 250).
 *
 * - `event_to_visible_ms_p50` / `_p99`: a thumbs-down on a user's current first title, recorded
 *   through the gateway while the generator sends 1,000 requests/s, timed until a Recommend for
 *   that user no longer returns the title (40 users; also under 250/s). RecordInteractions
 *   answers once the user's actor holds the interaction, so this is normally that call and one
 *   Recommend.
 * - `candidates`: the two designs the issue names for finding candidates, from a cluster client
 *   in this process (no gRPC), closed loop: Recommend ranked on the user's node from its own
 *   index of every title, against a scatter-gather (the user's row, then every node's best
 *   200 of its own titles, merged).
 * - `user_actor_cache`: a second gateway lets a first page come from the user actor's last
 *   ranking of the same request (60 s): its hit rate, p50 and p99 at 500 requests/s (the
 *   figures above are measured without it).
 * - `breakdown`: where the time goes at 250 requests/s (a rate answered without queueing here):
 *   the generator's mean latency, the gateway's own mean (`reel_grpc_request_duration_seconds`)
 *   and the user actor's mean handler time on the nodes (`reel_actor_message_duration_seconds`),
 *   beside the echo's mean at the same rate.
 *
 * Prints a table and writes `bench/results/serve.json`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawn } from 'node:child_process';
import { readRatings } from '../data/movielens.js';
import { startNatsServer, uniquePrefix } from '../test/harness/nats-server.js';
import { runReel, startNodeProcess, type NodeProcess } from '../test/harness/processes.js';
import { parsePrometheus } from '../test/harness/prometheus.js';
import { credentials, type Client, type ServiceError } from '@grpc/grpc-js';
import { apiProtos } from '../gateway/protos.js';
import { connect } from '@nats-io/transport-node';
import { Kind, UserMsg } from '../actors/index.js';
import { ServingMsg, type ScoredTitles, type UserVector } from '../actors/serving/index.js';
import { ClusterClient } from '../cluster/index.js';
import { fmt, killAll, live, percentile, printTable, progress, runBench, targetCells, writeResults, type Target } from './common.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ML100K = join(HERE, '..', '..', '..', 'shared', 'datasets', 'ml-100k');
const RATES = [500, 1000, 2000] as const;
const MEASURE_S = 10;
const WARMUP_S = 2;
const STEP = 250;
/** What a rate must meet to count towards `max_rps`. */
const MAX_P99_MS = 20;
const MAX_FALLBACK_SHARE = 0.001;
const TARGETS: Record<string, Target> = {
  p99_ms_1000: { op: '<=', value: 10 },
  ratio_vs_echo: { op: '>=', value: 0.5 },
  event_to_visible_ms_p99: { op: '<=', value: 50 },
};

/** One generator run's line (`serve-load.ts`). */
interface LoadResult {
  rate: number;
  sent: number;
  achieved_rps: number;
  mean_ms: number;
  p50_ms: number;
  p99_ms: number;
  errors: number;
  error_codes: Record<string, number>;
  /** The first failure of each code, as the client saw it. */
  error_details?: Record<string, string>;
  fallbacks: number;
  max_backlog: number;
}

/** Runs the generator in its own process against `target`. */
function load(target: string, method: 'recommend' | 'echo', rate: number, users: string, seconds = MEASURE_S): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(HERE, 'serve-load.js'), '--target', target, '--method', method, '--rate', String(rate), '--seconds', String(seconds), '--warmup', String(WARMUP_S), '--users', users], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`serve-load ${method} at ${rate}/s exited ${code}: ${err.slice(-2000)}`));
      const r = JSON.parse(out.trim().split('\n').pop()!) as LoadResult;
      // The generator describes the first failure of each code: kept beside the counts.
      const details = Object.fromEntries([...err.matchAll(/^serve-load: first (\S+): (.*)$/gm)].map((m) => [m[1]!, m[2]!]));
      resolve(Object.keys(details).length > 0 ? { ...r, error_details: details } : r);
    });
  });
}

/** The echo server in its own process (killed on exit); resolves with its port. */
let echoChild: ReturnType<typeof spawn> | undefined;
function startEcho(): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = (echoChild = spawn(process.execPath, [join(HERE, 'echo-server.js'), '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] }));
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /"port":\s*(\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.on('exit', (code) => reject(new Error(`echo server exited ${code}: ${out}`)));
  });
}

function stopAll(): void {
  echoChild?.kill('SIGKILL');
  killAll();
}

type Unary = (req: unknown, opts: { deadline: number }, cb: (err: ServiceError | null, res: Record<string, any>) => void) => void;
function unary(client: Client, method: string, req: unknown): Promise<Record<string, any>> {
  return new Promise((resolve, reject) => (client as unknown as Record<string, Unary>)[method]!.call(client, req, { deadline: Date.now() + 5_000 }, (err, res) => (err ? reject(err) : resolve(res))));
}

/**
 * Event to visible: a thumbs-down on a user's current first title, recorded through the
 * gateway, timed from the call until a Recommend for that user (asked again and again) no
 * longer returns that title. `samples` users in turn, each once.
 */
async function eventToVisible(target: string, users: string[], samples: number): Promise<number[]> {
  const rec = new (apiProtos().api.reel.v1.RecommendationService)(target, credentials.createInsecure()) as unknown as Client;
  const out: number[] = [];
  try {
    for (let i = 0; i < samples; i++) {
      const user = users[(i * 37) % users.length]!;
      const first = (await unary(rec, 'Recommend', { userId: user, pageSize: 10 })).titles[0]?.titleId as string | undefined;
      if (first === undefined) continue;
      const t0 = performance.now();
      await unary(rec, 'RecordInteractions', { interactions: [{ eventId: `e2v-${Date.now()}-${i}`, userId: user, titleId: first, type: 'INTERACTION_TYPE_THUMBS_DOWN' }] });
      for (;;) {
        const r = await unary(rec, 'Recommend', { userId: user, pageSize: 10 });
        if (!r.fallback && !(r.titles as Array<{ titleId: string }>).some((t) => t.titleId === first)) break;
        if (performance.now() - t0 > 10_000) throw new Error(`user ${user}: the disliked title ${first} still recommended after 10 s`);
      }
      out.push(performance.now() - t0);
    }
  } finally {
    rec.close();
  }
  return out.sort((a, b) => a - b);
}

/** One path's closed-loop figures: requests/s, and latency percentiles in ms. */
interface PathFigures {
  per_s: number;
  p50_ms: number;
  p99_ms: number;
  requests: number;
}

/**
 * The two candidate designs the issue names, measured from one cluster client (the gateway's
 * part, without gRPC), closed loop with `inFlight` requests at a time, alternating `rounds`
 * times for `seconds` each:
 * - `index`: Recommend as served, one message to the user's node, which ranks every title from
 *   its own index (and also makes reasons, the page snapshot, backfill);
 * - `scatter`: the user's row and watched titles from its actor (`vector`), then every node's
 *   best 200 of the titles of its own shards (`serving.score`, the same WebAssembly kernel),
 *   merged by score: candidates only, none of the rest.
 */
async function candidatePaths(client: ClusterClient, users: string[], rounds = 3, seconds = 4, inFlight = 8): Promise<{ index: PathFigures; scatter: PathFigures; latency_ratio_p50: number; throughput_ratio: number }> {
  const K = 200;
  let next = 0;
  const user = () => users[(next++ * 7919) % users.length]!;
  const index = async () => void (await client.system.ask(Kind.User, user(), UserMsg.Recommend, { pageSize: 20 }, { deadlineMs: 5_000 }));
  const scatter = async () => {
    const v = await client.system.ask<UserVector>(Kind.User, user(), UserMsg.Vector, undefined, { deadlineMs: 5_000 });
    if (v.row === null) return;
    const nodes = client.ownerNodes();
    const parts = await Promise.all(nodes.map((n) => client.system.askNode<ScoredTitles>(n, ServingMsg.Score, { version: v.modelVersion, row: v.row, k: K, exclude: v.watched }, { deadlineMs: 5_000 })));
    const merged: Array<[string, number]> = [];
    for (const p of parts) p.value.titleIds.forEach((t, j) => merged.push([t, p.value.scores[j]!]));
    merged.sort((a, b) => b[1] - a[1]);
    merged.length = Math.min(merged.length, K);
  };
  const run = async (one: () => Promise<void>) => {
    const lat: number[] = [];
    const end = performance.now() + seconds * 1_000;
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        while (performance.now() < end) {
          const t = performance.now();
          await one();
          lat.push(performance.now() - t);
        }
      }),
    );
    return lat;
  };
  const all = { index: [] as number[], scatter: [] as number[] };
  for (let r = 0; r < rounds; r++) {
    all.index.push(...(await run(index)));
    all.scatter.push(...(await run(scatter)));
  }
  const figures = (xs: number[]): PathFigures => {
    xs.sort((a, b) => a - b);
    return { per_s: xs.length / (rounds * seconds), p50_ms: percentile(xs, 0.5), p99_ms: percentile(xs, 0.99), requests: xs.length };
  };
  const i = figures(all.index);
  const s = figures(all.scatter);
  return { index: i, scatter: s, latency_ratio_p50: s.p50_ms / i.p50_ms, throughput_ratio: i.per_s / s.per_s };
}

/** Waits until a gateway answers recommendations (its fallback list exists: a node answered it). */
async function untilAnswers(target: string): Promise<void> {
  const rec = new (apiProtos().api.reel.v1.RecommendationService)(target, credentials.createInsecure()) as unknown as Client;
  try {
    for (let delay = 50; ; delay = Math.min(1_000, delay * 2)) {
      const ok = await unary(rec, 'PopularTitles', { pageSize: 1 }).then((r) => (r.titles as unknown[]).length > 0, () => false);
      if (ok) return;
      await new Promise((r) => setTimeout(r, delay));
    }
  } finally {
    rec.close();
  }
}

/** Whether a run meets `max_rps`'s bar: no errors, fallbacks ≤ 0.1 %, the rate achieved within 1 %, and (unless `anyLatency`) p99 ≤ 20 ms. */
function meets(r: LoadResult, anyLatency = false): boolean {
  return (anyLatency || r.p99_ms <= MAX_P99_MS) && r.errors === 0 && r.fallbacks <= MAX_FALLBACK_SHARE * r.sent && r.achieved_rps >= 0.99 * r.rate;
}

/** The highest multiple of `STEP` that meets the bar: doubling from 500, then bisecting. */
async function maxRate(run: (rate: number) => Promise<LoadResult>, what: string, anyLatency = false): Promise<{ rate: number; runs: LoadResult[] }> {
  const runs: LoadResult[] = [];
  const tryRate = async (rate: number) => {
    const r = await run(rate);
    runs.push(r);
    progress(`${what} at ${rate}/s: p99 ${fmt(r.p99_ms, 2)} ms, errors ${r.errors}, fallbacks ${r.fallbacks}, achieved ${fmt(r.achieved_rps, 0)}/s → ${meets(r, anyLatency) ? 'ok' : 'over'}`);
    return meets(r, anyLatency);
  };
  let lo = 0;
  let hi = 500;
  while (await tryRate(hi)) {
    lo = hi;
    hi *= 2;
    if (hi > 64_000) break;
  }
  while (hi - lo > STEP) {
    const mid = Math.round((lo + hi) / 2 / STEP) * STEP;
    if (mid <= lo || mid >= hi) break;
    if (await tryRate(mid)) lo = mid;
    else hi = mid;
  }
  return { rate: lo, runs };
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'reel-bench-serve-'));
  try {
    const server = (live.server = await startNatsServer());
    const prefix = uniquePrefix('serve');
    const flags = ['--nats', server.url, '--prefix', prefix];
    const nodes: NodeProcess[] = [];
    for (const id of ['n1', 'n2']) {
      const p = startNodeProcess(['node', ...flags, '--id', id, '--shard-count', '64', '--metrics-port', '0'], { readyTimeoutMs: 60_000 });
      live.children.push(p);
      nodes.push(p);
      await p.ready;
    }
    const reel = async (args: string[]) => {
      const r = await runReel([...args, ...flags], { timeoutMs: 600_000 });
      if (r.code !== 0) throw new Error(`reel ${args.join(' ')} exited ${r.code}: ${r.stderr.slice(-2000)}`);
      return r;
    };
    progress('loading ml-100k (u.item, u.data) into two nodes');
    await reel(['load', '--data', join(ML100K, 'u.item')]);
    await reel(['load', '--data', join(ML100K, 'u.data')]);
    progress('training MF (32 factors, 20 epochs) on both nodes, then activating it');
    await reel(['train', '--model', 'mf', '--model-version', 'serve', '--epochs', '20', '--factors', '32', '--seed', '1', '--json']);
    await reel(['models', 'activate', 'serve']);
    const gw = startNodeProcess(['gateway', ...flags, '--port', '0', '--metrics-port', '0'], { readyTimeoutMs: 60_000 });
    live.children.push(gw);
    const gwReady = await gw.ready;
    const target = `127.0.0.1:${gwReady.port as number}`;
    await untilAnswers(target);
    const ports = [gwReady.metricsPort as number, ...(await Promise.all(nodes.map(async (n) => (await n.ready).metricsPort as number)))];
    /** Sums and counts of the gateway's Recommend durations and the nodes' user-actor handler durations. */
    const durations = async () => {
      const [g, ...ns] = await Promise.all(ports.map(async (p) => parsePrometheus(await (await fetch(`http://127.0.0.1:${p}/metrics`)).text())));
      const method = { method: '/reel.v1.RecommendationService/Recommend' };
      const user = { kind: 'user' };
      return {
        gateway: [g!.sum('reel_grpc_request_duration_seconds_sum', method), g!.sum('reel_grpc_request_duration_seconds_count', method)],
        node: [ns.reduce((a, n) => a + n.sum('reel_actor_message_duration_seconds_sum', user), 0), ns.reduce((a, n) => a + n.sum('reel_actor_message_duration_seconds_count', user), 0)],
      };
    };
    const echoTarget = `127.0.0.1:${await startEcho()}`;

    const users = new Set<string>();
    for await (const r of readRatings(join(ML100K, 'u.data'))) users.add(r.user);
    const usersFile = join(work, 'users.txt');
    writeFileSync(usersFile, [...users].join('\n'));
    progress(`warming up: every one of ${users.size} users activated, the JIT warm`);
    await load(target, 'recommend', 500, usersFile, 5);

    // Where the time goes, at a rate this machine answers without queueing: means over 10 s, from
    // the generator (the client), the gateway's own timing of the call, and the user actor's handler.
    const before = await durations();
    const slow = await load(target, 'recommend', 250, usersFile);
    const after = await durations();
    const echoSlow = await load(echoTarget, 'echo', 250, usersFile);
    const mean = (k: 'gateway' | 'node') => (1000 * (after[k][0]! - before[k][0]!)) / Math.max(1, after[k][1]! - before[k][1]!);
    const breakdown = {
      rate: 250,
      client_mean_ms: slow.mean_ms,
      client_p50_ms: slow.p50_ms,
      gateway_mean_ms: mean('gateway'),
      node_handler_mean_ms: mean('node'),
      echo_client_mean_ms: echoSlow.mean_ms,
      echo_client_p50_ms: echoSlow.p50_ms,
    };
    progress(`where the time goes at 250/s: ${JSON.stringify(breakdown)}`);

    const byRate: Record<string, LoadResult> = {};
    for (const rate of RATES) {
      byRate[String(rate)] = await load(target, 'recommend', rate, usersFile);
      progress(`recommend at ${rate}/s: ${JSON.stringify(byRate[String(rate)])}`);
    }
    // Event to visible under load: the generator runs at 1,000 requests/s meanwhile (and at 250/s, which this machine answers without queueing).
    const e2v: Record<string, { p50_ms: number; p99_ms: number; samples: number }> = {};
    for (const rate of [250, 1000]) {
      const background = load(target, 'recommend', rate, usersFile, 15);
      await new Promise((r) => setTimeout(r, (WARMUP_S + 1) * 1000));
      const times = await eventToVisible(target, [...users], 40);
      await background;
      e2v[String(rate)] = { p50_ms: percentile(times, 0.5), p99_ms: percentile(times, 0.99), samples: times.length };
      progress(`event to visible under ${rate}/s: ${JSON.stringify(e2v[String(rate)])}`);
    }

    const rec = await maxRate((rate) => load(target, 'recommend', rate, usersFile), 'recommend');
    const ech = await maxRate((rate) => load(echoTarget, 'echo', rate, usersFile), 'echo');
    const ratio = ech.rate > 0 ? rec.rate / ech.rate : 0;

    // The user actor's cached ranking, on: a second gateway lets a first page come from the
    // user's last ranking of the same request (60 s); its hit rate at 500/s over all users.
    const cachedGw = startNodeProcess(['gateway', ...flags, '--port', '0', '--metrics-port', '0', '--recommend-cache-ms', '60000'], { readyTimeoutMs: 60_000 });
    live.children.push(cachedGw);
    const cachedReady = await cachedGw.ready;
    await untilAnswers(`127.0.0.1:${cachedReady.port as number}`);
    const withCache = await load(`127.0.0.1:${cachedReady.port as number}`, 'recommend', 500, usersFile);
    const cacheScrape = parsePrometheus(await (await fetch(`http://127.0.0.1:${cachedReady.metricsPort as number}/metrics`)).text());
    const [hits, misses] = ['hit', 'miss'].map((result) => cacheScrape.sum('reel_recommend_cache_total', { result }));
    const cache = { rate: 500, hit_rate: hits! / Math.max(1, hits! + misses!), p50_ms: withCache.p50_ms, p99_ms: withCache.p99_ms, errors: withCache.errors, error_codes: withCache.error_codes, fallbacks: withCache.fallbacks };
    progress(`with the user actor's cached ranking: ${JSON.stringify(cache)}`);
    // This machine misses the 20 ms p99 bar even for the echo at low rates: the same search
    // without it (no errors, fallbacks ≤ 0.1 %, rate achieved) compares throughput.
    const recAny = await maxRate((rate) => load(target, 'recommend', rate, usersFile), 'recommend (any latency)', true);
    const echAny = await maxRate((rate) => load(echoTarget, 'echo', rate, usersFile), 'echo (any latency)', true);

    // Scatter-gather against the per-node index, from a cluster client in this process: last,
    // as its closed loop runs the cluster flat out.
    const nc = await connect({ servers: server.url });
    const cc = await ClusterClient.connect(nc, { prefix });
    const paths = await candidatePaths(cc, [...users]);
    await cc.close();
    await nc.close();
    progress(`candidates, closed loop with 8 in flight: ${JSON.stringify(paths)}`);

    const out: Record<string, unknown> = {};
    for (const rate of RATES) {
      const r = byRate[String(rate)]!;
      out[String(rate)] = { p50_ms: r.p50_ms, p99_ms: r.p99_ms, errors: r.errors, fallbacks: r.fallbacks, achieved_rps: r.achieved_rps, error_codes: r.error_codes, ...(r.error_details ? { error_details: r.error_details } : {}) };
    }
    Object.assign(out, {
      max_rps: rec.rate,
      echo_max_rps: ech.rate,
      ratio_vs_echo: ratio,
      max_rps_any_latency: recAny.rate,
      echo_max_rps_any_latency: echAny.rate,
      ratio_vs_echo_any_latency: echAny.rate > 0 ? recAny.rate / echAny.rate : 0,
      event_to_visible_ms_p50: e2v['1000']!.p50_ms,
      event_to_visible_ms_p99: e2v['1000']!.p99_ms,
      event_to_visible_by_rate: e2v,
      breakdown,
      candidates: paths,
      user_actor_cache: cache,
      max_rps_runs: rec.runs,
      echo_max_rps_runs: ech.runs,
      settings: { nodes: 2, shard_count: 64, data: 'ml-100k u.data', model: 'mf 32 factors', budget_ms: 50, measure_s: MEASURE_S, warmup_s: WARMUP_S, users: users.size, gateway_cache: false, user_actor_cache_in_headline: false },
    });
    const rows = RATES.map((rate) => {
      const r = byRate[String(rate)]!;
      const [target, met] = rate === 1000 ? targetCells(r.p99_ms, TARGETS.p99_ms_1000, 2) : ['', ''];
      return [`${rate}/s`, fmt(r.achieved_rps, 0), fmt(r.p50_ms, 2), fmt(r.p99_ms, 2), `${target} ${met}`.trim(), String(r.errors), String(r.fallbacks)];
    });
    printTable(['rate', 'achieved', 'p50 ms', 'p99 ms', 'target', 'errors', 'fallbacks'], rows);
    const cells = (value: number, t: Target, digits: number): [string, string] => [fmt(value, digits), targetCells(value, t, digits).join(' ')];
    const [rv, rt] = cells(ratio, TARGETS.ratio_vs_echo!, 2);
    const [ev, et] = cells(e2v['1000']!.p99_ms, TARGETS.event_to_visible_ms_p99!, 1);
    printTable(
      ['figure', 'value', 'target'],
      [
        ['max_rps (p99 ≤ 20 ms)', String(rec.rate), ''],
        ['echo_max_rps', String(ech.rate), ''],
        ['ratio_vs_echo', rv, rt],
        ['max_rps / echo_max_rps without the p99 bar', `${recAny.rate} / ${echAny.rate}`, ''],
        ['with the cached ranking at 500/s: hit rate, p50 / p99 ms', `${fmt(100 * cache.hit_rate, 1)} %, ${fmt(cache.p50_ms, 2)} / ${fmt(cache.p99_ms, 2)}`, ''],
        ['event_to_visible_ms p50 (1000/s)', fmt(e2v['1000']!.p50_ms, 1), ''],
        ['event_to_visible_ms p99 (1000/s)', ev, et],
        ['event_to_visible_ms p50 / p99 (250/s)', `${fmt(e2v['250']!.p50_ms, 1)} / ${fmt(e2v['250']!.p99_ms, 1)}`, ''],
      ],
    );
    printTable(
      ['candidates (closed loop, 8 in flight, no gRPC)', 'per s', 'p50 ms', 'p99 ms'],
      [
        ['per-node index: Recommend on the user\'s node', fmt(paths.index.per_s, 0), fmt(paths.index.p50_ms, 2), fmt(paths.index.p99_ms, 2)],
        ['scatter-gather: vector, then every node\'s top 200, merged', fmt(paths.scatter.per_s, 0), fmt(paths.scatter.p50_ms, 2), fmt(paths.scatter.p99_ms, 2)],
      ],
    );
    printTable(
      ['at 250/s, mean ms', 'recommend', 'echo'],
      [
        ['client (generator)', fmt(breakdown.client_mean_ms, 2), fmt(breakdown.echo_client_mean_ms, 2)],
        ['gateway (its own timing)', fmt(breakdown.gateway_mean_ms, 2), ''],
        ['user actor handler (ranking)', fmt(breakdown.node_handler_mean_ms, 3), ''],
      ],
    );
    writeResults('serve.json', out);
  } finally {
    stopAll();
    rmSync(work, { recursive: true, force: true });
  }
}

runBench(main, { limitMs: 3_000_000, cleanup: stopAll });
