import { Kvm } from '@nats-io/kv';
import type { KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { decodeValue, encodeValue } from './envelope.js';
import { Closed, Fenced, Internal, InvalidArgument, SnapshotTooLarge } from './errors.js';
import { consistentKvOptions, createConcurrently, MAX_REPLICAS } from './jetstream-create.js';
import { kvKeys, LISTING_STALL_MS } from './kv-keys.js';
import type { SavedSnapshot, Snapshot, SnapshotStore, StoredSnapshot } from './types.js';

/** First part of every snapshot bucket name. */
export const DEFAULT_SNAPSHOT_BUCKET_PREFIX = 'reel';
/** Copies of each snapshot bucket in a NATS cluster. */
export const DEFAULT_SNAPSHOT_REPLICAS = 1;
/** Values kept per key; 1 keeps only the latest snapshot. */
export const DEFAULT_SNAPSHOT_HISTORY = 1;
// JetStream KV refuses a longer history.
const MAX_KV_HISTORY = 64;

/** Room left in a message for JetStream's headers and the key, under the server's max payload. */
const HEADER_ROOM_BYTES = 1024;
/** NATS's default max payload, when the server did not say. */
const DEFAULT_MAX_PAYLOAD_BYTES = 1024 * 1024;

/** Options of a `KvSnapshotStore`. */
export interface KvSnapshotStoreOptions {
  /** Buckets are named `<bucketPrefix>_snap_<kind>`; `[A-Za-z0-9_-]` only. @default 'reel' */
  bucketPrefix?: string;
  /** Replicas of each bucket (1..5). @default 1 */
  replicas?: number;
  /** Snapshots kept per actor (1..64). @default 1 */
  history?: number;
  /** Largest snapshot written, in bytes; a larger one is refused with `SnapshotTooLarge`. @default the server's max payload less 1 KiB */
  maxBytes?: number;
}

/** The defaults of every `KvSnapshotStoreOptions` field. */
export function defaultKvSnapshotStoreOptions(): Required<KvSnapshotStoreOptions> {
  return { bucketPrefix: DEFAULT_SNAPSHOT_BUCKET_PREFIX, replicas: DEFAULT_SNAPSHOT_REPLICAS, history: DEFAULT_SNAPSHOT_HISTORY, maxBytes: 0 };
}

const NAME_RE = /^[A-Za-z0-9_-]+$/;

/** Merges `opts` over the defaults; throws `InvalidArgument` naming every bad field. */
export function parseKvSnapshotStoreOptions(opts: KvSnapshotStoreOptions = {}): Required<KvSnapshotStoreOptions> {
  const o = { ...defaultKvSnapshotStoreOptions(), ...stripUndefined(opts) };
  const bad: string[] = [];
  if (typeof o.bucketPrefix !== 'string' || !NAME_RE.test(o.bucketPrefix)) bad.push('bucketPrefix');
  if (!Number.isInteger(o.replicas) || o.replicas < 1 || o.replicas > MAX_REPLICAS) bad.push('replicas');
  if (!Number.isInteger(o.history) || o.history < 1 || o.history > MAX_KV_HISTORY) bad.push('history');
  if (!Number.isInteger(o.maxBytes) || o.maxBytes < 0) bad.push('maxBytes');
  if (bad.length > 0) throw new InvalidArgument(`invalid snapshot store options: ${bad.join(', ')}`, { fields: bad });
  return o;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

// Keys that are safe KV keys as they are. A leading '_' is kept for the encoded form,
// so an encoded key never collides with a plain one.
const PLAIN_KEY_RE = /^[A-Za-z0-9=-][A-Za-z0-9_=-]*$/;
const ENCODED_KEY_PREFIX = '_b64_';

/** The KV key of an actor key: itself when plain, else `_b64_` + unpadded base64url of its UTF-8. */
export function snapshotKvKey(key: string): string {
  return PLAIN_KEY_RE.test(key) ? key : ENCODED_KEY_PREFIX + Buffer.from(key, 'utf8').toString('base64url');
}

/** The actor key of a KV key written by `snapshotKvKey`. */
export function actorKeyOf(kvKey: string): string {
  return kvKey.startsWith(ENCODED_KEY_PREFIX) ? Buffer.from(kvKey.slice(ENCODED_KEY_PREFIX.length), 'base64url').toString('utf8') : kvKey;
}

/** The bucket of `kind`'s snapshots under `bucketPrefix`. */
export function snapshotBucket(bucketPrefix: string, kind: string): string {
  return `${bucketPrefix}_snap_${kind}`;
}

/**
 * Actor snapshots in JetStream KV, one bucket per actor kind (`<prefix>_snap_<kind>`),
 * each created on first use. Values are the self-describing msgpack of the `Snapshot`.
 */
export class KvSnapshotStore implements SnapshotStore {
  readonly #kvm: Kvm;
  readonly #opts: Required<KvSnapshotStoreOptions>;
  // One in-flight promise per kind: concurrent first uses create the bucket once.
  readonly #buckets = new Map<string, Promise<KV>>();
  #closed = false;
  readonly #nc: NatsConnection;

  /** Uses `nc` without owning it: `close()` leaves the connection open. */
  constructor(nc: NatsConnection, opts: KvSnapshotStoreOptions = {}) {
    this.#opts = parseKvSnapshotStoreOptions(opts);
    this.#kvm = new Kvm(nc);
    this.#nc = nc;
  }

  /** The largest snapshot this store writes, in bytes. */
  get maxBytes(): number {
    return this.#opts.maxBytes > 0 ? this.#opts.maxBytes : (this.#nc.info?.max_payload ?? DEFAULT_MAX_PAYLOAD_BYTES) - HEADER_ROOM_BYTES;
  }

  /** The bucket that holds snapshots of `kind`; throws `InvalidArgument` if `kind` cannot be part of a bucket name. */
  bucketName(kind: string): string {
    // Rejected rather than rewritten: rewriting would let two kinds share one bucket.
    if (!NAME_RE.test(kind)) {
      throw new InvalidArgument(`actor kind '${kind}' cannot name a KV bucket: use [A-Za-z0-9_-]`, { kind, fields: ['kind'] });
    }
    return snapshotBucket(this.#opts.bucketPrefix, kind);
  }

  async load(kind: string, key: string): Promise<StoredSnapshot> {
    const kv = await this.#bucket(kind);
    const kvKey = snapshotKvKey(key);
    const entry = await kv.get(kvKey);
    if (entry === null) return { snapshot: undefined, revision: 0 };
    // A delete or purge leaves a marker whose revision the next write must name.
    if (entry.operation !== 'PUT') return { snapshot: undefined, revision: entry.revision };
    const snapshot = decodeSnapshot(entry.value, `${this.bucketName(kind)}/${kvKey}`, { kind, key });
    // A copy: the value may be a view into the connection's larger read buffer.
    return { snapshot, revision: entry.revision, bytes: entry.value.slice() };
  }

  decode(bytes: Uint8Array): Snapshot {
    return decodeSnapshot(bytes, 'handed-over snapshot', {});
  }

  async save(kind: string, key: string, snapshot: Snapshot, expectedRevision: number): Promise<number> {
    return (await this.saveEncoded(kind, key, snapshot, expectedRevision)).revision;
  }

  async saveEncoded(kind: string, key: string, snapshot: Snapshot, expectedRevision: number): Promise<SavedSnapshot> {
    const kv = await this.#bucket(kind);
    const kvKey = snapshotKvKey(key);
    // Only the known fields: an accidental extra property must not become part of the stored format.
    const rec: Snapshot = { data: snapshot.data, epoch: snapshot.epoch, savedAt: snapshot.savedAt };
    if (snapshot.applied !== undefined) rec.applied = snapshot.applied;
    const bytes = encodeValue(rec);
    // Refused here, typed, rather than by the server: a snapshot this large can never be written.
    if (bytes.length > this.maxBytes) {
      throw new SnapshotTooLarge(`snapshot of ${kind}/${key} is ${bytes.length} bytes; this store takes at most ${this.maxBytes}`, { kind, key });
    }
    try {
      return { revision: expectedRevision === 0 ? await kv.create(kvKey, bytes) : await kv.update(kvKey, bytes, expectedRevision), bytes };
    } catch (err) {
      if (isRevisionConflict(err)) {
        throw new Fenced(`snapshot ${this.bucketName(kind)}/${kvKey} changed since revision ${expectedRevision}: a newer owner wrote it`, { kind, key, cause: err });
      }
      throw err;
    }
  }

  async delete(kind: string, key: string): Promise<void> {
    const kv = await this.#bucket(kind);
    // Purge rather than delete: it drops the history too, leaving one marker.
    await kv.purge(snapshotKvKey(key));
  }

  async keys(kind: string): Promise<string[]> {
    const kv = await this.#bucket(kind);
    return (await kvKeys(kv, '>', LISTING_STALL_MS, `the snapshots of ${kind}`)).map(actorKeyOf);
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#buckets.clear();
  }

  #bucket(kind: string): Promise<KV> {
    if (this.#closed) return Promise.reject(new Closed('snapshot store is closed'));
    let name: string;
    try {
      name = this.bucketName(kind);
    } catch (err) {
      return Promise.reject(err);
    }
    let p = this.#buckets.get(kind);
    if (!p) {
      // create() opens the bucket when it exists (with its existing configuration).
      p = createConcurrently(() => this.#kvm.create(name, { ...consistentKvOptions(this.#opts.replicas), history: this.#opts.history }));
      this.#buckets.set(kind, p);
      // A failed creation is not cached: the next use tries again.
      p.catch(() => {
        if (this.#buckets.get(kind) === p) this.#buckets.delete(kind);
      });
    }
    return p;
  }
}

/** JetStream API error 10071, "wrong last sequence": the compare-and-set lost. */
function isRevisionConflict(err: unknown): boolean {
  if ((err as { code?: unknown } | null)?.code === 10071) return true;
  return /wrong last sequence/.test(err instanceof Error ? err.message : String(err));
}

/** The snapshot record of `bytes` (as `encodeValue` wrote it); `Internal` naming `where` when it is not one. */
export function decodeSnapshot(bytes: Uint8Array, where: string, fields: { kind?: string; key?: string }): Snapshot {
  let value: unknown;
  try {
    value = decodeValue(bytes);
  } catch (err) {
    throw new Internal(`snapshot ${where} is undecodable: ${(err as Error).message}`, { ...fields, cause: err });
  }
  if (!isSnapshot(value)) throw new Internal(`snapshot ${where} is not a snapshot record`, fields);
  return value;
}

function isSnapshot(v: unknown): v is Snapshot {
  if (v === null || typeof v !== 'object') return false;
  const o = v as Record<string, unknown>;
  return typeof o.epoch === 'number' && typeof o.savedAt === 'number';
}
