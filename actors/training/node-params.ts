import { VersionParams, type VersionShape } from './arena.js';

/**
 * The training-side view of one user's history: every interaction applied, in the order
 * applied; `values[j]` is the rating of a RATING interaction and NaN for other types.
 */
export interface UserHistory {
  readonly titles: string[];
  readonly values: number[];
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
