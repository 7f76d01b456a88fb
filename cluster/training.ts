import type { NatsConnection } from '@nats-io/transport-node';
import { Counter, Gauge, type Registry } from 'prom-client';
import { NodeParams, registerReelActors } from '../actors/index.js';
import { NodeTraining, type ClockStats } from '../actors/training/index.js';
import { NodeServing, type InteractionWeights } from '../actors/serving/index.js';
import type { ActorSystem, ShardDirectory } from '../runtime/index.js';
import { openCheckpointStore } from './blob-store-obj.js';
import type { ClusterView } from './cluster-view.js';
import { openModelRegistry } from './model-registry-kv.js';
import { InteractionConsumers, type InteractionMetrics } from './interaction-stream.js';

/** Shard owners as this node's cluster view sees them. */
export class ViewDirectory implements ShardDirectory {
  constructor(private readonly view: ClusterView) {}

  ownerOf(shard: number): string | undefined {
    // A released shard's entry names no owner (''): no node to ask until one claims it.
    return this.view.shard(shard).value?.owner || undefined;
  }
}

/** A node's training metrics: the hooks that feed them. */
export interface TrainingMetrics {
  onClock(version: string, clock: number, stats: ClockStats): void;
  onEpoch(version: string, epoch: number): void;
}

/** `reel_train_epoch`, `reel_train_loss`, `reel_train_updates_total`, labelled by model version (few at a time). */
export function registerTrainingMetrics(registry: Registry): TrainingMetrics {
  const epoch = new Gauge({ name: 'reel_train_epoch', help: 'Epochs this node has finished of a training job', labelNames: ['version'], registers: [registry] });
  const loss = new Gauge({ name: 'reel_train_loss', help: "Mean training loss of this node's last clock: squared error (MF) or −ln σ (BPR) per update", labelNames: ['version'], registers: [registry] });
  const updates = new Counter({ name: 'reel_train_updates_total', help: 'Rating updates this node has trained', labelNames: ['version'], registers: [registry] });
  return {
    onClock: (version, _clock, s) => {
      if (s.n > 0) loss.set({ version }, s.loss / s.n);
      updates.inc({ version }, s.n);
    },
    onEpoch: (version, e) => epoch.set({ version }, e + 1),
  };
}

/**
 * Registers reel's actors and its parts in training and serving on a cluster node: the user
 * and title actors over one `NodeParams`, a `NodeTraining` whose manifests and checkpoints
 * live in JetStream (KV bucket and object store named after `prefix`), and a `NodeServing`
 * pulling the catalog from the other nodes, and the consumers of the interaction stream for
 * the shards it serves. `training.stopAll()` stops them all.
 */
export async function registerReelNode(
  system: ActorSystem,
  ctx: {
    nc: NatsConnection; prefix: string; view: ClusterView; metrics?: TrainingMetrics; interactionMetrics?: InteractionMetrics; log?: (msg: string, fields?: Record<string, unknown>) => void;
    /** Each interaction type's weight in the fold-ins of this node's users (`--interaction-weights`). */
    interactionWeights?: InteractionWeights;
  },
): Promise<NodeTraining> {
  const params = new NodeParams();
  const [registry, blobs] = await Promise.all([openModelRegistry(ctx.nc, ctx.prefix), openCheckpointStore(ctx.nc, ctx.prefix)]);
  const directory = new ViewDirectory(ctx.view);
  const serving = new NodeServing(system, { params, registry, blobs, directory, ...(ctx.log ? { log: ctx.log } : {}), ...(ctx.interactionWeights ? { interactionWeights: ctx.interactionWeights } : {}) });
  registerReelActors(system, params, serving);
  // Interactions recorded through the API reach this node's users from the stream, per shard it serves.
  const consumers = new InteractionConsumers(system, ctx.nc, ctx.prefix, ctx.log, ctx.interactionMetrics);
  const training = new NodeTraining(system, {
    params,
    registry,
    blobs,
    directory,
    serving: {
      loadMatrix: (v) => serving.loadMatrix(v),
      stop: () => {
        serving.stop();
        void consumers.stop();
      },
    },
    ...(ctx.metrics ? { onClock: ctx.metrics.onClock, onEpoch: ctx.metrics.onEpoch } : {}),
    ...(ctx.log ? { log: ctx.log } : {}),
  });
  // `reel models activate` tells every node at once; this catches a node that missed it.
  training.followActiveEvery(FOLLOW_ACTIVE_MS);
  serving.start();
  await consumers.start();
  return training;
}

/** How often a node compares its served model version with the registry's active one. */
export const FOLLOW_ACTIVE_MS = 5_000;
