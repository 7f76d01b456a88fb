import { followTrainingJob, newVersionId } from '../actors/training/index.js';
import { activateVersion, DEFAULT_CLUSTER_ASK_ATTEMPT_MS, jobWorkers, openModelRegistry, startJob, type ClusterClient } from '../cluster/index.js';
import { Unavailable } from '../runtime/index.js';
import { operatorClient } from './cluster-connect.js';
import { CliError } from './exit-codes.js';
import { clusterGateway, connectGatewayClient, type ClusterGateway } from './gateway.js';
import { emptyTally, flushActors, sendRecords } from './load.js';
import { startReelNode, superviseNode, type NodeLog, type StartedNode } from './node.js';
import type { Output } from './output.js';
import type { ResolvedSettings } from './settings.js';
import type { StartCluster } from './start-cluster.js';

/** How long `reel start` waits for every shard to have an owner (its node's claims, or handoffs to it), in ms. */
const SHARDS_OWNED_TIMEOUT_MS = 60_000;

/** The gateway `serve` started, with its own client and connection (as `reel gateway` has them). */
interface Serving {
  gateway: ClusterGateway;
  client: ClusterClient;
  close(): Promise<void>;
}

/**
 * `reel start` on a real cluster (`--nats URL`): the job's steps as the cluster's own commands
 * run them, all in this process. A node (`reel node`'s startup) joins the cluster, creating it
 * if it is the first, so the job needs no other process; the data goes in as `reel load` sends
 * it and is flushed to the actors' snapshots; the model trains as `reel train` runs a job (one
 * worker per node owning shards) and is activated as `reel models activate` does; the API is
 * served by `reel gateway`'s gateway through a cluster client. Other `reel node` processes may
 * join meanwhile and other `reel gateway`s serve the same cluster. The node logs warnings and
 * errors on stderr (stdout holds the result).
 */
export async function openNatsStart(flags: Record<string, unknown>, s: ResolvedSettings, out: Output): Promise<StartCluster> {
  const id = `start-${process.pid}`;
  // The node's own story (claims, handoffs) stays quiet; what goes wrong is shown.
  const nodeLog: NodeLog = (level, msg, fields) => {
    if (level === 'warn' || level === 'error') out.info(JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields }));
  };
  const stopLog: NodeLog = (level, msg, fields) => (level === 'info' ? out.info(`reel: ${msg}`) : nodeLog(level, msg, fields));
  const started: StartedNode = await startReelNode({ ...s, id }, { log: nodeLog });
  const stopNode = async () => {
    started.training?.stopAll();
    await started.node.drain();
    await started.nc.drain();
    await started.storeNc.drain();
  };
  // The job's own asks go through a cluster client, as `reel load` and `reel train` connect.
  let job: Awaited<ReturnType<typeof operatorClient>>;
  let owners: string[];
  try {
    // As `reel load`'s: a frame that a node took with it when it stopped goes again to the shard's next owner.
    job = await operatorClient(flags, { askAttemptTimeoutMs: DEFAULT_CLUSTER_ASK_ATTEMPT_MS });
    owners = await jobWorkers(job.client, { timeoutMs: SHARDS_OWNED_TIMEOUT_MS }).catch(async (err: unknown) => {
      await job.close();
      throw err instanceof Unavailable ? new CliError(`node ${id} joined, but ${err.message}`) : err;
    });
  } catch (err) {
    await stopNode().catch(() => undefined);
    throw err;
  }
  const shards = job.client.system.options.shardCount;
  let serving: Serving | undefined;
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      await serving?.close();
      await job.close();
      await stopNode();
    })());
  return {
    where: `node ${id} in cluster '${s.prefix}' at ${s.nats}: ${owners.length === 1 ? `${owners[0]} owns` : `${owners.length} nodes own`} its ${shards} shards`,
    summary: { nats: s.nats, prefix: s.prefix, node: id },
    system: job.client.system,
    version: newVersionId('start'),
    async load(titles, ratings, onProgress) {
      const tally = emptyTally();
      // The titles go first: what is counted past them is ratings.
      await sendRecords(job.client.system, { titles: (async function* () { yield* titles; })(), ratings }, tally, { update: (n) => onProgress(Math.max(0, n - tally.titles.sent)) });
      // Actors acknowledge what they hold in memory: their snapshots make it survive a crash of their node.
      await flushActors(job.client);
      return tally.ratings.sent;
    },
    async train(spec, onEpoch, onRestart) {
      const workers = await jobWorkers(job.client, { timeoutMs: SHARDS_OWNED_TIMEOUT_MS });
      const registry = await openModelRegistry(job.nc, s.prefix);
      await startJob(job.client, registry, spec, workers);
      const st = await followTrainingJob(job.client.system, spec.version, { onEpoch, onRestart });
      if (st.state === 'done') await activateVersion(registry, job.client, spec.version);
      return st;
    },
    async serve(host, port) {
      const { nc, client } = await connectGatewayClient(s);
      const gateway = clusterGateway(client, nc, s.prefix);
      serving = {
        gateway,
        client,
        async close() {
          await gateway.stop();
          await client.close();
          await nc.close();
        },
      };
      // Said to serve once it can answer anything: its fallback list made.
      await gateway.untilReady();
      return gateway.listen(host, port);
    },
    async serveUntilStopped() {
      // From here the process ends as a node does: SIGTERM or SIGINT stop the gateway, then hand every shard off.
      await superviseNode(started, {
        log: stopLog,
        beforeStop: async () => {
          await serving?.close();
          await job.close();
        },
      });
    },
    close,
  };
}
