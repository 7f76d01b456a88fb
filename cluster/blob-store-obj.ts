import { JetStreamApiCodes, JetStreamApiError, jetstreamManager } from '@nats-io/jetstream';
import { Objm, setSha256Backend, StorageType, type ObjectStore } from '@nats-io/obj';
import type { NatsConnection } from '@nats-io/transport-node';
import { createConcurrently } from '../runtime/index.js';
import { checkBlobName, type BlobStore } from '../actors/training/stores.js';

// Every object's SHA-256 (written on put, checked on get) through node:crypto, not the
// client's JavaScript default: a checkpoint of 10 million ratings' rows took 0.13 s of the
// event loop to hash in JavaScript. Process-wide, set before any object store is used.
setSha256Backend('native');

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
  private constructor(private readonly os: ObjectStore) {}

  /** Opens the bucket, creating it if absent (what training does). */
  static async open(nc: NatsConnection, prefix: string): Promise<ObjBlobStore> {
    return new ObjBlobStore(await createConcurrently(() => new Objm(nc).create(checkpointsBucket(prefix), { storage: StorageType.File })));
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

  async get(name: string): Promise<Uint8Array | undefined> {
    const b = await this.os.getBlob(name);
    // The client hands back a Node Buffer; the contract is a plain Uint8Array.
    return b === null ? undefined : new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  }

  async list(prefix: string): Promise<string[]> {
    // Object names are hashed into subjects, so the server cannot filter by prefix: list all, filter here.
    const infos = await this.os.list();
    return infos
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
