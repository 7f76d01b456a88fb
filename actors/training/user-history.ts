import { INTERACTION_TYPES, type InteractionType, type LoggedType } from '../messages.js';
import type { TitleInterner } from './node-params.js';

/**
 * A user history as a snapshot keeps it: title keys, and the rating of each (null or NaN for
 * other types); then, from snapshots written since the log kept them, each interaction's type
 * code and event time, and the event ids and non-rating values where there are any.
 */
export interface StoredHistory {
  readonly titles: readonly string[];
  readonly values: ReadonlyArray<number | null>;
  /** `typeCode` of each; absent in older snapshots (then RATING where a value is, else UNSPECIFIED). */
  readonly types?: Uint8Array;
  /** Event time of each, ms since the Unix epoch; absent in older snapshots (then 0: unknown). */
  readonly times?: Float64Array;
  /** Positions that have an event id, and the ids (MovieLens loads have none: both absent). */
  readonly idAt?: Uint32Array;
  readonly ids?: readonly string[];
  /** Positions of non-rating interactions with a value other than 0 (a play's watched fraction), and the values. */
  readonly valueAt?: Uint32Array;
  readonly otherValues?: Float64Array;
}

/** The code of an interaction type unknown to the log (kept before types were): `INTERACTION_TYPE_UNSPECIFIED`. */
export const TYPE_UNSPECIFIED = 0;

/** A type as the log keeps it: its `reel.v1.InteractionType` number (PLAY 1 … ADD_TO_LIST 7). */
export function typeCode(t: LoggedType): number {
  return t === 'UNSPECIFIED' ? TYPE_UNSPECIFIED : INTERACTION_TYPES.indexOf(t) + 1;
}

/** The type of a code from `typeCode`. */
export function typeOfCode(code: number): LoggedType {
  return code === TYPE_UNSPECIFIED ? 'UNSPECIFIED' : INTERACTION_TYPES[code - 1]!;
}

const RATING = typeCode('RATING');

/**
 * One user's interaction log, in the order applied, in typed arrays: the title's index in the
 * node's `TitleInterner` (4 bytes), the rating of a RATING interaction (NaN for other types:
 * 4 bytes), the type's code (1 byte) and the event time (8 bytes). Event ids and the values of
 * other types are kept sparsely, only where there are any: ten million MovieLens ratings hold
 * no string and no map entry. It is also the training view of the user (`titles`, `values`).
 */
export class UserHistory {
  private t: Int32Array;
  private v: Float32Array;
  private k: Uint8Array;
  private at: Float64Array;
  private n = 0;
  /** Non-empty event ids by position. */
  private ids: Map<number, string> | undefined;
  /** Values of non-rating interactions other than 0, by position. */
  private others: Map<number, number> | undefined;

  constructor(capacity = 4) {
    this.t = new Int32Array(capacity);
    this.v = new Float32Array(capacity);
    this.k = new Uint8Array(capacity);
    this.at = new Float64Array(capacity);
  }

  static fromStored(stored: StoredHistory, interner: TitleInterner): UserHistory {
    const n = stored.titles.length;
    const h = new UserHistory(Math.max(4, n));
    for (let j = 0; j < n; j++) {
      const value = stored.values[j] ?? NaN;
      h.append(interner.index(stored.titles[j]!), value, stored.types?.[j] ?? (Number.isNaN(value) ? TYPE_UNSPECIFIED : RATING), stored.times?.[j] ?? 0);
    }
    const { idAt, ids, valueAt, otherValues } = stored;
    if (idAt !== undefined && ids !== undefined) for (let i = 0; i < idAt.length; i++) (h.ids ??= new Map()).set(idAt[i]!, ids[i]!);
    if (valueAt !== undefined && otherValues !== undefined) for (let i = 0; i < valueAt.length; i++) (h.others ??= new Map()).set(valueAt[i]!, otherValues[i]!);
    return h;
  }

  get length(): number {
    return this.n;
  }

  /** Title indices of the history (a view: valid until the next change). */
  get titles(): Int32Array {
    return this.t.subarray(0, this.n);
  }

