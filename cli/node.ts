import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Registry } from 'prom-client';
import {
  ClusterNode, clusterNodeSource, METRICS_SYSTEM_OPTIONS, processRegistry, registerInteractionMetrics, registerNodeMetrics, registerReelNode, registerTrainingMetrics,
} from '../cluster/index.js';
import type { NodeTraining } from '../actors/training/index.js';
import { InvalidArgument, systemClock, type ActorSystem, type Clock, type RuntimeEvent } from '../runtime/index.js';
import { connectNatsFor, settingsFrom } from './cluster-connect.js';
import { CliError, ExitCode } from './exit-codes.js';
import { interactionWeightsFrom } from './interaction-weights.js';
import { flagOf, type ResolvedSettings } from './settings.js';
import { clockFromEnv } from './test-clock.js';
import { log, serveMetrics, type Level } from './process-log.js';

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


/** How a node started in this process logs: a structured line (`log`, on stdout, for `reel node`). */
export type NodeLog = (level: Level, msg: string, fields: Record<string, unknown>) => void;

/** What `startReelNode` takes besides the settings. */
export interface NodeStartOptions {
  /** Registers these kinds instead of reel's user and title actors (`--kinds`). */
  kinds?: RegisterKinds;
  /** @default the machine's clocks */
  clock?: Clock;
  /** Runtime events to log, by type (`--events [types]`). @default none */
  events?: ReadonlySet<RuntimeEvent['type']>;
  /** Feeds the training and interaction metrics, and the node's own. */
  registry?: Registry;
  /** @default `log` (stdout) */
  log?: NodeLog;
}

/** A node joined from this process: `superviseNode` (or the caller) drains or leaves it, then closes `nc`. */
export interface StartedNode {
  readonly node: ClusterNode;
  /** The node's own NATS connection (reconnecting for ever, or `--max-reconnects` times). */
  readonly nc: NatsConnection;
  /** Its second connection, for actor snapshots only (see `ClusterNodeDeps.storeNc`). */
  readonly storeNc: NatsConnection;
  /** reel's training and serving parts on the node (none with `kinds`). */
  readonly training: NodeTraining | undefined;
}

/** Attempts at joining before `reel node` gives up on errors a forming NATS cluster gives. */
const JOIN_TRIES = 4;
const JOIN_RETRY_MS = 500;
const TRANSIENT_JOIN_ERROR = /timeout|temporarily unavailable|no responders|insufficient resources/i;

/**
 * Connects to NATS and joins the cluster as node `s.id`, creating the cluster if it is the first
 * (`reel node`, and the node `reel start --nats` runs in its own process). A refusal to join is a
 * CliError naming the flags at fault; the connection is closed then.
 */
