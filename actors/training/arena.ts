import { fnv1a, FNV_OFFSET, fmix32 } from '../../runtime/index.js';
import { Rng } from '../../models/index.js';
import type { CheckpointPart } from './checkpoint.js';

/** Rows an arena makes room for at first; it doubles when full. */
const INITIAL_ROWS = 64;

/**
 * The parameters of one kind's actors on one shard for one model version: a contiguous
 * `Float32Array` of rows of `factors + 1` floats (the factors, then the bias), which kernels
 * and batched pulls and pushes read and write without conversion. Each actor's row is found
 * by its key; rows are never freed while the arena lives (a shard's arena goes as a whole
 * when the shard leaves the node).
 */
export class ParamArena {
  readonly stride: number;
  private data: Float32Array;
  private n = 0;
  private readonly rowOf = new Map<string, number>();
  private readonly keyList: string[] = [];

  constructor(
    readonly factors: number,
    /** Fills a new row (length `stride`) for `key`. */
    private readonly init: (key: string, row: Float32Array) => void,
  ) {
    this.stride = factors + 1;
    this.data = new Float32Array(INITIAL_ROWS * this.stride);
  }

  get size(): number {
    return this.n;
  }

  /** Keys by row. */
  get keys(): readonly string[] {
    return this.keyList;
  }

  has(key: string): boolean {
    return this.rowOf.has(key);
  }

  /** The row of `key`, made (and initialised) if it has none. */
  row(key: string): number {
    let r = this.rowOf.get(key);
    if (r === undefined) {
      r = this.append(key);
      this.init(key, this.view(r));
    }
    return r;
  }

  /** The live row `r` (a view: writes go to the arena). Views detach when the arena grows: don't keep them. */
  view(r: number): Float32Array {
    return this.data.subarray(r * this.stride, (r + 1) * this.stride);
  }

  /** Sets `key`'s row to `values` (length `stride`), making the row if needed. */
  set(key: string, values: Float32Array): void {
    let r = this.rowOf.get(key);
    if (r === undefined) r = this.append(key);
    this.data.set(values, r * this.stride);
  }

  /** A copy of `key`'s row, or undefined. */
  copyOf(key: string): Float32Array | undefined {
    const r = this.rowOf.get(key);
    return r === undefined ? undefined : this.view(r).slice();
  }

  /** Every row, as a checkpoint part (copied). */
  part(): CheckpointPart {
    return { keys: this.keyList.slice(), factors: this.factors, rows: this.data.slice(0, this.n * this.stride) };
  }

  /** Overwrites the rows of the part's keys (making rows as needed). */
  load(part: CheckpointPart): void {
    for (let j = 0; j < part.keys.length; j++) this.set(part.keys[j]!, part.rows.subarray(j * this.stride, (j + 1) * this.stride));
  }

  private append(key: string): number {
    if ((this.n + 1) * this.stride > this.data.length) {
      const bigger = new Float32Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    const r = this.n++;
    this.rowOf.set(key, r);
    this.keyList.push(key);
    return r;
  }
}

/** How a version's rows start: factors normal with `initStd`, bias 0, drawn from the seed and the actor's address. */
export interface VersionShape {
  factors: number;
  seed: number;
  initStd: number;
}

/**
 * A row's initial values depend only on the version's seed and the actor's address, so a
 * row made on any node, in any order, after any move, is the same.
 */
export function initialRow(shape: VersionShape, kind: string, key: string, row: Float32Array): void {
  const h = fmix32(fnv1a(fnv1a((FNV_OFFSET ^ shape.seed) >>> 0, kind), key));
  const rng = new Rng(h);
  for (let f = 0; f < shape.factors; f++) row[f] = rng.normal() * shape.initStd;
  row[shape.factors] = 0;
}

/** One model version's arenas on a node, by kind and shard. */
export class VersionParams {
  private readonly arenas = new Map<string, ParamArena>();

  constructor(
    readonly id: string,
    readonly shape: VersionShape,
  ) {}

  arena(kind: string, shard: number): ParamArena {
    const k = `${kind}/${shard}`;
    let a = this.arenas.get(k);
    if (a === undefined) {
      a = new ParamArena(this.shape.factors, (key, row) => initialRow(this.shape, kind, key, row));
      this.arenas.set(k, a);
    }
    return a;
  }

  /** The arena if it exists, without making one. */
  existing(kind: string, shard: number): ParamArena | undefined {
    return this.arenas.get(`${kind}/${shard}`);
  }

  /** Shards of `kind` with an arena here. */
  shardsOf(kind: string): number[] {
    const out: number[] = [];
    for (const k of this.arenas.keys()) if (k.startsWith(`${kind}/`)) out.push(Number(k.slice(kind.length + 1)));
    return out.sort((a, b) => a - b);
  }

  /** Drops the arenas of shards `keep` rejects. */
  dropShards(keep: (shard: number) => boolean): void {
    for (const k of [...this.arenas.keys()]) if (!keep(Number(k.slice(k.indexOf('/') + 1)))) this.arenas.delete(k);
  }
}
