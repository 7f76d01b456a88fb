import { fmix32, fnv1a, FNV_OFFSET } from '../../runtime/index.js';
import { VersionParams, type VersionShape } from './arena.js';
import type { UserHistory } from './user-history.js';

export { TYPE_UNSPECIFIED, typeCode, typeOfCode, UserHistory, type StoredHistory } from './user-history.js';

/**
 * Title keys as dense node-local indices, with a hash of each key: a user history holds
 * indices (4 bytes an interaction instead of a string), and training reads them without
 * hashing strings. Only grows (a node sees at most its catalog).
 */
export class TitleInterner {
  private readonly byKey = new Map<string, number>();
  private readonly keys: string[] = [];
  private hashes = new Uint32Array(64);

  get size(): number {
    return this.keys.length;
  }

  index(key: string): number {
    let i = this.byKey.get(key);
    if (i === undefined) {
      i = this.keys.length;
      this.byKey.set(key, i);
      this.keys.push(key);
      if (i === this.hashes.length) {
        const h = new Uint32Array(i * 2);
        h.set(this.hashes);
        this.hashes = h;
      }
      this.hashes[i] = fmix32(fnv1a(FNV_OFFSET, key));
    }
    return i;
  }

  /** The index of `key`, or -1 when this node never saw it (nothing is added). */
  find(key: string): number {
    return this.byKey.get(key) ?? -1;
  }

  key(i: number): string {
    return this.keys[i]!;
  }

  /** A well-mixed 32-bit hash of title `i`'s key (the same on every node). */
  hash(i: number): number {
    return this.hashes[i]!;
  }
}

/**
 * What a node holds for models: the versions' parameter arenas, which version serves, and
 * the training views of the user and title actors active here (registered by the actors on
 * activation, removed on passivation). Node-local: no messages, no locks (one event loop).
 */
export class NodeParams {
  private readonly versions = new Map<string, VersionParams>();
  private readonly users = new Map<number, Map<string, UserHistory>>();
  private readonly titles = new Map<number, Set<string>>();
  private pins = 0;
  /** The title keys of every history on this node. */
  readonly titleIndex = new TitleInterner();
  /** The version serving reads (`reel models activate`); undefined before any. */
  active: string | undefined;

  /** The version `id`, made with `shape` if the node has not seen it (a later shape is ignored: rows fix it). */
  version(id: string, shape: VersionShape): VersionParams {
    let v = this.versions.get(id);
    if (v === undefined) this.versions.set(id, (v = new VersionParams(id, shape)));
    return v;
  }

  existingVersion(id: string): VersionParams | undefined {
    return this.versions.get(id);
  }

  versionIds(): string[] {
    return [...this.versions.keys()];
  }

  /** While pinned, job actors stay in memory (`Actor.pinned`). Counted: jobs may overlap. */
  pin(): void {
    this.pins++;
  }

  unpin(): void {
    if (this.pins > 0) this.pins--;
  }

  get pinned(): boolean {
    return this.pins > 0;
  }

  attachUser(shard: number, key: string, history: UserHistory): void {
    let m = this.users.get(shard);
    if (m === undefined) this.users.set(shard, (m = new Map()));
    m.set(key, history);
  }

  detachUser(shard: number, key: string): void {
    this.users.get(shard)?.delete(key);
  }

  /** The users active on `shard`, with their histories. */
  usersOf(shard: number): ReadonlyMap<string, UserHistory> {
    return this.users.get(shard) ?? new Map();
  }

  /** The title keys in the history of user `key` of `shard` (active here), in the order applied; empty if none. */
  historyTitles(shard: number, key: string): string[] {
    const h = this.users.get(shard)?.get(key);
    return h === undefined ? [] : Array.from(h.titles, (i) => this.titleIndex.key(i));
  }

  attachTitle(shard: number, key: string): void {
    let s = this.titles.get(shard);
    if (s === undefined) this.titles.set(shard, (s = new Set()));
    s.add(key);
  }

  detachTitle(shard: number, key: string): void {
    this.titles.get(shard)?.delete(key);
  }

  titlesOf(shard: number): ReadonlySet<string> {
    return this.titles.get(shard) ?? new Set();
  }

  /** Shards holding title rows of `version` on this node. */
  titleShards(version: string): number[] {
    return this.versions.get(version)?.shardsOf('title') ?? [];
  }

  /** Forgets the arenas of shards this node no longer serves. */
  dropShards(keep: (shard: number) => boolean): void {
    for (const v of this.versions.values()) v.dropShards(keep);
  }

  /** Rows of `kind/key` in every version that has one: what a snapshot keeps. */
  rowsOf(kind: string, shard: number, key: string): Array<[string, Float32Array]> {
    const out: Array<[string, Float32Array]> = [];
    for (const v of this.versions.values()) {
      const row = v.existing(kind, shard)?.copyOf(key);
      if (row !== undefined) out.push([v.id, row]);
    }
    return out;
  }

  /** Puts rows from a snapshot back into their versions' arenas (a version unknown here is made from the row's length). */
  restoreRows(kind: string, shard: number, key: string, rows: ReadonlyArray<readonly [string, Float32Array]>): void {
    for (const [id, row] of rows) {
      const v = this.versions.get(id) ?? this.version(id, { factors: row.length - 1, seed: 0, initStd: 0 });
      if (row.length !== v.shape.factors + 1) continue;
      // The arena's rows are newer than a snapshot when the actor only passivated here.
      const a = v.arena(kind, shard);
      if (!a.has(key)) a.set(key, row);
    }
  }
}
