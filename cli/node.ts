import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { registerReelActors } from '../actors/index.js';
import { ClusterNode, METRICS_SYSTEM_OPTIONS, nodeMetrics, startMetricsServer } from '../cluster/index.js';
import { InvalidArgument, type ActorSystem, type RuntimeEvent } from '../runtime/index.js';
import { connectNatsFor, settingsFrom } from './cluster-connect.js';
import { CliError, ExitCode } from './exit-codes.js';
import { flagOf } from './settings.js';
import { clockFromEnv } from './test-clock.js';

type Level = 'debug' | 'info' | 'warn' | 'error';

/** A structured log line on stdout. */
function log(level: Level, msg: string, fields: Record<string, unknown> = {}): void {
  process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields })}\n`);
}

/** How a module given to `--kinds` registers its actor kinds. */
export type RegisterKinds = (system: ActorSystem) => unknown;

/** Loads `--kinds MODULE`: an ES module exporting `register(system)` (or a default function). */
export async function loadKinds(module: string): Promise<RegisterKinds> {
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(resolve(module)).href)) as Record<string, unknown>;
  } catch (err) {
    throw new CliError(`--kinds ${module}: cannot load the module: ${(err as Error).message}`, ExitCode.Usage);
  }
  const fn = typeof mod.register === 'function' ? mod.register : mod.default;
  if (typeof fn !== 'function') throw new CliError(`--kinds ${module}: the module exports no register(system) function (named 'register' or default)`, ExitCode.Usage);
  return fn as RegisterKinds;
}

/**
 * `reel node`: joins the cluster and hosts actors on the shards it is given (reel's user and
 * title actors, or the kinds of `--kinds MODULE`). It reconnects to NATS for ever (or
 * `--max-reconnects` times) and serves nothing while cut off; it exits 1 when the connection
 * closes for good or another process runs with its id. SIGTERM or SIGINT (or `reel drain`)
 * hands every shard off, then exits 0.
 */
export async function runNode(flags: Record<string, unknown>): Promise<never> {
  const s = settingsFrom(flags);
  if (!s.id) throw new CliError('reel node needs a node id: --id ID (or REEL_NODE_ID, or "id" in the config file)', ExitCode.Usage);
  const register = s.kinds !== undefined ? await loadKinds(s.kinds) : (system: ActorSystem) => registerReelActors(system);
  const clock = clockFromEnv(process.env, (step) => log('warn', 'test clock stepped', { node: s.id, ...step }));
  const events = flags.events === true;
  const nc = await connectNatsFor(s, s.id, { reconnect: true });
  let last = 0;
  const onEvent = (e: RuntimeEvent) => {
    if (e.type === 'malformed') {
      // At most one line every 10 s: a peer of another version can send many.
      if (clock.monoMs() - last < 10_000) return;
      last = clock.monoMs();
      log('warn', 'refused a malformed frame', { node: s.id, reason: e.reason });
    } else if (events) {
      log('debug', e.type, { event: e.type, ...e });
    }
  };
  const node = await ClusterNode.start(
    {
      nodeId: s.id,
      prefix: s.prefix,
      ...pick(s, ['shardCount', 'weight', 'heartbeatWindowMs', 'heartbeatMs', 'leaseMs', 'renewMs', 'safetyMarginMs', 'reconcileMs', 'maxAskDeadlineMs']),
      // Without a renewal interval of its own, a shorter lease renews at a third of it.
      ...(s.leaseMs !== undefined && s.renewMs === undefined ? { renewMs: Math.max(1, Math.floor(s.leaseMs / 3)) } : {}),
      system: { ...METRICS_SYSTEM_OPTIONS, clock },
    },
    {
      nc,
      register: async (system) => {
        await register(system);
      },
      onEvent,
      log: (msg, fields, level) => log(level ?? 'info', msg, { node: s.id, ...fields }),
    },
  ).catch(async (err: unknown) => {
    await nc.close();
    if (err instanceof InvalidArgument) {
      const flagsNamed = err.fields.map(flagOf).join(', ');
      throw new CliError(`node ${s.id} refused to start: ${err.message}${flagsNamed ? ` (see ${flagsNamed})` : ''}`, ExitCode.Usage);
    }
    throw new CliError(`node ${s.id} could not join: ${(err as Error).message}`);
  });
  let metricsPort: number | undefined;
  if (s.metricsPort !== undefined) {
    const server = await startMetricsServer(nodeMetrics(node, nc), s.metricsPort).catch((err: unknown) => {
      throw new CliError(`cannot serve metrics on port ${s.metricsPort}: ${(err as Error).message}`);
    });
    metricsPort = server.port;
  }
  log('info', 'node ready', { node: s.id, nats: s.nats, prefix: s.prefix, shardCount: node.config.shardCount, metricsPort, incarnation: node.system.incarnation });

  let exiting = false;
  const drainAndExit = async (why: string) => {
    if (exiting) return;
    exiting = true;
    log('info', 'draining: handing every shard off', { node: s.id, why });
    const t0 = clock.monoMs();
    try {
      await node.drain();
      await nc.drain();
      log('info', 'drained; exiting', { node: s.id, seconds: (clock.monoMs() - t0) / 1000 });
      process.exit(ExitCode.Ok);
    } catch (err) {
      log('error', 'drain failed', { node: s.id, error: (err as Error).message });
      process.exit(ExitCode.Failed);
    }
  };
  process.on('SIGTERM', () => void drainAndExit('SIGTERM'));
  process.on('SIGINT', () => void drainAndExit('SIGINT'));
  // A drain requested remotely (`reel drain`) ends the process the same way.
  void node.drainStarted.then(() => drainAndExit('reel drain'));
  void node.failed.then(async (err) => {
    if (exiting) return;
    exiting = true;
    log('error', 'node cannot go on; exiting', { node: s.id, error: err.message });
    await node.stop().catch(() => undefined);
    await nc.close().catch(() => undefined);
    process.exit(ExitCode.Failed);
  });
  return new Promise<never>(() => undefined);
}

function pick<T extends object, K extends keyof T>(o: T, keys: K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
}
