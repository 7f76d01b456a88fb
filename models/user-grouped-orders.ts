import type { RatingsTable } from './ratings.js';
import { Rng } from './rng.js';

/**
 * The order of each epoch of user-grouped SGD (SVD++): the users in a fresh seeded shuffle,
 * and each user's ratings together, themselves shuffled. Grouping lets a kernel compute a
 * user's implicit sum once per user instead of once per rating; shuffling both levels keeps
 * the epochs from following the file's order. Its stream is apart from the initial
 * factors' and from `EpochOrders`' (the seed is mixed differently).
 */
export class UserGroupedOrders {
  private readonly rng: Rng;
  /** Table rows grouped by user: user u's are `rows[offsets[u] .. offsets[u+1])`. */
  private readonly offsets: Uint32Array;
  private readonly rows: Uint32Array;
  private readonly userOrder: Uint32Array;
  private readonly order: Uint32Array;

  constructor(table: RatingsTable, seed: number) {
    this.rng = new Rng((seed ^ 0x27d4eb2f) >>> 0);
    const users = table.userCount;
    const offsets = new Uint32Array(users + 1);
    for (let j = 0; j < table.n; j++) offsets[table.users[j]! + 1]++;
    for (let u = 0; u < users; u++) offsets[u + 1] += offsets[u]!;
    const fill = offsets.slice(0, users);
    const rows = new Uint32Array(table.n);
    for (let j = 0; j < table.n; j++) rows[fill[table.users[j]!]!++] = j;
    this.offsets = offsets;
    this.rows = rows;
    this.userOrder = Uint32Array.from({ length: users }, (_, u) => u);
    this.order = new Uint32Array(table.n);
  }

  /** The next epoch's order. The same array each time, rewritten: copy it to keep one. */
  next(): Uint32Array {
    this.rng.shuffle(this.userOrder);
    let w = 0;
    for (let x = 0; x < this.userOrder.length; x++) {
      const u = this.userOrder[x]!;
      const run = this.rows.subarray(this.offsets[u]!, this.offsets[u + 1]!);
      this.rng.shuffle(run);
      this.order.set(run, w);
      w += run.length;
    }
    return this.order;
  }
}
