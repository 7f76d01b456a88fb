/** Ids end in a sequence number whose last three digits come from this table. */
const BLOCK = 1000;
const LOW_DIGITS = Array.from({ length: BLOCK }, (_, i) => String(i).padStart(3, '0'));

/**
 * Message ids `prefix + n` for n = first, first + 1, …: the same strings as concatenating the
 * number, but the number is turned into digits once per thousand ids rather than per id
 * (per id it cost a third of an in-process tell).
 */
export class IdSequence {
  private seq: number;
  /** `prefix` plus the digits of `seq` above the last three, and the first number past that block. */
  private block = '';
  private blockEnd = 0;

  constructor(
    readonly prefix: string,
    first = 0,
  ) {
    this.seq = first;
  }

  next(): string {
    const seq = this.seq++;
    if (seq >= this.blockEnd) {
      if (seq < BLOCK) return this.prefix + seq;
      const high = Math.floor(seq / BLOCK);
      this.block = this.prefix + high;
      this.blockEnd = (high + 1) * BLOCK;
    }
    return this.block + LOW_DIGITS[seq % BLOCK]!;
  }

  /** Hands out the next `n` numbers as a range (ids `prefix + first` … `prefix + (first + n - 1)`); returns `first`. */
  take(n: number): number {
    const first = this.seq;
    this.seq += n;
    return first;
  }
}
