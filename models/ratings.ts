import { ModelArgumentError } from './errors.js';
import { IdIndex, type ExternalId } from './id-index.js';
import { Rng, identityOrder } from './rng.js';

/** What the builder reads: a `Rating` of `data/` fits, and so does any `{user, item, rating}`. */
export interface RatingLike {
  user: ExternalId;
  item: ExternalId;
  rating: number;
}

/**
 * Ratings as three parallel typed arrays, one entry per rating: the form every kernel reads
 * (a WebAssembly kernel takes the arrays' memory as is). Users and items are dense indices
 * into `userIds` and `itemIds`, which a training table and the tables read against it share.
 */
export interface RatingsTable {
  /** Ratings; each array below has exactly this length. */
  readonly n: number;
  readonly users: Uint32Array;
  readonly items: Uint32Array;
  readonly ratings: Float32Array;
  /** Every user index in `users` is below this: the index's size when the table was built. */
  readonly userCount: number;
  /** Every item index in `items` is below this. */
  readonly itemCount: number;
  readonly userIds: IdIndex;
  readonly itemIds: IdIndex;
}

/** Index maps to extend, so that a test table shares a training table's indices. */
export interface TableIndices {
  userIds: IdIndex;
  itemIds: IdIndex;
}

const INITIAL_CAPACITY = 1 << 14;

/**
 * Collects ratings into a `RatingsTable`, interning ids as they come. The arrays grow by
 * doubling, so that a file of unknown length is read in one pass without a list of objects.
 */
export class RatingsTableBuilder {
  readonly userIds: IdIndex;
  readonly itemIds: IdIndex;
  private users = new Uint32Array(INITIAL_CAPACITY);
  private items = new Uint32Array(INITIAL_CAPACITY);
  private ratings = new Float32Array(INITIAL_CAPACITY);
  private n = 0;

  /** `indices`: those of another table to extend (a test file read against its training file). */
  constructor(indices?: TableIndices) {
    this.userIds = indices?.userIds ?? new IdIndex();
    this.itemIds = indices?.itemIds ?? new IdIndex();
  }

  get length(): number {
    return this.n;
  }

  add(user: ExternalId, item: ExternalId, rating: number): void {
    if (!Number.isFinite(rating)) throw new ModelArgumentError(`rating ${rating} of user ${user}, item ${item} is not a finite number`, ['rating']);
    if (this.n === this.users.length) this.grow();
    this.users[this.n] = this.userIds.intern(user);
    this.items[this.n] = this.itemIds.intern(item);
    this.ratings[this.n] = rating;
    this.n++;
  }

  /** Adds a rating by indices that `userIds` and `itemIds` gave out already (a caller that interns each id once). */
  addIndexed(user: number, item: number, rating: number): void {
    if (!(user >= 0 && user < this.userIds.size && item >= 0 && item < this.itemIds.size)) throw new RangeError(`indices (${user}, ${item}) were not given out by this builder's indices`);
    if (!Number.isFinite(rating)) throw new ModelArgumentError(`rating ${rating} of user ${this.userIds.idOf(user)}, item ${this.itemIds.idOf(item)} is not a finite number`, ['rating']);
    if (this.n === this.users.length) this.grow();
    this.users[this.n] = user;
    this.items[this.n] = item;
    this.ratings[this.n] = rating;
    this.n++;
  }

  /** The table of everything added; the builder can go on adding to a later table. */
  build(): RatingsTable {
    const n = this.n;
    return {
      n,
      users: this.users.slice(0, n),
      items: this.items.slice(0, n),
      ratings: this.ratings.slice(0, n),
      userCount: this.userIds.size,
      itemCount: this.itemIds.size,
      userIds: this.userIds,
      itemIds: this.itemIds,
    };
  }

  private grow(): void {
    const cap = this.users.length * 2;
    const users = new Uint32Array(cap);
    users.set(this.users);
    const items = new Uint32Array(cap);
    items.set(this.items);
    const ratings = new Float32Array(cap);
    ratings.set(this.ratings);
    [this.users, this.items, this.ratings] = [users, items, ratings];
  }
}

/**
 * A table of every rating `source` yields, e.g. `readRatings(file)` of `data/` (any ratings
 * format). Pass a training table's indices to read a test file against it.
 */
export async function ratingsTableFrom(source: AsyncIterable<RatingLike> | Iterable<RatingLike>, indices?: TableIndices): Promise<RatingsTable> {
  const b = new RatingsTableBuilder(indices);
  for await (const r of source) b.add(r.user, r.item, r.rating);
  return b.build();
}

/** The ratings of `table` at the positions `rows` (ascending keeps the table's order). */
export function selectRows(table: RatingsTable, rows: Uint32Array): RatingsTable {
  const n = rows.length;
  const users = new Uint32Array(n);
  const items = new Uint32Array(n);
  const ratings = new Float32Array(n);
  for (let j = 0; j < n; j++) {
    const r = rows[j]!;
    users[j] = table.users[r]!;
    items[j] = table.items[r]!;
    ratings[j] = table.ratings[r]!;
  }
  return { ...table, n, users, items, ratings };
}

/**
 * Splits `table` at random into two parts, `held` with round(n × `fraction`) ratings (a
 * validation set) and `kept` with the rest, both in the table's order and on its indices.
 * The same seed gives the same split.
 */
export function splitRatings(table: RatingsTable, fraction: number, seed: number): { kept: RatingsTable; held: RatingsTable } {
  const { kept, held } = splitRows(table.n, fraction, seed);
  return { kept: selectRows(table, kept), held: selectRows(table, held) };
}

/** The row positions of `splitRatings`' two parts, ascending: to split arrays kept beside a table. */
export function splitRows(n: number, fraction: number, seed: number): { kept: Uint32Array; held: Uint32Array } {
  if (!(fraction >= 0 && fraction <= 1)) throw new ModelArgumentError(`split fraction ${fraction} is not in [0, 1]`, ['fraction']);
  const order = new Rng(seed).shuffle(identityOrder(n));
  const nHeld = Math.round(n * fraction);
  return { kept: order.slice(nHeld).sort(), held: order.slice(0, nHeld).sort() };
}

/** Ratings per user (`userCount` entries) or per item: which rows of a model any rating touches. */
export function countsOf(indices: Uint32Array, count: number): Uint32Array {
  const c = new Uint32Array(count);
  for (let j = 0; j < indices.length; j++) c[indices[j]!]++;
  return c;
}

/** The smallest and largest rating in `table` ([NaN, NaN] when it is empty). */
export function ratingRange(table: RatingsTable): { min: number; max: number } {
  let min = Infinity;
  let max = -Infinity;
  for (let j = 0; j < table.n; j++) {
    const r = table.ratings[j]!;
    if (r < min) min = r;
    if (r > max) max = r;
  }
  return table.n === 0 ? { min: NaN, max: NaN } : { min, max };
}
