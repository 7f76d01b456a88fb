import { NodeParams, registerReelActors } from '../../actors/index.js';
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
