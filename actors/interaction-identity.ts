import { fmix32 } from '../runtime/index.js';
import type { InteractionBody } from './messages.js';

/**
 * What makes two interactions the same one: the client's event id when it gave one, else
 * (userId, titleId, eventTimeMs, type), so that the same rating read twice counts once.
 */
export function interactionIdentity(b: InteractionBody): string {
  // The prefixes keep an event id from ever equalling a tuple; the user id's length makes
  // the boundary between user and title ids unambiguous whatever characters they hold.
  return b.eventId !== '' ? `e:${b.eventId}` : `t:${b.type}:${b.eventTimeMs}:${b.userId.length}:${b.userId}${b.titleId}`;
}

/** One 32-bit lane: a murmur2-style multiply and xorshift per UTF-16 unit, then fmix32. */
function lane(s: string, seed: number, multiplier: number): number {
  let h = seed;
  for (let i = 0; i < s.length; i++) {
    h = Math.imul(h ^ s.charCodeAt(i), multiplier);
    h ^= h >>> 15;
  }
  return fmix32(h ^ s.length);
}

/**
 * A 53-bit hash of a string, in 1..2^53-1: two independent 32-bit lanes (own seeds and
 * multipliers) give the low 32 bits and the high 21. For n identities in one actor, the
 * chance that any two share a hash is about n²/2^54: 6e-9 for 10,000, 6e-7 for 100,000.
 * A collision makes one interaction look like a repeat of another, and it is not applied.
 * Snapshots keep these hashes: changing the function forgets what actors applied.
 */
export function identityHash(s: string): number {
  // Not FNV-1a (shard.ts): on MovieLens-like tuples it gave ~20% more 32-bit collisions than chance.
  const lo = lane(s, 0x9e3779b9, 0x5bd1e995);
  const hi = lane(s, 0x85ebca6b, 0xcc9e2d51) & 0x1fffff;
  // 0 marks an empty slot in IdentitySet; the strings hashing to it share 1 instead.
  return hi * 0x1_0000_0000 + lo || 1;
}

/** The 53-bit hash of an interaction's identity: what actors remember of each they applied. */
export function interactionHash(b: InteractionBody): number {
  return identityHash(interactionIdentity(b));
}
