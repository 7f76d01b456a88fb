import { newEnvelope } from './envelope.js';
import { Internal } from './errors.js';
import { IdSequence } from './id-sequence.js';
import type { Envelope, ShardId } from './types.js';

/** A field of a batch: one value every message shares, or one value per message. */
export type Column<T> = T | T[];

function at<T>(c: Column<T>, i: number): T {
  return Array.isArray(c) ? c[i]! : c;
}

/** Appends `v` as the `n`th value of a column, turning a shared value into a list at the first that differs. */
function extend<T>(c: Column<T>, v: T, n: number): Column<T> {
  if (Array.isArray(c)) {
    c.push(v);
    return c;
  }
  if (c === v) return c;
  const list = new Array<T>(n + 1).fill(c);
  list[n] = v;
  return list;
}

/** The column of `pick` over `envs`: the shared value when all agree. */
function columnOf<T>(envs: readonly Envelope[], pick: (e: Envelope) => T): Column<T> {
  const first = pick(envs[0]!);
  for (let i = 1; i < envs.length; i++) if (pick(envs[i]!) !== first) return envs.map(pick);
  return first;
}

/**
 * Tells to one shard held field by field rather than message by message: what one batch
 * frame carries. Fields every message shares are stored (and sent) once, and ids handed out
 * as a range are sent as their first number, so a batched message costs little more than
 * its key and body.
 */
export class EnvelopeBatch {
  readonly keys: string[] = [];
  readonly bodies: unknown[] = [];
  /** Message ids are `idPrefix + suffix`: consecutive numbers from `idSuffixes`, or one string per message. */
  idPrefix = '';
  idSuffixes: number | string[] = [];
  kinds: Column<string> = '';
  types: Column<string> = '';
  shards: Column<ShardId>;
  epochs: Column<number>;
  deadlines: Column<number>;
  traces: Column<string>;

  constructor(
    readonly shard: ShardId,
    deadline = 0,
    trace = '',
    epoch = 0,
  ) {
    this.shards = shard;
    this.deadlines = deadline;
    this.traces = trace;
    this.epochs = epoch;
  }

  /** A batch of these envelopes, each kept exactly (ids and every field). */
  static of(shard: ShardId, envs: readonly Envelope[]): EnvelopeBatch {
    const b = new EnvelopeBatch(shard);
    if (envs.length === 0) return b;
    b.idSuffixes = envs.map((e) => e.id);
    b.kinds = columnOf(envs, (e) => e.kind);
    b.types = columnOf(envs, (e) => e.type);
    b.shards = columnOf(envs, (e) => e.shard);
    b.epochs = columnOf(envs, (e) => e.epoch);
    b.deadlines = columnOf(envs, (e) => e.deadline);
    b.traces = columnOf(envs, (e) => e.trace);
    for (const e of envs) {
      b.keys.push(e.key);
      b.bodies.push(e.body);
    }
    return b;
  }

  get size(): number {
    return this.keys.length;
  }

  /** Adds a message; its id comes from `numberIds` once the batch is complete. */
  add(kind: string, key: string, type: string, body: unknown): void {
    const n = this.keys.length;
    this.keys.push(key);
    this.bodies.push(body);
    this.kinds = n === 0 ? kind : extend(this.kinds, kind, n);
    this.types = n === 0 ? type : extend(this.types, type, n);
  }

  /** Gives the messages the ids `prefix + first`, `prefix + (first + 1)`, …. */
  numberIds(prefix: string, first: number): void {
    this.idPrefix = prefix;
    this.idSuffixes = first;
  }

  /** Throws unless every message has an id (`numberIds` was called, or the batch came from `of`). */
  checkIds(): void {
    const sfx = this.idSuffixes;
    if (typeof sfx !== 'number' && sfx.length !== this.keys.length) {
      throw new Internal(`batch of ${this.keys.length} messages has ${sfx.length} ids`, { shard: this.shard });
    }
  }

  /** The messages as envelopes (for delivery in process). */
  envelopes(): Envelope[] {
    this.checkIds();
    const n = this.keys.length;
    const out = new Array<Envelope>(n);
    const sfx = this.idSuffixes;
    const seq = typeof sfx === 'number' ? new IdSequence(this.idPrefix, sfx) : undefined;
    for (let i = 0; i < n; i++) {
      out[i] = newEnvelope(
        seq !== undefined ? seq.next() : this.idPrefix + (sfx as string[])[i],
        at(this.kinds, i),
        this.keys[i]!,
        at(this.shards, i),
        at(this.epochs, i),
        at(this.types, i),
        at(this.deadlines, i),
        at(this.traces, i),
        this.bodies[i],
      );
    }
    return out;
  }
}
