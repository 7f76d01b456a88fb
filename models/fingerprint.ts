import type { RatingsTable } from './ratings.js';

/**
 * The data fingerprint a model manifest records: 64-bit FNV-1a, as 16 hex digits, of the
 * table's text form, one line `user<TAB>item<TAB>rating<LF>` per rating in the table's order
 * (external ids, UTF-8; the rating as JavaScript prints it). Anyone can recompute it from
 * the same ratings without reel.
 *
 * Order counts on purpose: indices are given in order of first appearance, so the order of
 * the ratings decides which rows the seeded initial factors go to; the same fingerprint,
 * seed and hyperparameters give the same model.
 */
export function fingerprint(table: RatingsTable): string {
  const h = new Fnv1a64();
  const users = idStrings(table.userIds, table.userCount);
  const items = idStrings(table.itemIds, table.itemCount);
  const ratingText = new Map<number, string>();
  for (let j = 0; j < table.n; j++) {
    const r = table.ratings[j]!;
    let text = ratingText.get(r);
    if (text === undefined) ratingText.set(r, (text = String(r)));
    h.text(users[table.users[j]!]!);
    h.byte(0x09);
    h.text(items[table.items[j]!]!);
    h.byte(0x09);
    h.text(text);
    h.byte(0x0a);
  }
  return h.hex();
}

function idStrings(index: { idOf(i: number): string }, count: number): string[] {
  return Array.from({ length: count }, (_, i) => index.idOf(i));
}

/**
 * FNV-1a with the 64-bit offset basis and prime, kept in two 32-bit halves (no BigInt on a
 * path that hashes millions of lines). The prime is 2^40 + 0x1b3, so h × prime is
 * h × 0x1b3 plus h shifted left by 40: the low half shifted by 8 lands in the high half.
 */
class Fnv1a64 {
  private hi = 0xcbf29ce4;
  private lo = 0x84222325;

  byte(b: number): void {
    const lo = (this.lo ^ b) >>> 0;
    const low = lo * 0x1b3; // < 2^41: exact in a double
    const carry = Math.floor(low / 4294967296);
    this.hi = (this.hi * 0x1b3 + carry + ((lo << 8) >>> 0)) >>> 0;
    this.lo = low >>> 0;
  }

  /** The UTF-8 bytes of `s`. */
  text(s: string): void {
    for (let i = 0; i < s.length; i++) {
      let c = s.charCodeAt(i);
      if (c < 0x80) {
        this.byte(c);
        continue;
      }
      // A surrogate pair is one code point of four UTF-8 bytes.
      if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.length) {
        const d = s.charCodeAt(i + 1);
        if (d >= 0xdc00 && d < 0xe000) {
          c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
          i++;
        }
      }
      if (c < 0x800) {
        this.byte(0xc0 | (c >> 6));
      } else if (c < 0x10000) {
        this.byte(0xe0 | (c >> 12));
        this.byte(0x80 | ((c >> 6) & 0x3f));
      } else {
        this.byte(0xf0 | (c >> 18));
        this.byte(0x80 | ((c >> 12) & 0x3f));
        this.byte(0x80 | ((c >> 6) & 0x3f));
      }
      this.byte(0x80 | (c & 0x3f));
    }
  }

  hex(): string {
    return this.hi.toString(16).padStart(8, '0') + this.lo.toString(16).padStart(8, '0');
  }
}