export async function startReelNode(s: ResolvedSettings & { id: string }, o: NodeStartOptions = {}): Promise<StartedNode> {
  const id = s.id;
  const interactionWeights = interactionWeightsFrom(s);
  const clock = o.clock ?? systemClock;
  const say = o.log ?? log;
  const nc = await connectNatsFor(s, id, { reconnect: true });
  // Snapshot reads and writes get their own connection: the server handles a connection's
  // messages in order, and a burst of store reads (a shard just claimed) would hold up this
  // node's claims and renewals behind it. One, not several: a pool taking turns failed the
  // Jepsen test (ops applied twice), see README.
  const storeNc = await connectNatsFor(s, `${id}-store`, { reconnect: true }).catch(async (err: unknown) => {
    await nc.close();
    throw err;
  });
  // The node's own connection decides whether it serves (`ClusterNode.watchConnection`); a store
  // connection that drops only makes snapshot reads and writes fail until it is back: say so.
  void (async () => {
    for await (const st of storeNc.status()) {
      if (st.type === 'disconnect' || st.type === 'reconnect') say(st.type === 'disconnect' ? 'warn' : 'info', `snapshot store connection ${st.type === 'disconnect' ? 'lost; snapshot reads and writes fail until it is back' : 'back'}`, { node: id });
    }
  })().catch(() => undefined);
  let last = 0;
  const onEvent = (e: RuntimeEvent) => {
    if (e.type === 'malformed') {
      // At most one line every 10 s: a peer of another version can send many.
      if (clock.monoMs() - last < 10_000) return;
      last = clock.monoMs();
      say('warn', 'refused a malformed frame', { node: id, reason: e.reason });
    } else if (o.events?.has(e.type)) {
      say('debug', e.type, { event: e.type, ...e });
    }
  };
  let training: NodeTraining | undefined;
  const registry = o.registry;
  const start = () => ClusterNode.start(
    {
      nodeId: id,
      prefix: s.prefix,
      ...pick(s, ['shardCount', 'weight', 'heartbeatWindowMs', 'heartbeatMs', 'leaseMs', 'renewMs', 'safetyMarginMs', 'reconcileMs', 'probeMs', 'maxAskDeadlineMs', 'replicas', 'goneMemberRemovalMs']),
      // Without a renewal interval of its own, a shorter lease renews at a third of it.
      ...(s.leaseMs !== undefined && s.renewMs === undefined ? { renewMs: Math.max(1, Math.floor(s.leaseMs / 3)) } : {}),
      system: { ...METRICS_SYSTEM_OPTIONS, clock },
    },
    {
      nc,
      storeNc,
      register: async (system, { view }) => {
        if (o.kinds !== undefined) return void (await o.kinds(system));
        training = await registerReelNode(system, {
          nc,
          prefix: s.prefix,
          view,
          ...(interactionWeights ? { interactionWeights } : {}),
          ...(registry ? { metrics: registerTrainingMetrics(registry), interactionMetrics: registerInteractionMetrics(registry) } : {}),
          log: (msg, fields) => say('info', msg, { node: id, ...fields }),
        });
      },
      onEvent,
      log: (msg, fields, level) => say(level ?? 'info', msg, { node: id, ...fields }),
    },
  );
  // A NATS cluster whose JetStream is still forming (servers started together, a stream just
  // created electing its leader, a server just lost) answers some requests late or not at all:
  // joining is tried again a few times before the node gives up.
  const node = await (async () => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await start();
      } catch (err) {
        if (attempt >= JOIN_TRIES || err instanceof InvalidArgument || !TRANSIENT_JOIN_ERROR.test((err as Error).message ?? '')) throw err;
        say('warn', 'could not join yet; trying again', { node: id, attempt, error: (err as Error).message, retryInMs: JOIN_RETRY_MS * attempt });
        await new Promise((r) => setTimeout(r, JOIN_RETRY_MS * attempt));
      }
    }
  })().catch(async (err: unknown) => {
    await Promise.all([nc.close(), storeNc.close()]);
    if (err instanceof InvalidArgument) {
      const flagsNamed = err.fields.map(flagOf).join(', ');
      throw new CliError(`node ${id} refused to start: ${err.message}${flagsNamed ? ` (see ${flagsNamed})` : ''}`, ExitCode.Usage);
    }
    throw new CliError(`node ${id} could not join: ${(err as Error).message}`);
  });
  if (registry) registerNodeMetrics(registry, clusterNodeSource(node, nc));
  return { node, nc, storeNc, training };
}

/** What `superviseNode` takes. */
export interface SuperviseOptions {
  clock?: Clock;
  log?: NodeLog;
  /** Runs before the node drains or leaves (a gateway in the same process stops serving first). */
  beforeStop?: () => Promise<void>;
}

/**
 * Ends the process as a node must, from now on: SIGTERM or SIGINT (or `reel drain`) hands every
 * shard off, then exits 0. On a fatal error (an uncaught exception, an unhandled rejection, a
 * failed drain, another process with its id) it leaves: releases its shards and marks its entry
 * failed, then exits 1; when the connection has closed for good it cannot, and its leases run
 * out instead.
 */
