import { ingestInteractions, Kind, NodeParams, registerReelActors, TitleMsg, UserMsg, type InteractionBody } from '../actors/index.js';
import { MemoryBlobStore, MemoryModelRegistry, NodeTraining, runTrainingJob } from '../actors/training/index.js';
import { NodeServing, type InteractionWeights } from '../actors/serving/index.js';
import { catalogHandlers, Gateway, interactionHandlers, PopularLists, recommendationHandlers, type GatewayBackend } from '../gateway/index.js';
import { SoleOwnership } from '../cluster/index.js';
import { ActorSystem } from '../runtime/index.js';
import { log } from './process-log.js';
import { metadataOf } from './load.js';
import type { Output } from './output.js';
import { ratingToInteraction } from './ratings-input.js';
import type { StartCluster } from './start-cluster.js';

/** The node's id in the process. */
const LOCAL_NODE = 'local';

/**
 * The broker-less default of `reel start`: a cluster of one node owning every shard, on the
 * in-process transport, through the same seams a cluster node uses (model registry and
 * checkpoints in memory). Its gateway serves RecommendationService and CatalogService;
 * AdminService needs a cluster.
 */
export async function openLocalStart(out: Output, interactionWeights?: InteractionWeights): Promise<StartCluster> {
  const params = new NodeParams();
  const system = new ActorSystem({ nodeId: LOCAL_NODE, ownership: new SoleOwnership() });
  const registry = new MemoryModelRegistry();
  const blobs = new MemoryBlobStore();
  const directory = { ownerOf: () => LOCAL_NODE };
  const serving = new NodeServing(system, { params, registry, blobs, directory, ...(interactionWeights ? { interactionWeights } : {}) });
  registerReelActors(system, params, serving);
  const training = new NodeTraining(system, { params, registry, blobs, directory, serving });
  await system.start();
  serving.start();
  let gateway: Gateway | undefined;
  let popular: PopularLists | undefined;
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      await gateway?.stop();
      popular?.stop();
      serving.stop();
      await system.stop();
    })());
  return {
    where: `one in-process node hosting all ${system.options.shardCount} shards (no NATS configured)`,
    summary: { nats: null, prefix: null, node: LOCAL_NODE },
    system,
    version: 'start',
    async load(titles, ratings, onProgress) {
      for (const t of titles) await system.ask(Kind.Title, t.id, TitleMsg.Metadata, metadataOf(t));
      const interactions = (async function* () {
        for await (const r of ratings) yield ratingToInteraction(r);
      })();
      return ingestInteractions(system, interactions, { onProgress });
    },
    async train(spec, onEpoch, onRestart) {
      const st = await runTrainingJob(system, registry, spec, { workers: [LOCAL_NODE], startWorkers: async (v) => void training.startWorker(v), onEpoch, onRestart, pollMs: 20 });
      if (st.state !== 'done') return st;
      await training.activate(spec.version);
      await serving.refresh();
      return st;
    },
    async serve(host, port) {
      // The gateway in this process: RecommendationService and CatalogService over the one node.
      const local = { system, ownerNodes: () => [LOCAL_NODE] };
      popular = new PopularLists(local);
      popular.start();
      // Said to serve once it can answer anything: its fallback list made.
      await popular.untilReady();
      // No stream in one process: an interaction is made durable by its actors (here: memory) before the answer.
      const record = async (items: readonly InteractionBody[]) => {
        const applied = await Promise.all(items.map(async (it) => (await Promise.all([system.ask<boolean>(Kind.User, it.userId, UserMsg.Record, it), system.ask<boolean>(Kind.Title, it.titleId, TitleMsg.Record, it)]))[0]));
        return new Set(items.filter((_, i) => !applied[i]).map((it) => it.eventId));
      };
      const lists = popular;
      const backend: GatewayBackend = {
        admin: {},
        catalog: catalogHandlers(local),
        recommendation: { ...recommendationHandlers(local, lists), ...interactionHandlers(record) },
        connected: () => true,
        canRecommend: () => lists.ready,
      };
      gateway = new Gateway({ backend, log });
      return gateway.listen(host, port);
    },
    async serveUntilStopped() {
      // Calls in flight finish, then the node stops.
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      out.info('reel: stopping');
      await close();
    },
    close,
  };
}
