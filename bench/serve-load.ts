/**
 * The open-loop gRPC load generator of `bench:serve`, run as its own process: it calls one
 * unary method at a fixed rate whatever the latency (`OpenLoop`), first for a warm-up whose
 * results are discarded, then for the measured window, and prints one JSON line on stdout:
 *
 *   {"rate":N,"sent":n,"achieved_rps":x,"mean_ms":…,"p50_ms":…,"p99_ms":…,"errors":n,
 *    "error_codes":{"UNAVAILABLE":n,…},"fallbacks":n,"max_backlog":n}
 *
 * Every figure is of the requests sent within the measured window: `achieved_rps` is their
 * number over the window's duration; a request that failed, or had no answer by the end of the
 * window plus the deadline (code `NO_ANSWER`), is an error and counts as `--deadline-ms` in the
 * percentiles; `fallbacks` are answers with `fallback` set; `max_backlog` is the generator's own
 * largest lag (requests due but not yet sent at a tick). Progress goes to stderr.
 *
 *   node dist/bench/serve-load.js --target HOST:PORT --method recommend|echo --rate N --seconds S
 *     [--warmup S] [--users FILE] [--seed N] [--deadline-ms MS]
 *
 * `recommend` calls reel.v1.RecommendationService/Recommend for a user drawn uniformly from
 * `--users` (one id a line) by a PRNG seeded with `--seed`; `echo` calls `echo-server.ts` with an
 * empty message. Exits 0 once the line is printed, 2 on bad arguments, 1 on any other failure.
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { Client, credentials, status, type ServiceError } from '@grpc/grpc-js';
import { mulberry32 } from '../data/random.js';
import { apiProtos } from '../gateway/protos.js';
import { InvalidArgument } from '../runtime/errors.js';
import { percentile, progress } from './common.js';
import { echoService } from './echo-server.js';
import { OpenLoop } from './open-loop.js';

const DEFAULT_WARMUP_S = 2;
const DEFAULT_DEADLINE_MS = 1_000;
const DEFAULT_SEED = 1;
const USAGE =
  'usage: serve-load --target HOST:PORT --method recommend|echo --rate N --seconds S [--warmup S] [--users FILE] [--seed N] [--deadline-ms MS]';
/** Titles asked for by each Recommend call. */
const PAGE_SIZE = 20;
/** How long past a deadline a call may take to fail with DEADLINE_EXCEEDED before it is `NO_ANSWER`. */
const DEADLINE_GRACE_MS = 200;

/** The command line, checked. */
interface LoadOptions {
  /** `host:port` of the gRPC server. */
  target: string;
  method: 'recommend' | 'echo';
  /** Requests per second, during the warm-up and the measured window. */
  rate: number;
  /** Length of the measured window, in s. */
  seconds: number;
  /** Length of the warm-up, in s. @default 2 */
  warmupS: number;
  /** User ids to draw from (recommend only); read from the `--users` file. */
  users: string[];
  /** Seed of the PRNG that draws users. @default 1 */
  seed: number;
  /** The gRPC deadline of each call, in ms. @default 1000 */
  deadlineMs: number;
}

