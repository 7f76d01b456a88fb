import type { KV } from '@nats-io/kv';
import { ENVELOPE_VERSION, InvalidArgument } from '../runtime/index.js';
import { isRevisionConflict, json, readJson } from './cluster-kv.js';

/** Constants of a cluster, written once by its first node. */
export interface ClusterConfig {
  shardCount: number;
  /** Envelope (codec) version the cluster speaks. */
  codecVersion: number;
  /** ms since the Unix epoch. */
  createdAt: number;
}

/**
 * Writes the cluster's constants if this is its first node, or reads them and refuses to
 * join when this node's shard count or codec differs.
 */
export async function joinClusterConfig(kv: KV, shardCount: number, now = Date.now()): Promise<ClusterConfig> {
  const mine: ClusterConfig = { shardCount, codecVersion: ENVELOPE_VERSION, createdAt: now };
  try {
    await kv.create('config', json(mine));
    return mine;
  } catch (err) {
    if (!isRevisionConflict(err)) throw err;
  }
  const theirs = readJson<ClusterConfig>(await kv.get('config'));
  if (theirs === undefined || typeof theirs.shardCount !== 'number') {
    throw new InvalidArgument(`cluster config is unreadable; refusing to join`);
  }
  if (theirs.shardCount !== shardCount) {
    throw new InvalidArgument(
      `this node was started with ${shardCount} shards but the cluster has ${theirs.shardCount}: refusing to join (the shard count is fixed when a cluster is created)`,
      { fields: ['shardCount'] },
    );
  }
  if (theirs.codecVersion !== ENVELOPE_VERSION) {
    throw new InvalidArgument(`this node speaks envelope version ${ENVELOPE_VERSION} but the cluster speaks ${theirs.codecVersion}: refusing to join`);
  }
  return theirs;
}

/** Reads the constants of an existing cluster; throws `InvalidArgument` when there is none. */
export async function readClusterConfig(kv: KV, prefix: string): Promise<ClusterConfig> {
  const c = readJson<ClusterConfig>(await kv.get('config'));
  if (c === undefined || typeof c.shardCount !== 'number') {
    throw new InvalidArgument(`no reel cluster with prefix '${prefix}' on this NATS (no config in ${prefix}_cluster): start a node first`);
  }
  return c;
}
