import type { KV } from '@nats-io/kv';
import { DEFAULT_MAX_ASK_DEADLINE_MS, ENVELOPE_VERSION, InvalidArgument } from '../runtime/index.js';
import { clusterBucket, isRevisionConflict, json, NoCluster, readJson } from './cluster-kv.js';

/** Constants of a cluster, written once by its first node. */
export interface ClusterConfig {
  shardCount: number;
  /** Envelope (codec) version the cluster speaks. */
  codecVersion: number;
  /** The longest deadline of an ask, in ms: every node and client caps deadlines (and keeps applied ids) by it. */
  maxAskDeadlineMs: number;
  /** Replicas of the cluster's buckets and streams (JetStream `num_replicas`). */
  replicas: number;
  /** Wall-clock ms since the Unix epoch when created: a label. */
  createdAt: number;
}

/** What a node or client brings to a cluster; fields left out take the cluster's values. */
export interface ConfigWish {
  shardCount?: number;
  maxAskDeadlineMs?: number;
  replicas?: number;
  /** The replica count of a new cluster when `replicas` is not given. @default 1 */
  defaultReplicas?: number;
}

/** What a node needs to know to judge whether the nodes of an older codec are all gone. */
export interface CodecUpgradeCheck {
  /** Resolves with the ids of members that are still live and speak `version`. */
  liveMembersSpeaking(version: number): Promise<string[]>;
}

function readConfig(v: unknown): ClusterConfig | undefined {
  const c = v as Partial<ClusterConfig> | undefined;
  if (c === undefined || c === null || typeof c !== 'object' || !Number.isSafeInteger(c.shardCount) || (c.shardCount as number) < 1) return undefined;
  return {
    shardCount: c.shardCount as number,
    codecVersion: typeof c.codecVersion === 'number' ? c.codecVersion : 2,
    // Written before the cap existed: the default every node of that time used as its ask timeout ceiling.
    maxAskDeadlineMs: Number.isSafeInteger(c.maxAskDeadlineMs) && (c.maxAskDeadlineMs as number) > 0 ? (c.maxAskDeadlineMs as number) : DEFAULT_MAX_ASK_DEADLINE_MS,
    // Written before the count existed: every bucket of that time was created with one replica.
    replicas: Number.isSafeInteger(c.replicas) && (c.replicas as number) >= 1 ? (c.replicas as number) : 1,
    createdAt: typeof c.createdAt === 'number' ? c.createdAt : 0,
  };
}

/**
 * Writes the cluster's constants if this is its first node, or reads them and refuses to join
 * when this node's wishes differ. Callers validate their options before (nothing invalid is ever
 * written). A cluster created by an older envelope version is moved to this one when `upgrade`
 * finds none of its old nodes live; otherwise the node refuses, naming them.
 */
export async function joinClusterConfig(kv: KV, wish: ConfigWish, now: number, upgrade?: CodecUpgradeCheck): Promise<ClusterConfig> {
  const mine: ClusterConfig = {
    shardCount: wish.shardCount ?? 128,
    codecVersion: ENVELOPE_VERSION,
    maxAskDeadlineMs: wish.maxAskDeadlineMs ?? DEFAULT_MAX_ASK_DEADLINE_MS,
    replicas: wish.replicas ?? wish.defaultReplicas ?? 1,
    createdAt: now,
  };
  try {
    await kv.create('config', json(mine));
    return mine;
  } catch (err) {
    if (!isRevisionConflict(err)) throw err;
  }
  const entry = await kv.get('config');
  const theirs = readConfig(readJson<unknown>(entry));
  if (theirs === undefined || entry === null) throw new InvalidArgument(`cluster config is unreadable; refusing to join`);
  if (wish.shardCount !== undefined && theirs.shardCount !== wish.shardCount) {
    throw new InvalidArgument(
      `this node was started with ${wish.shardCount} shards but the cluster has ${theirs.shardCount}: refusing to join (the shard count is fixed when a cluster is created)`,
      { fields: ['shardCount'] },
    );
  }
  if (wish.maxAskDeadlineMs !== undefined && theirs.maxAskDeadlineMs !== wish.maxAskDeadlineMs) {
    throw new InvalidArgument(
      `this node was started with maxAskDeadlineMs ${wish.maxAskDeadlineMs} but the cluster has ${theirs.maxAskDeadlineMs}: refusing to join (every node must keep applied asks as long)`,
      { fields: ['maxAskDeadlineMs'] },
    );
  }
  if (wish.replicas !== undefined && theirs.replicas !== wish.replicas) {
    throw new InvalidArgument(
      `this node was started with ${wish.replicas} replica(s) but the cluster keeps ${theirs.replicas}: refusing to join (the replica count of a cluster's buckets is fixed when it is created)`,
      { fields: ['replicas'] },
    );
  }
  if (theirs.codecVersion === ENVELOPE_VERSION) return theirs;
  if (theirs.codecVersion > ENVELOPE_VERSION || upgrade === undefined) {
    throw new InvalidArgument(`this node speaks envelope version ${ENVELOPE_VERSION} but the cluster speaks ${theirs.codecVersion}: refusing to join`);
  }
  const old = await upgrade.liveMembersSpeaking(theirs.codecVersion);
  if (old.length > 0) {
    throw new InvalidArgument(
      `this node speaks envelope version ${ENVELOPE_VERSION} but live nodes ${old.join(', ')} speak ${theirs.codecVersion}: ` +
        'stop every node of the older version first (versions do not mix), then start the new ones',
    );
  }
  const upgraded = { ...theirs, codecVersion: ENVELOPE_VERSION };
  try {
    await kv.update('config', json(upgraded), entry.revision);
  } catch (err) {
    if (!isRevisionConflict(err)) throw err;
    return joinClusterConfig(kv, wish, now, upgrade); // another new node upgraded it first
  }
  return upgraded;
}

/** Reads the constants of an existing cluster; throws `NoCluster` when there is none. */
export async function readClusterConfig(kv: KV, prefix: string): Promise<ClusterConfig> {
  const entry = await kv.get('config');
  const c = readConfig(readJson<unknown>(entry));
  if (c === undefined && entry?.operation === 'PUT') throw new InvalidArgument(`the config in ${clusterBucket(prefix)} is unreadable`);
  if (c === undefined) throw new NoCluster(prefix, `no config in ${clusterBucket(prefix)}: start a node first`);
  if (c.codecVersion !== ENVELOPE_VERSION) {
    throw new InvalidArgument(`the cluster '${prefix}' speaks envelope version ${c.codecVersion}; this reel speaks ${ENVELOPE_VERSION}`);
  }
  return c;
}
