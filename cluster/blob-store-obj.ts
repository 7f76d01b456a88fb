import { JetStreamApiCodes, JetStreamApiError, jetstreamManager } from '@nats-io/jetstream';
import { Objm, setSha256Backend, StorageType, type ObjectInfo, type ObjectStore } from '@nats-io/obj';
import type { NatsConnection } from '@nats-io/transport-node';
import { createConcurrently, listWithin, Unavailable, type Listing } from '../runtime/index.js';
import { checkBlobName, type BlobStore } from '../actors/training/stores.js';
import { clusterReplicas } from './cluster-kv.js';

// Every object's SHA-256 (written on put, checked on get) through node:crypto, not the
// client's JavaScript default: a checkpoint of 10 million ratings' rows took 0.13 s of the
// event loop to hash in JavaScript. Process-wide, set before any object store is used.
setSha256Backend('native');

/** How long a blob read may get no chunk before it stops (a chunk is 128 KiB: it comes in milliseconds). */
export const DEFAULT_READ_STALL_MS = 10_000;

/** Options of an object-store blob store. */
export interface ObjBlobStoreOptions {
  /** How long a read may get no chunk before it stops. @default DEFAULT_READ_STALL_MS */
  readStallMs?: number;
}

/** Name of the checkpoint object store bucket. */
export function checkpointsBucket(prefix: string): string {
  return `${prefix}_checkpoints`;
}

/**
 * Blobs in a JetStream object store, `<prefix>_checkpoints` (stream `OBJ_<bucket>`), one object per
 * blob, named as the blob. The object store takes any non-empty name: the client puts it in a
 * subject base64url-encoded, so `/`, `.` and `=` need no escaping of ours. Large blobs travel in
 * 128 KiB chunks; a put of an existing name replaces it whole (readers see the old or the new).
 * Nothing here needs more than nats-server 2.9.
 */
export class ObjBlobStore implements BlobStore {
  private readonly readStallMs: number;

  private constructor(
    private readonly os: ObjectStore,
    opts: ObjBlobStoreOptions = {},
  ) {
    this.readStallMs = opts.readStallMs ?? DEFAULT_READ_STALL_MS;
  }

  /** Opens the bucket, creating it if absent (what training does). */
  static async open(nc: NatsConnection, prefix: string, opts: ObjBlobStoreOptions = {}): Promise<ObjBlobStore> {
    const replicas = await clusterReplicas(nc, prefix);
    return new ObjBlobStore(await createConcurrently(() => new Objm(nc).create(checkpointsBucket(prefix), { storage: StorageType.File, replicas })), opts);
  }

  /** The bucket if it exists, creating nothing (what operator commands do); undefined when no checkpoint was ever written. */
  static async openExisting(nc: NatsConnection, prefix: string): Promise<ObjBlobStore | undefined> {
    const bucket = checkpointsBucket(prefix);
    try {
      await (await jetstreamManager(nc)).streams.info(`OBJ_${bucket}`);
    } catch (err) {
      if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound) return undefined;
      throw err;
    }
    return new ObjBlobStore(await new Objm(nc).open(bucket, false));
  }

  async put(name: string, data: Uint8Array): Promise<void> {
    checkBlobName(name);
    await this.os.putBlob({ name }, data);
  }

  /**
   * The blob, or undefined if there is none. The client reads an object's chunks until the
   * last one comes: an object deleted between its info and its chunks (a checkpoint pruned
   * while a node reads it) would keep it waiting for ever. A read that gets no chunk for
   * `readStallMs` stops: undefined if the object is gone by then, else a transient error.
   */
  async get(name: string): Promise<Uint8Array | undefined> {
    const r = await this.os.get(name);
    if (r === null) return undefined;
    const reader = r.data.getReader();
    const parts: Uint8Array[] = [];
    let size = 0;
    for (;;) {
      let timer: NodeJS.Timeout | undefined;
      const stalled = new Promise<'stalled'>((res) => (timer = setTimeout(() => res('stalled'), this.readStallMs)));
      const next = await Promise.race([reader.read(), stalled]).finally(() => clearTimeout(timer));
      if (next === 'stalled') {
        await reader.cancel().catch(() => undefined);
        const info = await this.os.info(name).catch(() => null);
        if (info === null || info.deleted) return undefined;
        throw new Unavailable(`reading blob ${name}: no data for ${this.readStallMs} ms`, {});
      }
      if (next.done) break;
      parts.push(next.value);
      size += next.value.length;
    }
    await r.error;
    const out = new Uint8Array(size);
    let at = 0;
    for (const p of parts) (out.set(p, at), (at += p.length));
    return out;
  }

  /**
   * The names starting with `prefix`. The client's `list()` waits for as many entries as were
   * pending when it began, which objects deleted meanwhile (a checkpoint pruned) can keep it from
   * seeing: this is its listing (every object's latest info, then stop) under `listWithin`, so a
   * listing that stalls starts again. A later info of a name replaces an earlier one.
   */
  async list(prefix: string): Promise<string[]> {
    // historyOnly (hidden in the client's types, what its list() passes) stops after the history.
    const open = () => this.os.watch({ ignoreDeletes: false, includeHistory: true, historyOnly: true } as Parameters<ObjectStore['watch']>[0]) as Promise<Listing<ObjectInfo | null>>;
    const latest = new Map<string, ObjectInfo>();
    for (const i of await listWithin(open, `the checkpoint objects ${prefix}*`)) if (i !== null) latest.set(i.name, i);
    // Object names are hashed into subjects, so the server cannot filter by prefix: list all, filter here.
    return [...latest.values()]
      .filter((i) => !i.deleted && i.name.startsWith(prefix))
      .map((i) => i.name)
      .sort();
  }

  async deletePrefix(prefix: string): Promise<number> {
    const names = await this.list(prefix);
    for (const n of names) await this.os.delete(n);
    return names.length;
  }
}

/** The cluster's checkpoint store, its bucket created if absent (what training does). */
export function openCheckpointStore(nc: NatsConnection, prefix: string): Promise<BlobStore> {
  return ObjBlobStore.open(nc, prefix);
}

/** The cluster's checkpoint store if its bucket exists, creating nothing (what operator commands do). */
export function openExistingCheckpointStore(nc: NatsConnection, prefix: string): Promise<BlobStore | undefined> {
  return ObjBlobStore.openExisting(nc, prefix);
}
