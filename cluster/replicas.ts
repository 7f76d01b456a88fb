import { JetStreamApiCodes, JetStreamApiError, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { InvalidArgument } from '../runtime/index.js';
import { checkpointsBucket } from './blob-store-obj.js';
import { clusterBucket } from './cluster-kv.js';
import { interactionStream } from './interaction-stream.js';
import { modelsBucket } from './model-registry-kv.js';

/**
 * Replicas of a new cluster's buckets when nobody asks for a count: 3 when the server is one of
 * a NATS cluster of three or more (a bucket then survives the loss of any one server), else 1.
 * The servers a client is told of (`connect_urls`) include the one it is connected to.
 */
export function defaultReplicas(nc: NatsConnection): number {
  const info = nc.info;
  if (info?.cluster === undefined) return 1;
  return new Set(info.connect_urls ?? []).size >= 3 ? 3 : 1;
}

/**
 * Refuses a replica count that the server cannot hold: more than one on a server outside any
 * NATS cluster (JetStream keeps each replica on another server). Within a cluster, a count above
 * its servers fails when the bucket is created, with the server's reason.
 */
export function checkReplicasPlaceable(nc: NatsConnection, replicas: number): void {
  if (replicas > 1 && nc.info?.cluster === undefined) {
    throw new InvalidArgument(
      `${replicas} replicas need a NATS cluster of at least ${replicas} servers, but the server this node reached (${nc.getServer()}) is not in one: start with --replicas 1, or connect to a NATS cluster`,
      { fields: ['replicas'] },
    );
  }
}

/**
 * The streams behind a cluster's buckets whose replica count its nodes check: the cluster
 * bucket, the model registry, the checkpoints, the interaction stream, and the snapshot buckets
 * named.
 */
export function clusterStreams(prefix: string, snapshotBuckets: readonly string[] = []): string[] {
  return [`KV_${clusterBucket(prefix)}`, `KV_${modelsBucket(prefix)}`, `OBJ_${checkpointsBucket(prefix)}`, interactionStream(prefix), ...snapshotBuckets.map((b) => `KV_${b}`)];
}

/**
 * Refuses (`InvalidArgument`, naming each) when a stream of `streams` exists with a replica count
 * other than `want`: a cluster whose config says 3 must not run on a bucket one server's loss
 * takes away, nor write to it believing it replicated. Streams not created yet pass (they are
 * created with the cluster's count).
 */
export async function checkReplicas(nc: NatsConnection, streams: readonly string[], want: number, prefix: string): Promise<void> {
  const jsm = await jetstreamManager(nc);
  const wrong: string[] = [];
  for (const name of streams) {
    let have: number;
    try {
      have = (await jsm.streams.info(name)).config.num_replicas;
    } catch (err) {
      if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound) continue;
      throw err;
    }
    if (have !== want) wrong.push(`${name} has ${have}`);
  }
  if (wrong.length === 0) return;
  throw new InvalidArgument(
    `the cluster '${prefix}' keeps ${want} replica(s) of its buckets but ${wrong.join(', ')}: refusing to run. ` +
      'Start with the count the buckets have (--replicas), or change the streams to the cluster\'s count (nats stream edit NAME --replicas N)',
    { fields: ['replicas'] },
  );
}
