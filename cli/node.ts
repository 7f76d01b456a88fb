import { registerReelActors } from '../actors/index.js';
import { ClusterNode, METRICS_SYSTEM_OPTIONS, nodeMetrics, startMetricsServer } from '../cluster/index.js';
import { connectNatsFor, settingsFrom } from './cluster-connect.js';
import { CliError, ExitCode } from './exit-codes.js';

/** A structured log line on stdout. */
function log(level: 'info' | 'warn' | 'error', msg: string, fields: Record<string, unknown> = {}): void {
  process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields })}\n`);
}

/**
 * `reel node`: joins the cluster and hosts user and title actors on the shards it is
 * given. SIGTERM or SIGINT (or `reel drain`) hands every shard off, then exits 0.
 */
export async function runNode(flags: Record<string, unknown>): Promise<never> {
  const s = settingsFrom(flags);
  if (!s.id) throw new CliError('reel node needs a node id: --id ID (or REEL_NODE_ID, or "id" in the config file)', ExitCode.Usage);
  const nc = await connectNatsFor(s, s.id);
  void (async () => {
    for await (const st of nc.status()) {
      if (st.type === 'disconnect' || st.type === 'reconnect') log('warn', `nats ${st.type}`, { node: s.id, server: (st as { server?: string }).server });
    }
  })();
  const node = await ClusterNode.start(
    {
      nodeId: s.id,
      prefix: s.prefix,
      ...(s.shardCount !== undefined ? { shardCount: s.shardCount } : {}),
      ...(s.weight !== undefined ? { weight: s.weight } : {}),
      ...(s.heartbeatWindowMs !== undefined ? { heartbeatWindowMs: s.heartbeatWindowMs } : {}),
      ...(s.leaseMs !== undefined ? { leaseMs: s.leaseMs, renewMs: Math.max(1, Math.floor(s.leaseMs / 3)) } : {}),
      system: { ...METRICS_SYSTEM_OPTIONS },
    },
    {
      nc,
      register: (system) => void registerReelActors(system),
      log: (msg, fields) => log('info', msg, { node: s.id, ...fields }),
    },
  ).catch(async (err: unknown) => {
    await nc.close();
    throw new CliError(`node ${s.id} could not join: ${(err as Error).message}`);
  });
  let metricsPort: number | undefined;
  if (s.metricsPort !== undefined) {
    const server = await startMetricsServer(nodeMetrics(node, nc), s.metricsPort).catch((err: unknown) => {
      throw new CliError(`cannot serve metrics on port ${s.metricsPort}: ${(err as Error).message}`);
    });
    metricsPort = server.port;
  }
  log('info', 'node ready', { node: s.id, nats: s.nats, prefix: s.prefix, shardCount: node.config.shardCount, metricsPort });

  let exiting = false;
  const drainAndExit = async (why: string) => {
    if (exiting) return;
    exiting = true;
    log('info', 'draining: handing every shard off', { node: s.id, why });
    const t0 = Date.now();
    try {
      await node.drain();
      await nc.drain();
      log('info', 'drained; exiting', { node: s.id, seconds: (Date.now() - t0) / 1000 });
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
  return new Promise<never>(() => undefined);
}
