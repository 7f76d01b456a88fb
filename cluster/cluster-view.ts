import { KvWatchInclude, type KV, type KvEntry } from '@nats-io/kv';
import { readJson } from './cluster-kv.js';

/** A node as it registers itself in `members.<id>`. */
export interface MemberInfo {
  id: string;
  roles: string[];
  weight: number;
  /** ms since the Unix epoch. */
  startedAt: number;
  version: string;
  /** Last heartbeat, by the member's own clock, ms since the Unix epoch. */
  heartbeatAt: number;
  /** Set while the node drains: it takes no new shards. */
  draining?: boolean;
}

/** The ownership record of one shard, `shards.<n>`. */
export interface ShardOwner {
  /** Owning node id; '' when released. */
  owner: string;
  /** Increases with every change of owner. */
  epoch: number;
  /** The owner may serve until this time (its own clock), ms since the Unix epoch. */
  leaseUntil: number;
}

/** What the view knows of a shard's entry: the value (if readable) and its KV revision. */
export interface ShardRecord {
  /** Undefined for a garbled value or an entry that never existed (revision 0). */
  value: ShardOwner | undefined;
  /** KV revision for compare-and-set; 0 when there is no entry. */
  revision: number;
  /** A value exists but does not parse as an ownership record. */
  poisoned: boolean;
}

function isShardOwner(v: unknown): v is ShardOwner {
  const o = v as ShardOwner;
  return typeof o === 'object' && o !== null && typeof o.owner === 'string' && Number.isInteger(o.epoch) && o.epoch >= 0 && typeof o.leaseUntil === 'number';
}

function isMember(v: unknown): v is MemberInfo {
  const o = v as MemberInfo;
  return typeof o === 'object' && o !== null && typeof o.id === 'string' && typeof o.heartbeatAt === 'number' && typeof o.weight === 'number';
}

/**
 * A node's cached view of the cluster bucket: members, shard owners and overrides, kept
 * current by one watch and a periodic full read (the safety net for a watch that stalls).
 */
export class ClusterView {
  readonly members = new Map<string, MemberInfo>();
  readonly shards = new Map<number, ShardRecord>();
  readonly overrides = new Map<number, string>();
  private readonly revisions = new Map<string, number>();
  private readonly listeners = new Set<() => void>();
  private stopWatch: (() => void) | null = null;

  constructor(readonly kv: KV) {}

  /** Starts the watch and reads everything once. */
  async open(): Promise<void> {
    const it = await this.kv.watch({ key: '>', include: KvWatchInclude.UpdatesOnly });
    this.stopWatch = () => it.stop();
    void (async () => {
      for await (const e of it) this.apply(e);
    })().catch(() => undefined);
    await this.refresh();
  }

  /** Re-reads every key (the watch covers changes in between). */
  async refresh(): Promise<void> {
    const keys: string[] = [];
    for await (const k of await this.kv.keys()) keys.push(k);
    const seen = new Set(keys);
    await Promise.all(keys.map(async (k) => {
      const e = await this.kv.get(k);
      if (e) this.apply(e);
    }));
    // Keys gone from the bucket (purged) are gone from the view.
    for (const k of [...this.revisions.keys()]) if (!seen.has(k)) this.forget(k);
    this.emit();
  }

  /** Calls `fn` after every change. */
  onChange(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  shard(s: number): ShardRecord {
    return this.shards.get(s) ?? { value: undefined, revision: 0, poisoned: false };
  }

  /** The current owner's epoch as this view sees it; 0 when the shard has no owner. */
  routeEpoch(s: number): number {
    const v = this.shards.get(s)?.value;
    return v !== undefined && v.owner !== '' ? v.epoch : 0;
  }

  /** Records the result of this node's own successful write before the watch echoes it. */
  noteShardWrite(s: number, value: ShardOwner, revision: number): void {
    const key = `shards.${s}`;
    if ((this.revisions.get(key) ?? 0) >= revision) return;
    this.revisions.set(key, revision);
    this.shards.set(s, { value, revision, poisoned: false });
  }

  close(): void {
    this.stopWatch?.();
    this.stopWatch = null;
    this.listeners.clear();
  }

  private apply(e: KvEntry): void {
    const prev = this.revisions.get(e.key) ?? 0;
    if (e.revision <= prev) return;
    this.revisions.set(e.key, e.revision);
    const [group, id] = splitKey(e.key);
    const v = readJson<unknown>(e);
    const live = e.operation === 'PUT';
    if (group === 'members') {
      if (live && isMember(v)) this.members.set(id, v);
      else this.members.delete(id);
    } else if (group === 'shards') {
      const s = Number(id);
      if (!Number.isInteger(s)) return;
      if (!live) this.shards.set(s, { value: undefined, revision: e.revision, poisoned: false });
      else if (isShardOwner(v)) this.shards.set(s, { value: v, revision: e.revision, poisoned: false });
      else this.shards.set(s, { value: undefined, revision: e.revision, poisoned: true });
    } else if (group === 'overrides') {
      const s = Number(id);
      if (live && typeof v === 'string' && Number.isInteger(s)) this.overrides.set(s, v);
      else this.overrides.delete(s);
    }
    this.emit();
  }

  private forget(key: string): void {
    this.revisions.delete(key);
    const [group, id] = splitKey(key);
    if (group === 'members') this.members.delete(id);
    else if (group === 'shards') this.shards.delete(Number(id));
    else if (group === 'overrides') this.overrides.delete(Number(id));
  }

  private emit(): void {
    for (const fn of this.listeners) fn();
  }
}

function splitKey(key: string): [string, string] {
  const i = key.indexOf('.');
  return i < 0 ? [key, ''] : [key.slice(0, i), key.slice(i + 1)];
}
