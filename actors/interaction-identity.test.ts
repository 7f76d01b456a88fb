import { describe, expect, it } from 'vitest';
import { MAX_IDENTITY_HASH } from './identity-set.js';
import { interactionHash } from './interaction-identity.js';
import type { InteractionBody } from './messages.js';

const ev = (over: Partial<InteractionBody> = {}): InteractionBody => ({ eventId: '', userId: 'u1', titleId: 't1', type: 'RATING', value: 4, eventTimeMs: 1000, ...over });

describe('interaction identity', () => {
  it('identity - a non-empty eventId is the identity, whatever else differs', () => {
    expect(interactionHash(ev({ eventId: 'e1' }))).toBe(interactionHash(ev({ eventId: 'e1', titleId: 't2', eventTimeMs: 5, value: 1, type: 'PLAY' })));
    expect(interactionHash(ev({ eventId: 'e1' }))).not.toBe(interactionHash(ev({ eventId: 'e2' })));
  });

  it('identity - without eventId it is (userId, titleId, eventTimeMs, type), not value', () => {
    const base = interactionHash(ev());
    expect(interactionHash(ev({ value: 2 }))).toBe(base);
    const others = [ev({ userId: 'u2' }), ev({ titleId: 't2' }), ev({ eventTimeMs: 1001 }), ev({ eventTimeMs: 1000 + 2 ** 32 }), ev({ type: 'PLAY' })];
    for (const other of others) expect(interactionHash(other), JSON.stringify(other)).not.toBe(base);
    // Ids that would run together without the length prefixes stay apart.
    expect(interactionHash(ev({ userId: 'u1t', titleId: '1' }))).not.toBe(base);
    // An event id never stands for a tuple.
    expect(interactionHash(ev({ eventId: 'u1t1' }))).not.toBe(base);
  });

  it('identity - the hash is a stable 53-bit integer (snapshots keep it: changing it forgets what was applied)', () => {
    const samples = [ev(), ev({ eventId: 'e1' }), ev({ userId: '196', titleId: '242', eventTimeMs: 881_250_949_000, value: 3 }), ev({ eventId: 'é🎬' })];
    const hashes = samples.map(interactionHash);
    for (const h of hashes) expect(Number.isInteger(h) && h >= 1 && h <= MAX_IDENTITY_HASH, String(h)).toBe(true);
    expect(hashes).toEqual([8990961897463387, 2210583860912810, 342936779445990, 3119522896505006]);
  });

  it('identity - both lanes carry information: the high 21 bits vary with the input', () => {
    const highs = new Set<number>();
    for (let i = 0; i < 1000; i++) highs.add(Math.floor(interactionHash(ev({ eventTimeMs: i })) / 2 ** 32));
    expect(highs.size).toBeGreaterThan(990);
  });
});
