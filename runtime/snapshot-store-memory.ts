import { decodeValue, encodeValue } from './envelope.js';
import type { Snapshot, SnapshotStore } from './types.js';

/**
 * Snapshots in process memory, encoded like the JetStream store so that an actor's
 * later mutations never leak into a saved snapshot.
 */
export class MemorySnapshotStore implements SnapshotStore {
  private readonly data = new Map<string, Uint8Array>();
  /** Snapshots written, for tests and the demo. */
  writes = 0;

  async load(kind: string, key: string): Promise<Snapshot | undefined> {
    const b = this.data.get(`${kind}\u0000${key}`);
    return b === undefined ? undefined : (decodeValue(b) as Snapshot);
  }

  async save(kind: string, key: string, snapshot: Snapshot): Promise<void> {
    this.data.set(`${kind}\u0000${key}`, encodeValue(snapshot));
    this.writes++;
  }

  async delete(kind: string, key: string): Promise<void> {
    this.data.delete(`${kind}\u0000${key}`);
  }

  /** Number of stored snapshots. */
  get size(): number {
    return this.data.size;
  }

  async close(): Promise<void> {}
}