/** Parses and checks `argv`; throws `InvalidArgument` naming the flag (parseArgs' own errors name it too). */
function parseLoadOptions(argv: string[]): LoadOptions {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      target: { type: 'string' },
      method: { type: 'string' },
      rate: { type: 'string' },
      seconds: { type: 'string' },
      warmup: { type: 'string', default: String(DEFAULT_WARMUP_S) },
      users: { type: 'string' },
      seed: { type: 'string', default: String(DEFAULT_SEED) },
      'deadline-ms': { type: 'string', default: String(DEFAULT_DEADLINE_MS) },
    },
  });
  const bad = (flag: string, what: string, got?: string) => new InvalidArgument(`--${flag} ${what}${got === undefined ? '' : ` (got "${got}")`}`, { fields: [`--${flag}`] });
  const number = (flag: 'rate' | 'seconds' | 'warmup' | 'seed' | 'deadline-ms', test: (n: number) => boolean, what: string): number => {
    const s = v[flag];
    if (s === undefined) throw bad(flag, 'is required');
    const n = Number(s);
    if (s.trim() === '' || !test(n)) throw bad(flag, `must be ${what}`, s);
    return n;
  };
  if (v.target === undefined) throw bad('target', 'is required');
  if (!/^.+:\d+$/.test(v.target)) throw bad('target', 'must be host:port', v.target);
  if (v.method !== 'recommend' && v.method !== 'echo') throw bad('method', 'must be recommend or echo', v.method);
  const opts: LoadOptions = {
    target: v.target,
    method: v.method,
    rate: number('rate', (n) => Number.isFinite(n) && n > 0, 'a positive number of requests/s'),
    seconds: number('seconds', (n) => Number.isFinite(n) && n > 0, 'a positive number of seconds'),
    warmupS: number('warmup', (n) => Number.isFinite(n) && n >= 0, 'a number of seconds, 0 or more'),
    users: [],
    seed: number('seed', Number.isSafeInteger, 'an integer'),
    deadlineMs: number('deadline-ms', (n) => Number.isSafeInteger(n) && n > 0, 'a positive integer of ms'),
  };
  if (opts.method === 'recommend') {
    if (v.users === undefined) throw bad('users', 'is required with --method recommend');
    let text: string;
    try {
      text = readFileSync(v.users, 'utf8');
    } catch (err) {
      throw bad('users', `cannot be read: ${(err as Error).message}`);
    }
    opts.users = text.split('\n').map((l) => l.trim()).filter((l) => l !== '');
    if (opts.users.length === 0) throw bad('users', 'holds no user id', v.users);
  }
  return opts;
}

/** One call of the chosen method: whether its answer is a fallback; rejects with `{ code }`, the status's name. */
type Call = (client: Client, deadlineMs: number) => Promise<boolean>;

/** What a call needs of a method's definition (grpc-js's and proto-loader's both have it). */
interface UnaryMethod<Req, Res> {
  path: string;
  requestSerialize: (req: Req) => Buffer;
  responseDeserialize: (bytes: Buffer) => Res;
}

const seenCodes = new Set<string>();
/** `code`, its first occurrence written to stderr with the call's details. */
function described(code: string, details: string): string {
  if (!seenCodes.has(code)) {
    seenCodes.add(code);
    process.stderr.write(`serve-load: first ${code}: ${details}\n`);
  }
  return code;
}

/** A `Call` of `method`, each request from `next`, each answer judged by `isFallback`. */
function unaryCall<Req, Res>(method: UnaryMethod<Req, Res>, next: () => Req, isFallback: (res: Res) => boolean): Call {
  return (client, deadlineMs) =>
    new Promise((resolve, reject) => {
      client.makeUnaryRequest(method.path, method.requestSerialize, method.responseDeserialize, next(), { deadline: Date.now() + deadlineMs }, (err: ServiceError | null, res?: Res) =>
        // OpenLoop counts failures by a string `code`: the canonical status name. The first
        // failure of each code is described on stderr (what failed, not only how often).
        err ? reject({ code: described(status[err.code] ?? String(err.code), err.details) }) : resolve(isFallback(res!)),
      );
    });
}

function callOf(opts: LoadOptions): Call {
  if (opts.method === 'echo') return unaryCall(echoService.Echo, () => Buffer.alloc(0), () => false);
  const rand = mulberry32(opts.seed);
  const users = opts.users;
  // The loader keeps proto-loader's camelCase field names (see LOADER_OPTIONS).
  return unaryCall(
    apiProtos().api.reel.v1.RecommendationService.service.Recommend,
    () => ({ userId: users[Math.floor(rand() * users.length)]!, pageSize: PAGE_SIZE }),
    (res) => res.fallback,
  );
}

