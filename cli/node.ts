import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  ClusterNode, clusterNodeSource, METRICS_SYSTEM_OPTIONS, processRegistry, registerInteractionMetrics, registerNodeMetrics, registerReelNode, registerTrainingMetrics,
} from '../cluster/index.js';
import type { NodeTraining } from '../actors/training/index.js';
import { InvalidArgument, type ActorSystem, type RuntimeEvent } from '../runtime/index.js';
import { connectNatsFor, settingsFrom } from './cluster-connect.js';
import { CliError, ExitCode } from './exit-codes.js';
import { flagOf } from './settings.js';
import { clockFromEnv } from './test-clock.js';
import { log, serveMetrics } from './process-log.js';

/** How long leaving after a fatal error may take before the process exits anyway (its leases then run out). */
const LEAVE_TIMEOUT_MS = 10_000;


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
 * title actors, or the kinds of `--kinds MODULE`). Its metrics port, if any, is bound first. It
 * reconnects to NATS for ever (or `--max-reconnects` times) and serves nothing while cut off.
 * SIGTERM or SIGINT (or `reel drain`) hands every shard off, then exits 0. On a fatal error
 * after joining (an uncaught exception, an unhandled rejection, a failed drain, another process
 * with its id) it leaves: releases its shards and marks its entry failed, then exits 1; when the
 * connection has closed for good it cannot, and its leases run out instead.
 */
export async function runNode(flags: Record<string, unknown>): Promise<never> {
  const s = settingsFrom(flags);
  if (!s.id) throw new CliError('reel node needs a node id: --id ID (or REEL_NODE_ID, or "id" in the config file)', ExitCode.Usage);
  const kinds = s.kinds !== undefined ? await loadKinds(s.kinds) : undefined;
  const clock = clockFromEnv(process.env, (step) => log('warn', 'test clock stepped', { node: s.id, ...step }));
  const events = flags.events === true;
  const id = s.id;
  let node: ClusterNode | undefined;
  let training: NodeTraining | undefined;
  // Every port is bound before joining: /healthz answers at once, /readyz once the node is ready.
  const registry = s.metricsPort !== undefined ? processRegistry({ node: id }) : undefined;
  const metrics = registry && (await serveMetrics(s, `node ${id}`, registry, () => (node === undefined ? 'joining the cluster' : node.notReady())));
  const nc = await connectNatsFor(s, s.id, { reconnect: true }).catch(async (err: unknown) => {
    await metrics?.close();
    throw err;
  });
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
  node = await ClusterNode.start(
    {
      nodeId: s.id,
      prefix: s.prefix,
      ...pick(s, ['shardCount', 'weight', 'heartbeatWindowMs', 'heartbeatMs', 'leaseMs', 'renewMs', 'safetyMarginMs', 'reconcileMs', 'maxAskDeadlineMs', 'goneMemberRemovalMs']),
      // Without a renewal interval of its own, a shorter lease renews at a third of it.
      ...(s.leaseMs !== undefined && s.renewMs === undefined ? { renewMs: Math.max(1, Math.floor(s.leaseMs / 3)) } : {}),
      system: { ...METRICS_SYSTEM_OPTIONS, clock },
    },
    {
      nc,
      register: async (system, { view }) => {
        if (kinds !== undefined) return void (await kinds(system));
        training = await registerReelNode(system, {
          nc,
          prefix: s.prefix,
          view,
          ...(registry ? { metrics: registerTrainingMetrics(registry), interactionMetrics: registerInteractionMetrics(registry) } : {}),
          log: (msg, fields) => log('info', msg, { node: id, ...fields }),
        });
      },
      onEvent,
      log: (msg, fields, level) => log(level ?? 'info', msg, { node: s.id, ...fields }),
    },
  ).catch(async (err: unknown) => {
    await nc.close();
    await metrics?.close();
    if (err instanceof InvalidArgument) {
      const flagsNamed = err.fields.map(flagOf).join(', ');
      throw new CliError(`node ${s.id} refused to start: ${err.message}${flagsNamed ? ` (see ${flagsNamed})` : ''}`, ExitCode.Usage);
    }
    throw new CliError(`node ${s.id} could not join: ${(err as Error).message}`);
  });
  const joined = node;
  if (registry) registerNodeMetrics(registry, clusterNodeSource(joined, nc));
  log('info', 'node ready', {
    node: id, nats: s.nats, prefix: s.prefix, shardCount: joined.config.shardCount, metricsPort: metrics?.port, metricsHost: metrics?.host, incarnation: joined.system.incarnation,
  });

  let exiting = false;
  /** Leaves the cluster after a fatal error (within LEAVE_TIMEOUT_MS), then exits 1. */
  const leaveAndExit = async (reason: string) => {
    const outcome = await Promise.race([
      joined.leave(reason),
      new Promise<undefined>((r) => setTimeout(() => r(undefined), LEAVE_TIMEOUT_MS).unref()),
    ]).catch((err: unknown) => {
      log('warn', 'leaving the cluster failed', { node: id, error: (err as Error).message });
      return undefined;
    });
    const leases = { leaseMs: joined.options.timings.leaseMs, goneMemberRemovalMs: joined.options.goneMemberRemovalMs };
    if (outcome === undefined) {
      log('warn', 'could not leave the cluster in time; the others take its shards when its leases run out', { node: id, timeoutMs: LEAVE_TIMEOUT_MS, ...leases });
    } else if (outcome.connectionClosed) {
      log('warn', 'cannot leave the cluster: the NATS connection is closed, so nothing can be written; the others take its shards when its leases run out and remove its entry later', { node: id, ...leases });
    } else {
      log(outcome.left ? 'info' : 'warn', 'left the cluster', { node: id, held: outcome.held, released: outcome.released, entryMarkedFailed: outcome.entryMarked });
    }
    await nc.close().catch(() => undefined);
    process.exit(ExitCode.Failed);
  };
  const fatal = (why: string, err: unknown) => {
    const e = err instanceof Error ? err : new Error(String(err));
    log('error', 'node cannot go on; exiting', { node: id, why, error: e.message, ...(e.stack !== undefined ? { stack: e.stack } : {}) });
    if (exiting) return;
    exiting = true;
    void leaveAndExit(why === e.message ? why : `${why}: ${e.message}`);
  };
  const drainAndExit = async (why: string) => {
    if (exiting) return;
    exiting = true;
    training?.stopAll();
    log('info', 'draining: handing every shard off', { node: s.id, why });
    const t0 = clock.monoMs();
    try {
      await joined.drain();
      await nc.drain();
      log('info', 'drained; exiting', { node: s.id, seconds: (clock.monoMs() - t0) / 1000 });
      process.exit(ExitCode.Ok);
    } catch (err) {
      log('error', 'drain failed', { node: s.id, error: (err as Error).message });
      await leaveAndExit(`drain failed: ${(err as Error).message}`);
    }
  };
  process.on('SIGTERM', () => void drainAndExit('SIGTERM'));
  process.on('SIGINT', () => void drainAndExit('SIGINT'));
  // A drain requested remotely (`reel drain`) ends the process the same way.
  void joined.drainStarted.then(() => drainAndExit('reel drain'));
  void joined.failed.then((err) => fatal(err.message, err));
  // Past this point the process holds shards: whatever escapes the runtime ends it by leaving.
  process.on('uncaughtException', (err) => fatal('uncaught exception', err));
  process.on('unhandledRejection', (reason) => fatal('unhandled rejection', reason));
  return new Promise<never>(() => undefined);
}

function pick<T extends object, K extends keyof T>(o: T, keys: K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
}
