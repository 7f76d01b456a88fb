import { AliasTable } from './alias-table.js';
import type { BprNegatives } from './bpr-options.js';
import { userItemsOf, type UserItems } from './metrics.js';
import { countsOf, type RatingsTable } from './ratings.js';
import { EpochOrders, Rng } from './rng.js';

/** Sampled BPR triples (u, i, j): user u interacted with item i and not with item j. */
export interface BprTriples {
  readonly n: number;
  readonly u: Uint32Array;
  readonly i: Uint32Array;
  readonly j: Uint32Array;
}

/** Draws after which a negative is taken by a scan of the user's non-items: a user with almost every item. */
const MAX_REJECTIONS = 256;

/**
 * The triples of each BPR epoch, sampled in TypeScript (the WebAssembly kernel only applies
 * them): every training interaction once, as (u, i), in a fresh seeded order, with a negative
 * j drawn uniformly over the items or ∝ count^β (an alias table), redrawn while j is one of
 * u's training items, so that a negative is never a known positive. Users with every item have
 * no negative and their interactions are left out.
 */
export class BprSampler {
  private readonly seen: UserItems;
  private readonly orders: EpochOrders;
  private readonly rng: Rng;
  private readonly alias: AliasTable | undefined;
  private readonly out: { u: Uint32Array; i: Uint32Array; j: Uint32Array };

  constructor(
    private readonly table: RatingsTable,
    negatives: BprNegatives,
    popularityExponent: number,
    seed: number,
    private readonly items = table.itemCount,
  ) {
    this.seen = userItemsOf(table);
    this.orders = new EpochOrders(table.n, seed);
    this.rng = new Rng((seed ^ 0x27d4eb2f) >>> 0);
    if (negatives === 'popularity') {
      const counts = countsOf(table.items, items);
      this.alias = new AliasTable(Array.from(counts, (c) => (c === 0 ? 0 : Math.pow(c, popularityExponent))));
    }
    this.out = { u: new Uint32Array(table.n), i: new Uint32Array(table.n), j: new Uint32Array(table.n) };
  }

  /** The next epoch's triples (the same arrays each time, refilled). */
  next(): BprTriples {
    const { u: us, i: is, j: js } = this.out;
    const order = this.orders.next();
    let n = 0;
    for (const row of order) {
      const u = this.table.users[row]!;
      const j = this.negative(u);
      if (j < 0) continue;
      us[n] = u;
      is[n] = this.table.items[row]!;
      js[n] = j;
      n++;
    }
    return { n, u: us, i: is, j: js };
  }

  /**
   * One more negative of user u, by the same rule and from the same stream as `next`'s (for
   * a trainer that pairs a positive with several negatives), or −1 when u has every item.
   */
  negativeOf(u: number): number {
    return this.negative(u);
  }

  /** A negative of user u, or −1 when u has every item. */
  private negative(u: number): number {
    for (let t = 0; t < MAX_REJECTIONS; t++) {
      const j = this.alias ? this.alias.sample(this.rng) : this.rng.below(this.items);
      if (!this.has(u, j)) return j;
    }
    // Rejection keeps failing: draw uniformly among u's non-items by counting them.
    const o0 = this.seen.offsets[u]!;
    const free = this.items - (this.seen.offsets[u + 1]! - o0);
    if (free <= 0) return -1;
    let skip = this.rng.below(free);
    for (let j = 0, x = o0; j < this.items; j++) {
      if (x < this.seen.offsets[u + 1]! && this.seen.items[x] === j) {
        x++;
        continue;
      }
      if (skip-- === 0) return j;
    }
    return -1;
  }

  /** Whether u has a training interaction with j (binary search in u's sorted items). */
  private has(u: number, j: number): boolean {
    let lo = this.seen.offsets[u]!;
    let hi = this.seen.offsets[u + 1]!;
    const items = this.seen.items;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const v = items[mid]!;
      if (v === j) return true;
      if (v < j) lo = mid + 1;
      else hi = mid;
    }
    return false;
  }
}
