import { describe, expect, it } from 'vitest';
import { MAX_IDENTITY_HASH } from './identity-set.js';
import { identityHash, interactionHash, interactionIdentity } from './interaction-identity.js';
import type { InteractionBody } from './messages.js';

const ev = (over: Partial<InteractionBody> = {}): InteractionBody => ({ eventId: '', userId: 'u1', titleId: 't1', type: 'RATING', value: 4, eventTimeMs: 1000, ...over });

describe('interaction identity', () => {
  it('identity - a non-empty eventId is the identity, whatever else differs', () => {
    expect(interactionIdentity(ev({ eventId: 'e1' }))).toBe(interactionIdentity(ev({ eventId: 'e1', titleId: 't2', eventTimeMs: 5, value: 1 })));
    expect(interactionIdentity(ev({ eventId: 'e1' }))).not.toBe(interactionIdentity(ev({ eventId: 'e2' })));
  });

  it('identity - without eventId it is (userId, titleId, eventTimeMs, type), not value', () => {
    const base = interactionIdentity(ev());
    expect(interactionIdentity(ev({ value: 2 }))).toBe(base);
    for (const other of [ev({ userId: 'u2' }), ev({ titleId: 't2' }), ev({ eventTimeMs: 1001 }), ev({ type: 'PLAY' })]) {
      expect(interactionIdentity(other)).not.toBe(base);
    }
    // Ids that would run together without the length prefix stay apart.
    expect(interactionIdentity(ev({ userId: 'u1t', titleId: '1' }))).not.toBe(interactionIdentity(ev({ userId: 'u1', titleId: 't1' })));
    // An event id never equals a tuple.
    expect(interactionIdentity(ev({ eventId: base }))).not.toBe(base);
  });

  it('identity - the hash is a stable 53-bit integer (snapshots keep it: changing it forgets what was applied)', () => {
    for (const s of ['', 'e:1', 't:RATING:881250949000:3:196242', 'é🎬']) {
      const h = identityHash(s);
      expect(Number.isInteger(h) && h >= 1 && h <= MAX_IDENTITY_HASH, s).toBe(true);
    }
    expect([identityHash(''), identityHash('e:1'), identityHash('t:RATING:881250949000:3:196242')]).toEqual([5197458351730446, 7897177757221412, 4899084825188101]);
    expect(interactionHash(ev({ eventId: 'e1' }))).toBe(identityHash('e:e1'));
  });

  it('identity - both lanes carry information: the high 21 bits vary with the input', () => {
    const highs = new Set<number>();
    for (let i = 0; i < 1000; i++) highs.add(Math.floor(identityHash(`e:${i}`) / 2 ** 32));
    expect(highs.size).toBeGreaterThan(990);
  });
});
