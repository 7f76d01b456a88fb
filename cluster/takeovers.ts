import type { ShardId } from '../runtime/index.js';

/** Entries a node remembers: far more than a load's span needs; the oldest go first. */
const MAX_ENTRIES = 100_000;

/** A shard this node claimed from an owner that had not released it. */
export interface Takeover {
  seq: number;
  shard: ShardId;
  /** The owner named in the entry it replaced ('?' if the entry was unreadable). */
  from: string;
  atMs: number;
}

/**
 * The shards this node took over without a release: their previous owner's lease ran out (it
 * crashed, paused, was cut off from NATS, or was this node itself before its lease lapsed), so
 * whatever its actors held in memory and had not written to their snapshots is gone. A
 * planned handoff writes every actor first and releases the entry, and is not noted. Writers
 * that acknowledge before they write (`reel load`, which flushes at its end) read this to
 * find the shards whose records they must send again. Numbered, so that a reader asks for
 * what came after its mark.
 */
export class TakeoverLog {
  private seq = 0;
  private readonly entries: Takeover[] = [];

  note(shard: ShardId, from: string, atMs: number): void {
    this.entries.push({ seq: ++this.seq, shard, from, atMs });
    if (this.entries.length > MAX_ENTRIES) this.entries.splice(0, this.entries.length - MAX_ENTRIES);
  }

  /** The last number given. */
  get mark(): number {
    return this.seq;
  }

  /** Takeovers after `mark`; `complete` is false when some were forgotten since. */
  since(mark: number): { mark: number; takeovers: Takeover[]; complete: boolean } {
    const takeovers = this.entries.filter((e) => e.seq > mark);
    const complete = mark >= this.seq - this.entries.length;
    return { mark: this.seq, takeovers, complete };
  }
}
