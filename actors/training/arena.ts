import { fnv1a, FNV_OFFSET, fmix32 } from '../../runtime/index.js';
import { Rng, rowFloats, WasmArena } from '../../models/index.js';
import type { CheckpointPart } from './checkpoint.js';

/** Rows an arena makes room for at first; it doubles when full. */
const INITIAL_ROWS = 64;

/**
 * The parameters of one kind's actors on one shard for one model version: a contiguous
 * block of rows in the version's kernel memory (`VersionParams.memory`, a WebAssembly
 * instance's linear memory), each row `factors + 1` floats (the factors, then the bias) in a
 * slot of `rowFloats(factors)` floats. The kernels train these rows in place, by address
 * (`address`); batched pulls and pushes read and write them without conversion. Each
 * actor's row is found by its key; rows are never freed while the arena lives (a shard's
 * arena goes as a whole when the shard leaves the node). A full arena moves to a block twice
 * its size and calls `onMove`, so that a trainer holding row addresses finds them again.
 */
export class ParamArena {
  /** Floats of a row as exchanged (pulls, pushes, checkpoints, snapshots): the factors and the bias. */
  readonly width: number;
  /** Floats of a row's slot in memory (whole 16-byte vectors). */
  readonly slot: number;
  private base: number;
  private capacity = INITIAL_ROWS;
  private n = 0;
  private readonly rowOf = new Map<string, number>();
  private readonly keyList: string[] = [];

  constructor(
    private mem: WasmArena,
    readonly factors: number,
    /** Fills a new row (length `width`) for `key`. */
    private readonly init: (key: string, row: Float32Array) => void,
    private readonly onMove: () => void = () => undefined,
  ) {
    this.width = factors + 1;
    this.slot = rowFloats(factors);
    this.base = mem.alloc(this.capacity * this.slot * 4);
    mem.f32(this.base, this.capacity * this.slot).fill(0);
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

  /** The byte address of row `r` in the version's memory (valid until the arena moves: `onMove`). */
  address(r: number): number {
    return this.base + r * this.slot * 4;
  }

  /** The live row `r` (a view: writes go to the arena). Views detach when memory grows: don't keep them. */
  view(r: number): Float32Array {
    return this.mem.f32(this.address(r), this.width);
  }

  /** The whole memory as floats, with row `r` at `floatAt(r)`: for loops over many rows (valid until memory grows). */
  heap(): Float32Array {
    return this.mem.heapF32();
  }

  floatAt(r: number): number {
    return this.address(r) >>> 2;
  }

  /** Sets `key`'s row to `values` (length `width`), making the row if needed. */
  set(key: string, values: Float32Array): void {
    let r = this.rowOf.get(key);
    if (r === undefined) r = this.append(key);
    this.view(r).set(values);
  }

  /** A copy of `key`'s row, or undefined. */
  copyOf(key: string): Float32Array | undefined {
    const r = this.rowOf.get(key);
    return r === undefined ? undefined : this.view(r).slice();
  }

  /** Every row, as a checkpoint part (copied, `width` floats a row). */
  part(): CheckpointPart {
    const w = this.width;
    const rows = new Float32Array(this.n * w);
    const heap = this.heap();
    // Float by float: a view per row made 100,000 short-lived objects per checkpoint.
    for (let r = 0, o = this.floatAt(0), d = 0; r < this.n; r++, o += this.slot) for (let f = 0; f < w; f++) rows[d++] = heap[o + f]!;
    return { keys: this.keyList.slice(), factors: this.factors, rows };
  }

  /** Overwrites the rows of the part's keys (making rows as needed). */
  load(part: CheckpointPart): void {
    const w = this.width;
    for (let j = 0; j < part.keys.length; j++) this.set(part.keys[j]!, part.rows.subarray(j * w, (j + 1) * w));
  }

  /** Gives the arena's block back to its memory (the arena is not used after). */
  release(): void {
    this.mem.free(this.base, this.capacity * this.slot * 4);
  }

  /** Moves the rows into `mem` (a fresh memory: the version compacts), without calling `onMove`. */
  moveTo(mem: WasmArena): void {
    const bytes = this.capacity * this.slot * 4;
    const at = mem.alloc(bytes);
    mem.f32(at, bytes >>> 2).set(this.mem.f32(this.base, bytes >>> 2));
    this.mem = mem;
    this.base = at;
  }

  private append(key: string): number {
    if (this.n === this.capacity) {
      const floats = this.capacity * this.slot;
      const at = this.mem.alloc(floats * 2 * 4);
      const heap = this.mem.heapF32();
      heap.copyWithin(at >>> 2, this.base >>> 2, (this.base >>> 2) + floats);
      heap.fill(0, (at >>> 2) + floats, (at >>> 2) + floats * 2);
      this.mem.free(this.base, floats * 4);
      this.base = at;
      this.capacity *= 2;
      this.onMove();
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

/**
 * One model version's arenas on a node, by kind and shard, all in one kernel memory (a
 * WebAssembly instance's linear memory), so that a trainer's kernel reads and writes the rows
 * of every local shard in place. `moves` counts the moves of rows (an arena that grew, a
 * compaction): a holder of row addresses looks them up again when it changes.
 */
export class VersionParams {
  private readonly arenas = new Map<string, ParamArena>();
  private mem = new WasmArena();
  private moved = 0;

  constructor(
    readonly id: string,
    readonly shape: VersionShape,
  ) {}

  /** The kernel memory of the version's rows (a trainer places its working arrays there too). */
  get memory(): WasmArena {
    return this.mem;
  }

  get moves(): number {
    return this.moved;
  }

  arena(kind: string, shard: number): ParamArena {
    const k = `${kind}/${shard}`;
    let a = this.arenas.get(k);
    if (a === undefined) {
      a = new ParamArena(this.mem, this.shape.factors, (key, row) => initialRow(this.shape, kind, key, row), () => this.moved++);
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
    for (const [k, a] of [...this.arenas]) {
      if (keep(Number(k.slice(k.indexOf('/') + 1)))) continue;
      a.release();
      this.arenas.delete(k);
    }
  }

  /**
   * Moves the rows into a fresh memory when the present one holds much more than they need
   * (linear memory never shrinks: a finished training job's ratings and orders would
   * otherwise stay allocated). Call with no trainer running on the version.
   */
  compact(): boolean {
    const live = this.mem.liveBytes;
    if (this.mem.memoryBytes <= 2 * live + COMPACT_SLACK_BYTES) return false;
    const fresh = new WasmArena();
    for (const a of this.arenas.values()) a.moveTo(fresh);
    this.mem = fresh;
    this.moved++;
    return true;
  }
}

/** Memory a version may hold beyond twice its rows before `compact` moves them. */
const COMPACT_SLACK_BYTES = 8 << 20;