export function superviseNode(started: StartedNode, o: SuperviseOptions = {}): Promise<never> {
  const { node: joined, nc, storeNc, training } = started;
  const id = joined.nodeId;
  const clock = o.clock ?? systemClock;
  const say = o.log ?? log;
  let stopped: Promise<void> | undefined;
  const beforeStop = () =>
    (stopped ??= (async () => {
      await o.beforeStop?.().catch((err: unknown) => say('warn', 'stopping before the node failed', { node: id, error: (err as Error).message }));
    })());
  let exiting = false;
  /** Leaves the cluster after a fatal error (within LEAVE_TIMEOUT_MS), then exits 1. */
  const leaveAndExit = async (reason: string) => {
    await beforeStop();
    const outcome = await Promise.race([
      joined.leave(reason),
      new Promise<undefined>((r) => setTimeout(() => r(undefined), LEAVE_TIMEOUT_MS).unref()),
    ]).catch((err: unknown) => {
      say('warn', 'leaving the cluster failed', { node: id, error: (err as Error).message });
      return undefined;
    });
    const leases = { leaseMs: joined.options.timings.leaseMs, goneMemberRemovalMs: joined.options.goneMemberRemovalMs };
    if (outcome === undefined) {
      say('warn', 'could not leave the cluster in time; the others take its shards when its leases run out', { node: id, timeoutMs: LEAVE_TIMEOUT_MS, ...leases });
    } else if (outcome.connectionClosed) {
      say('warn', 'cannot leave the cluster: the NATS connection is closed, so nothing can be written; the others take its shards when its leases run out and remove its entry later', { node: id, ...leases });
    } else {
      say(outcome.left ? 'info' : 'warn', 'left the cluster', { node: id, held: outcome.held, released: outcome.released, entryMarkedFailed: outcome.entryMarked });
    }
    await Promise.all([nc.close().catch(() => undefined), storeNc.close().catch(() => undefined)]);
    process.exit(ExitCode.Failed);
  };
  const fatal = (why: string, err: unknown) => {
    const e = err instanceof Error ? err : new Error(String(err));
    say('error', 'node cannot go on; exiting', { node: id, why, error: e.message, ...(e.stack !== undefined ? { stack: e.stack } : {}) });
    if (exiting) return;
    exiting = true;
    void leaveAndExit(why === e.message ? why : `${why}: ${e.message}`);
  };
  const drainAndExit = async (why: string) => {
    if (exiting) return;
    exiting = true;
    await beforeStop();
    training?.stopAll();
    say('info', 'draining: handing every shard off', { node: id, why });
    const t0 = clock.monoMs();
    try {
      await joined.drain();
      await nc.drain();
      await storeNc.drain();
      say('info', 'drained; exiting', { node: id, seconds: (clock.monoMs() - t0) / 1000 });
      process.exit(ExitCode.Ok);
    } catch (err) {
      say('error', 'drain failed', { node: id, error: (err as Error).message });
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

/** The runtime events `--events` may name. */
const EVENT_TYPES: ReadonlyArray<RuntimeEvent['type']> = ['activation-start', 'activation-end', 'activation-carry', 'snapshot'];

/** `--events` alone logs every runtime event; `--events a,b` only those types; none without it. */
function eventTypes(flag: unknown): ReadonlySet<RuntimeEvent['type']> {
  if (flag === undefined || flag === false) return new Set();
  if (flag === true) return new Set(EVENT_TYPES);
  const named = String(flag).split(',').map((t) => t.trim()).filter((t) => t !== '');
  const unknown = named.filter((t) => !(EVENT_TYPES as readonly string[]).includes(t));
  if (named.length === 0 || unknown.length > 0) {
    throw new CliError(`--events takes event types, comma-separated, from ${EVENT_TYPES.join(', ')} (got "${String(flag)}")`, ExitCode.Usage);
  }
  return new Set(named as Array<RuntimeEvent['type']>);
}

/**
 * `reel node`: joins the cluster and hosts actors on the shards it is given (reel's user and
 * title actors, or the kinds of `--kinds MODULE`). Its metrics port, if any, is bound first. It
 * reconnects to NATS for ever (or `--max-reconnects` times) and serves nothing while cut off.
 * It then runs until it drains or leaves (`superviseNode`).
 */
export async function runNode(flags: Record<string, unknown>): Promise<never> {
  const s = settingsFrom(flags);
  if (!s.id) throw new CliError('reel node needs a node id: --id ID (or REEL_NODE_ID, or "id" in the config file)', ExitCode.Usage);
  const id = s.id;
  const kinds = s.kinds !== undefined ? await loadKinds(s.kinds) : undefined;
  const clock = clockFromEnv(process.env, (step) => log('warn', 'test clock stepped', { node: id, ...step }));
  let started: StartedNode | undefined;
  // Every port is bound before joining: /healthz answers at once, /readyz once the node is ready.
  const registry = s.metricsPort !== undefined ? processRegistry({ node: id }) : undefined;
  const metrics = registry && (await serveMetrics(s, `node ${id}`, registry, () => (started === undefined ? 'joining the cluster' : started.node.notReady())));
  started = await startReelNode({ ...s, id }, { ...(kinds ? { kinds } : {}), clock, events: eventTypes(flags.events), ...(registry ? { registry } : {}) }).catch(async (err: unknown) => {
    await metrics?.close();
    throw err;
  });
  const joined = started.node;
  log('info', 'node ready', {
    node: id, nats: s.nats, prefix: s.prefix, shardCount: joined.config.shardCount, metricsPort: metrics?.port, metricsHost: metrics?.host, incarnation: joined.system.incarnation,
  });
  return superviseNode(started, { clock });
}

function pick<T extends object, K extends keyof T>(o: T, keys: K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
}
