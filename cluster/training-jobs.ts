import { beginTrainingJob, NodeMsg, type ModelRegistry, type TrainSpec } from '../actors/training/index.js';
import { Unavailable } from '../runtime/index.js';
import type { ClusterClient } from './client.js';

/**
 * The nodes a job trains on: every node owning shards, once every shard has an owner (and,
 * with `workers`, exactly that many nodes own them). Waits up to `timeoutMs`, then throws
 * Unavailable saying which condition was not met.
 */
export async function jobWorkers(client: ClusterClient, opts: { workers?: number; timeoutMs: number }): Promise<string[]> {
  const S = client.system.options.shardCount;
  const t0 = performance.now();
  for (;;) {
    await client.view.refresh();
    const owners = client.owners();
    const nodes = new Set(owners.filter((o) => o !== ''));
    const allOwned = owners.every((o) => o !== '');
    if (allOwned && (opts.workers === undefined || nodes.size === opts.workers)) return [...nodes].sort();
    if (performance.now() - t0 > opts.timeoutMs) {
      const s = Math.round(opts.timeoutMs / 1000);
      throw new Unavailable(
        opts.workers !== undefined && allOwned
          ? `${nodes.size} nodes own shards after ${s} s, not the ${opts.workers} workers asked for (start or drain nodes, or ask for every node)`
          : `${owners.filter((o) => o === '').length} of ${S} shards have no owner after ${s} s (see reel status)`,
      );
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Starts job `spec` on `workers`: registers the version, starts its coordinator and a worker on
 * every node (one scatter-gather). Returns once the job runs; it goes on in the cluster.
 */
export async function startJob(client: ClusterClient, registry: ModelRegistry, spec: TrainSpec, workers: string[]): Promise<void> {
  await beginTrainingJob(client.system, registry, spec, {
    workers,
    startWorkers: async (version) => {
      const g = await client.scatter.gather(NodeMsg.StartWorker, { version }, { deadlineMs: 10_000 });
      if (g.missingShards.length > 0) throw new Unavailable(`could not start a worker for ${g.missingShards.length} shards (their nodes did not answer); the job's coordinator waits for them (see reel models)`);
    },
  });
}
