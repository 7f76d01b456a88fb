import { decodeValue, encodeValue } from './envelope.js';
import { Fenced, SnapshotTooLarge } from './errors.js';
import type { SavedSnapshot, Snapshot, SnapshotStore, StoredSnapshot } from './types.js';

interface Slot {
  /** Undefined after a delete: the revision stays, as a KV delete marker's does. */
  bytes: Uint8Array | undefined;
  revision: number;
}

/**
 * Snapshots in process memory, encoded like the JetStream store (so that an actor's later
 * mutations never leak into a saved snapshot) and written by compare-and-set on revisions.
 */
export class MemorySnapshotStore implements SnapshotStore {
  private readonly slots = new Map<string, Slot>();

  /** `maxBytes`: the largest snapshot taken, like NATS's max payload (default 1 MiB less 1 KiB). */
  constructor(readonly maxBytes = 1024 * 1024 - 1024) {}

  private revision = 0;
  /** Snapshots written, for tests and the demo. */
  writes = 0;
  /** Snapshots read, for tests. */
  reads = 0;

  async load(kind: string, key: string): Promise<StoredSnapshot> {
    this.reads++;
    const slot = this.slots.get(`${kind}\u0000${key}`);
    if (slot === undefined) return { snapshot: undefined, revision: 0 };
    if (slot.bytes === undefined) return { snapshot: undefined, revision: slot.revision };
    return { snapshot: decodeValue(slot.bytes) as Snapshot, revision: slot.revision, bytes: slot.bytes };
  }

  decode(bytes: Uint8Array): Snapshot {
    return decodeValue(bytes) as Snapshot;
  }

  async save(kind: string, key: string, snapshot: Snapshot, expectedRevision: number): Promise<number> {
    return (await this.saveEncoded(kind, key, snapshot, expectedRevision)).revision;
  }

  async saveEncoded(kind: string, key: string, snapshot: Snapshot, expectedRevision: number): Promise<SavedSnapshot> {
    const k = `${kind}\u0000${key}`;
    const current = this.slots.get(k)?.revision ?? 0;
    if (current !== expectedRevision) {
      throw new Fenced(`snapshot ${kind}/${key} is at revision ${current}, not ${expectedRevision}: a newer owner wrote it`, { kind, key });
    }
    const bytes = encodeValue(snapshot);
    if (bytes.length > this.maxBytes) throw new SnapshotTooLarge(`snapshot of ${kind}/${key} is ${bytes.length} bytes; this store takes at most ${this.maxBytes}`, { kind, key });
    const revision = ++this.revision;
    this.slots.set(k, { bytes, revision });
    this.writes++;
    return { revision, bytes };
  }

  async delete(kind: string, key: string): Promise<void> {
    const k = `${kind}\u0000${key}`;
    if (this.slots.has(k)) this.slots.set(k, { bytes: undefined, revision: ++this.revision });
  }

  async keys(kind: string): Promise<string[]> {
    const prefix = `${kind}\u0000`;
    const out: string[] = [];
    for (const [k, slot] of this.slots) if (slot.bytes !== undefined && k.startsWith(prefix)) out.push(k.slice(prefix.length));
    return out;
  }

  /** Number of stored snapshots. */
  get size(): number {
    let n = 0;
    for (const s of this.slots.values()) if (s.bytes !== undefined) n++;
    return n;
  }

  async close(): Promise<void> {}
}
