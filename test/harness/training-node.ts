import { ingestInteractions, NodeParams, registerReelActors } from '../../actors/index.js';
import { ratingToInteraction } from '../../cli/ratings-input.js';
import { readRatings, type Rating } from '../../data/index.js';
import { MemoryBlobStore, MemoryModelRegistry, NodeTraining } from '../../actors/training/index.js';
import { ActorSystem } from '../../runtime/index.js';

/** One node in this process with reel's actors and training, its registry and blobs in memory: a training job with one worker. */
export async function oneTrainingNode() {
  const system = new ActorSystem({ nodeId: 'solo', shardCount: 16 });
  const params = new NodeParams();
  registerReelActors(system, params);
  const registry = new MemoryModelRegistry();
  const blobs = new MemoryBlobStore();
  const training = new NodeTraining(system, { params, registry, blobs, directory: { ownerOf: () => 'solo' } });
  await system.start();
  return { system, params, registry, blobs, training };
}

/** Sends every rating of `file` to the node's user and title actors; returns the ratings sent. */
export async function ingestRatingsFile(system: ActorSystem, file: string): Promise<Rating[]> {
  const ratings: Rating[] = [];
  await ingestInteractions(system, (async function* () {
    for await (const r of readRatings(file)) {
      ratings.push(r);
      yield ratingToInteraction(r);
    }
  })());
  return ratings;
}