  /** Ratings of the history, NaN where the interaction was not a rating (a view, as `titles`). */
  get values(): Float32Array {
    return this.v.subarray(0, this.n);
  }

  /** `typeCode` of each interaction (a view, as `titles`). */
  get types(): Uint8Array {
    return this.k.subarray(0, this.n);
  }

  /** Event time of each interaction, ms; 0 where unknown (a view, as `titles`). */
  get times(): Float64Array {
    return this.at.subarray(0, this.n);
  }

  /** The event id of interaction `j`; '' when it had none. */
  eventIdAt(j: number): string {
    return this.ids?.get(j) ?? '';
  }

  /** The value interaction `j` was recorded with: its rating, a play's watched fraction, else 0. */
  valueAt(j: number): number {
    const r = this.v[j]!;
    return Number.isNaN(r) ? (this.others?.get(j) ?? 0) : r;
  }

  /** Appends a rating (NaN: an interaction of unknown type), without time or id: what training tests build. */
  push(title: number, value: number): void {
    this.append(title, value, Number.isNaN(value) ? TYPE_UNSPECIFIED : RATING, 0);
  }

  /** Appends an interaction as recorded: a RATING's value is its rating, any other type's is kept aside. */
  log(title: number, type: InteractionType, value: number, timeMs: number, eventId: string): void {
    const code = typeCode(type);
    const j = this.n;
    this.append(title, code === RATING ? value : NaN, code, timeMs);
    if (eventId !== '') (this.ids ??= new Map()).set(j, eventId);
    if (code !== RATING && value !== 0) (this.others ??= new Map()).set(j, value);
  }

  /**
   * Removes every interaction `drop` accepts (by position), keeping the others in their order,
   * in place; answers how many went.
   */
  remove(drop: (j: number) => boolean): number {
    let w = 0;
    const ids = this.ids;
    const others = this.others;
    this.ids = undefined;
    this.others = undefined;
    for (let j = 0; j < this.n; j++) {
      if (drop(j)) continue;
      this.t[w] = this.t[j]!;
      this.v[w] = this.v[j]!;
      this.k[w] = this.k[j]!;
      this.at[w] = this.at[j]!;
      const id = ids?.get(j);
      if (id !== undefined) (this.ids ??= new Map()).set(w, id);
      const x = others?.get(j);
      if (x !== undefined) (this.others ??= new Map()).set(w, x);
      w++;
    }
    const removed = this.n - w;
    this.n = w;
    return removed;
  }

  /** As a snapshot keeps it: the title keys (portable across nodes), the ratings, types and times, and the sparse parts. */
  stored(interner: TitleInterner): StoredHistory {
    const titles = new Array<string>(this.n);
    const values = new Array<number>(this.n);
    for (let j = 0; j < this.n; j++) {
      titles[j] = interner.key(this.t[j]!);
      values[j] = this.v[j]!;
    }
    const out: { -readonly [K in keyof StoredHistory]: StoredHistory[K] } = { titles, values, types: this.k.slice(0, this.n), times: this.at.slice(0, this.n) };
    if (this.ids !== undefined) (out.idAt = Uint32Array.from(this.ids.keys())), (out.ids = [...this.ids.values()]);
    if (this.others !== undefined) (out.valueAt = Uint32Array.from(this.others.keys())), (out.otherValues = Float64Array.from(this.others.values()));
    return out;
  }

  private append(title: number, value: number, code: number, timeMs: number): void {
    if (this.n === this.t.length) this.grow();
    this.t[this.n] = title;
    this.v[this.n] = value;
    this.k[this.n] = code;
    this.at[this.n] = timeMs;
    this.n++;
  }

  private grow(): void {
    const size = Math.max(4, this.n * 2);
    const t = new Int32Array(size);
    t.set(this.t);
    const v = new Float32Array(size);
    v.set(this.v);
    const k = new Uint8Array(size);
    k.set(this.k);
    const at = new Float64Array(size);
    at.set(this.at);
    [this.t, this.v, this.k, this.at] = [t, v, k, at];
  }
}
