/** Largest identity hash (2^53 - 1): every member is an exact integer in a double. */
export const MAX_IDENTITY_HASH = Number.MAX_SAFE_INTEGER;

// Linear probing stays short while the table is at most half full.
const MAX_LOAD = 0.5;
const MIN_CAPACITY = 8;

/**
 * A set of 53-bit identity hashes (integers in 1..2^53-1) in one `Float64Array`: open
 * addressing with linear probing, 0 marking an empty slot, doubling when half full. It
 * costs 16–32 bytes per member in memory and 8 in a snapshot (`toFloat64Array` is dense).
 */
export class IdentitySet {
  private table: Float64Array;
  private mask: number;
  private count = 0;

  /** A set with room for `expected` members before it first grows. */
  constructor(expected = 0) {
    let capacity = MIN_CAPACITY;
    while (capacity * MAX_LOAD < expected) capacity *= 2;
    this.table = new Float64Array(capacity);
    this.mask = capacity - 1;
  }

  /** A set of the members `toFloat64Array` wrote (or any list of valid hashes; repeats count once). */
  static from(members: ArrayLike<number>): IdentitySet {
    const s = new IdentitySet(members.length);
    for (let i = 0; i < members.length; i++) s.add(members[i]!);
    return s;
  }

  get size(): number {
    return this.count;
  }

  /** Slots in the table now (a power of two). */
  get capacity(): number {
    return this.table.length;
  }

  has(hash: number): boolean {
    check(hash);
    const t = this.table;
    // The low 32 bits of a hash are the well-mixed lane (see interaction-identity.ts).
    for (let i = hash & this.mask; ; i = (i + 1) & this.mask) {
      const v = t[i]!;
      if (v === hash) return true;
      if (v === 0) return false;
    }
  }

  /** Adds `hash`; returns false when it was already a member. */
  add(hash: number): boolean {
    check(hash);
    if ((this.count + 1) > this.table.length * MAX_LOAD) this.grow();
    const t = this.table;
    for (let i = hash & this.mask; ; i = (i + 1) & this.mask) {
      const v = t[i]!;
      if (v === hash) return false;
      if (v === 0) {
        t[i] = hash;
        this.count++;
        return true;
      }
    }
  }

  /** The members in a dense array of their own (what a snapshot keeps). */
  toFloat64Array(): Float64Array {
    const out = new Float64Array(this.count);
    let n = 0;
    for (const v of this.table) if (v !== 0) out[n++] = v;
    return out;
  }

  private grow(): void {
    const old = this.table;
    this.table = new Float64Array(old.length * 2);
    this.mask = this.table.length - 1;
    this.count = 0;
    for (const v of old) if (v !== 0) this.add(v);
  }
}

function check(hash: number): void {
  if (!(Number.isInteger(hash) && hash >= 1 && hash <= MAX_IDENTITY_HASH)) throw new RangeError(`identity hash ${hash} is not an integer in 1..2^53-1`);
}
