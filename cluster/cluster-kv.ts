import { JetStreamApiCodes, JetStreamApiError, jetstreamManager } from '@nats-io/jetstream';
import { Kvm, type KV, type KvEntry } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { consistentKvOptions, createConcurrently, kvKeys, ReelError } from '../runtime/index.js';

/** Name of the cluster's metadata bucket. */
export function clusterBucket(prefix: string): string {
  return `${prefix}_cluster`;
}

/**
 * There is no reel cluster with this prefix on the NATS server: no bucket, no config in it, or no
 * JetStream at all. `detail` says which, for messages.
 */
export class NoCluster extends ReelError {
  constructor(
    readonly prefix: string,
    readonly detail: string,
  ) {
    super('NoCluster', `no reel cluster with prefix '${prefix}' (${detail})`);
    this.name = 'NoCluster';
  }
}

/**
 * The cluster's metadata bucket, `<prefix>_cluster`, keyed by `config`, `members.<node>`,
 * `shards.<n>`, `overrides.<n>` and `placement`, created if absent. Values are JSON so that
 * operators can read them with the `nats` CLI; a value that does not parse is treated as poisoned.
 * Only what joins a cluster (a node, or a client that brings a shard count) creates it; readers
 * use `openExistingClusterKv`. `replicas` applies to a bucket created here (an existing one is
 * opened as it is: its nodes check its count against the cluster config, `checkReplicas`).
 */
export async function openClusterKv(nc: NatsConnection, prefix: string, replicas = 1): Promise<KV> {
  const bucket = clusterBucket(prefix);
  return (await openKvIfExists(nc, bucket)) ?? createConcurrently(() => new Kvm(nc).create(bucket, { history: 1, ...consistentKvOptions(replicas) }));
}

/**
 * The cluster's bucket if it exists; `NoCluster` otherwise. Nothing is created: an operator
 * pointed at the wrong server or prefix must leave that server as it found it.
 */
export async function openExistingClusterKv(nc: NatsConnection, prefix: string): Promise<KV> {
  const bucket = clusterBucket(prefix);
  let kv: KV | undefined;
  try {
    kv = await openKvIfExists(nc, bucket);
  } catch (err) {
    if ((err as Error).name === 'JetStreamNotEnabled') throw new NoCluster(prefix, 'JetStream is not enabled on that server');
    throw err;
  }
  if (kv === undefined) throw new NoCluster(prefix, `no bucket ${bucket}`);
  return kv;
}

/**
 * A KV bucket if it exists, creating nothing. (`Kvm.open` alone would not do: it binds to the
 * name without asking whether the stream exists.)
 */
export async function openKvIfExists(nc: NatsConnection, bucket: string): Promise<KV | undefined> {
  let direct: boolean;
  try {
    const jsm = await jetstreamManager(nc);
    const { config } = await jsm.streams.info(`KV_${bucket}`);
    // Direct gets only where every one is answered by the leader (see `consistentKvOptions`).
    direct = config.allow_direct && consistentKvOptions(config.num_replicas).allow_direct;
  } catch (err) {
    if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound) return undefined;
    throw err;
  }
  return new Kvm(nc).open(bucket, { allow_direct: direct });
}

/** Parses a JSON entry; `undefined` for a missing, deleted or unparseable value. */
export function readJson<T>(e: KvEntry | null): T | undefined {
  if (e === null || e.operation !== 'PUT' || e.length === 0) return undefined;
  try {
    return JSON.parse(new TextDecoder().decode(e.value)) as T;
  } catch {
    return undefined;
  }
}

export function json(v: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(v));
}

/** True when a NATS request got no answer in time (nats.js's `TimeoutError`: it says only "timeout"). */
export function isRequestTimeout(err: unknown): boolean {
  return (err as { name?: unknown } | null)?.name === 'TimeoutError';
}

/** True when a KV write failed because the expected revision did not match (someone else wrote). */
export function isRevisionConflict(err: unknown): boolean {
  // JetStream API error 10071: "wrong last sequence" (nats-server 2.9).
  if ((err as { code?: unknown } | null)?.code === 10071) return true;
  return /wrong last sequence/.test(err instanceof Error ? err.message : String(err));
}

/**
 * The keys of a small bucket (versions, overrides) matching `filter`, each once; a listing that
 * stalls is started again (`kvKeys`).
 */
export function listKeys(kv: KV, filter: string, stallMs?: number): Promise<string[]> {
  return kvKeys(kv, filter, stallMs);
}

/** `clusterReplicas` answers, per connection and prefix. */
const replicasRead = new WeakMap<NatsConnection, Map<string, Promise<number>>>();

/**
 * The replica count a cluster's config states, for what creates its buckets outside a node (a
 * gateway's interaction stream, training's registry and checkpoints): read once per connection
 * and prefix. 1 when there is no cluster yet or its config predates the count.
 */
export function clusterReplicas(nc: NatsConnection, prefix: string): Promise<number> {
  let byPrefix = replicasRead.get(nc);
  if (byPrefix === undefined) replicasRead.set(nc, (byPrefix = new Map()));
  let p = byPrefix.get(prefix);
  if (p === undefined) {
    p = (async () => {
      const kv = await openKvIfExists(nc, clusterBucket(prefix));
      const r = readJson<{ replicas?: unknown }>(kv === undefined ? null : await kv.get('config'))?.replicas;
      return typeof r === 'number' && Number.isSafeInteger(r) && r >= 1 ? r : 1;
    })();
    // A failed read is not remembered: the next creation asks again.
    p.catch(() => byPrefix.delete(prefix));
    byPrefix.set(prefix, p);
  }
  return p;
}