/** The figures of the requests `gen` sent within `[from, to)` (performance.now() ms). */
function measured(gen: OpenLoop, fallback: Uint8Array, from: number, to: number, deadlineMs: number) {
  const latencies: number[] = [];
  let sent = 0;
  let noAnswer = 0;
  let fallbacks = 0;
  for (let i = 0; i < gen.sent; i++) {
    const t = gen.sentAt[i]!;
    if (t < from || t >= to) continue;
    sent++;
    const ms = gen.latency[i]!;
    if (gen.failed[i]) latencies.push(deadlineMs);
    else if (Number.isNaN(ms)) {
      noAnswer++;
      latencies.push(deadlineMs);
    } else {
      latencies.push(ms);
      fallbacks += fallback[i]!;
    }
  }
  const codes = gen.failuresIn([[from, to]]);
  if (noAnswer > 0) codes.NO_ANSWER = noAnswer;
  return { sent, latencies, codes, errors: Object.values(codes).reduce((a, b) => a + b, 0), fallbacks };
}

async function main(): Promise<void> {
  let opts: LoadOptions;
  try {
    opts = parseLoadOptions(process.argv.slice(2));
  } catch (err) {
    // parseArgs throws TypeErrors coded ERR_PARSE_ARGS_* for unknown flags and missing values.
    if (err instanceof InvalidArgument || String((err as { code?: unknown } | null)?.code).startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`serve-load: ${(err as Error).message}\n${USAGE}\n`);
      process.exit(2);
    }
    throw err;
  }
  // One channel, as one backend service would hold. Its own subchannel pool keeps it off
  // grpc-js's process-wide pool, so nothing else in the process shares its connection. A pool
  // of 4 such channels did no better (same CPU per call, same p99 at 2,000-4,000/s): what
  // limits is this process's one thread, about 0.2 ms of CPU per call in grpc-js here.
  const client = new Client(opts.target, credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1, 'grpc.enable_channelz': 0 });
  const call = callOf(opts);
  // Room for every request due: the warm-up, the window and a second for a late stop.
  const capacity = Math.ceil(opts.rate * (opts.warmupS + opts.seconds + 1));
  const fallback = new Uint8Array(capacity);
  const gen = new OpenLoop(
    opts.rate,
    capacity,
    (i) =>
      call(client, opts.deadlineMs).then((fb) => {
        if (fb) fallback[i] = 1;
      }),
    () => true,
  );

  progress(`${opts.method} at ${opts.rate}/s to ${opts.target}: warm-up ${opts.warmupS} s, then ${opts.seconds} s measured`);
  gen.start();
  await sleep(opts.warmupS * 1_000);
  const from = performance.now();
  // The warm-up's lag (connecting, JIT) is discarded with its results.
  gen.maxBacklog = 0;
  await sleep(opts.seconds * 1_000);
  const to = performance.now();
  gen.stop();
  progress(`sent ${gen.sent}; waiting for ${gen.pending} answers`);
  // Every call fails at its deadline, at the latest: what is still pending after it never answered.
  while (gen.pending > 0 && performance.now() < to + opts.deadlineMs + DEADLINE_GRACE_MS) await sleep(10);
  client.close();

  const m = measured(gen, fallback, from, to, opts.deadlineMs);
  m.latencies.sort((a, b) => a - b);
  const round = (x: number, digits: number) => Number(x.toFixed(digits));
  const line = {
    rate: opts.rate,
    sent: m.sent,
    achieved_rps: round(m.sent / ((to - from) / 1_000), 1),
    mean_ms: round(m.latencies.reduce((a, b) => a + b, 0) / Math.max(1, m.latencies.length), 3),
    p50_ms: round(percentile(m.latencies, 0.5), 3),
    p99_ms: round(percentile(m.latencies, 0.99), 3),
    errors: m.errors,
    error_codes: m.codes,
    fallbacks: m.fallbacks,
    max_backlog: gen.maxBacklog,
  };
  process.stdout.write(`${JSON.stringify(line)}\n`, () => process.exit(0));
}

main().catch((err: unknown) => {
  process.stderr.write(`serve-load: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
