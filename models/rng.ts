/**
 * A small seeded PRNG for everything random in training (initial factors, the order of each
 * epoch, data splits): xoshiro128** seeded through splitmix32. Its state is four 32-bit words,
 * so a WebAssembly kernel or another process can reproduce a stream exactly; `Math.random()`
 * is never used, and the same seed gives the same model on every machine.
 */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    // splitmix32 spreads a small integer seed (0, 1, 2, …) over the whole state.
    let s = seed >>> 0;
    const next = () => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
  }

  /** The next 32 random bits, as an unsigned integer. */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  /** A uniform number in [0, 1) with 32 random bits. */
  next(): number {
    return this.nextU32() / 4294967296;
  }

  /**
   * A uniform integer in [0, n), n ≤ 2^32, by multiply-shift: its bias is below n / 2^32
   * (under 1% even for 25 million ratings), which shuffling and sampling do not notice.
   */
  below(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** A standard normal number (Box–Muller; one of the pair is dropped to keep no state). */
  normal(): number {
    // 1 - next() is in (0, 1]: log(0) is never taken.
    const r = Math.sqrt(-2 * Math.log(1 - this.next()));
    return r * Math.cos(2 * Math.PI * this.next());
  }

  /** Shuffles `a` in place (Fisher–Yates): every order equally likely. */
  shuffle(a: Uint32Array): Uint32Array {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.below(i + 1);
      const t = a[i]!;
      a[i] = a[j]!;
      a[j] = t;
    }
    return a;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** 0, 1, …, n-1: the identity order, to shuffle. */
export function identityOrder(n: number): Uint32Array {
  const a = new Uint32Array(n);
  for (let i = 0; i < n; i++) a[i] = i;
  return a;
}

/**
 * The order of each epoch of SGD over n rows: a fresh seeded shuffle before every epoch, so
 * that no epoch sees the file's order (MovieLens files are sorted by user) and a run is
 * reproducible. Its stream is apart from the initial factors' (the seed is mixed), so that
 * changing the number of factors keeps the orders.
 */
export class EpochOrders {
  private readonly rng: Rng;
  private order: Uint32Array;
  /** Above `BUCKETED_SHUFFLE_ROWS`: the other buffer and the bucket of each row. */
  private spare: Uint32Array | undefined;
  private tags: Uint8Array | undefined;

  constructor(n: number, seed: number) {
    this.rng = new Rng((seed ^ 0x5bd1e995) >>> 0);
    this.order = identityOrder(n);
  }

  /** The next epoch's order. Valid until the next call (the buffer is reused): copy it to keep one. */
  next(): Uint32Array {
    if (this.order.length < BUCKETED_SHUFFLE_ROWS) return this.rng.shuffle(this.order);
    this.spare ??= new Uint32Array(this.order.length);
    this.tags ??= new Uint8Array(this.order.length);
    const out = bucketedShuffle(this.rng, this.order, this.spare, this.tags);
    this.spare = this.order;
    this.order = out;
    return out;
  }
}

/**
 * From this many rows an epoch's order is shuffled in buckets (`bucketedShuffle`): a
 * Fisher–Yates pass over millions of rows misses the cache at every swap (0.5–0.9 s for 10
 * million rows here); in buckets it is about three times faster. Below, Fisher–Yates.
 */
export const BUCKETED_SHUFFLE_ROWS = 1 << 21;

/**
 * A uniformly random permutation of `src` into `dst` (Rao–Sandelius): every row goes to one of
 * B buckets drawn uniformly and independently, the buckets are laid out one after another,
 * and each is shuffled by Fisher–Yates. Every order is equally likely, as with one
 * Fisher–Yates pass, but the scatter writes B sequential streams and each bucket's shuffle
 * (about 64 K rows) stays in cache. `tags` has room for a byte per row.
 */
export function bucketedShuffle(rng: Rng, src: Uint32Array, dst: Uint32Array, tags: Uint8Array): Uint32Array {
  const n = src.length;
  const bits = Math.max(1, Math.min(8, Math.ceil(Math.log2(n / 65536))));
  const B = 1 << bits;
  const shift = 32 - bits;
  const start = new Uint32Array(B + 1);
  for (let i = 0; i < n; i++) {
    const b = rng.nextU32() >>> shift;
    tags[i] = b;
    start[b + 1]!++;
  }
  for (let b = 0; b < B; b++) start[b + 1]! += start[b]!;
  const at = start.slice(0, B);
  for (let i = 0; i < n; i++) dst[at[tags[i]!]!++] = src[i]!;
  for (let b = 0; b < B; b++) {
    const lo = start[b]!;
    for (let i = start[b + 1]! - lo - 1; i > 0; i--) {
      const j = lo + rng.below(i + 1);
      const t = dst[lo + i]!;
      dst[lo + i] = dst[j]!;
      dst[j] = t;
    }
  }
  return dst;
}
