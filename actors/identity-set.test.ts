import { describe, expect, it } from 'vitest';
import { memorySnapshotStore } from '../runtime/index.js';
import { IdentitySet, MAX_IDENTITY_HASH } from './identity-set.js';
import { interactionHash } from './interaction-identity.js';

describe('identity set', () => {
  it('identity set - add answers whether the hash was new; has finds what was added', () => {
    const s = new IdentitySet();
    expect(s.has(42)).toBe(false);
    expect(s.add(42)).toBe(true);
    expect(s.add(42)).toBe(false);
    expect(s.add(MAX_IDENTITY_HASH)).toBe(true);
    expect(s.has(42) && s.has(MAX_IDENTITY_HASH)).toBe(true);
    expect(s.has(43)).toBe(false);
    expect(s.size).toBe(2);
  });

  it('identity set - grows by doubling and keeps every member', () => {
    const s = new IdentitySet();
    expect(s.capacity).toBe(8);
    // Hashes equal in their low bits probe the same slots: growth must still place them all.
    for (let i = 1; i <= 100; i++) s.add(i * 2 ** 32 + 7);
    expect(s.capacity).toBe(256);
    expect(s.size).toBe(100);
    for (let i = 1; i <= 100; i++) expect(s.has(i * 2 ** 32 + 7)).toBe(true);
    expect(new IdentitySet(1000).capacity).toBe(2048);
  });

  it('identity set - round-trips through a dense Float64Array and a snapshot store', async () => {
    const s = new IdentitySet();
    const members = [1, 2, 3, 2 ** 40 + 5, MAX_IDENTITY_HASH];
    for (const m of members) s.add(m);
    const dense = s.toFloat64Array();
    expect(dense).toBeInstanceOf(Float64Array);
    expect([...dense].sort((a, b) => a - b)).toEqual(members);
    // The memory store encodes with the snapshot codec (msgpackr, moreTypes), as JetStream KV's does.
    const store = memorySnapshotStore();
    await store.save('title', 't1', { data: { applied: dense }, epoch: 0, savedAt: 0 }, 0);
    const applied = ((await store.load('title', 't1')).snapshot?.data as { applied: unknown }).applied;
    expect(applied).toBeInstanceOf(Float64Array);
    const t = IdentitySet.from(applied as Float64Array);
    expect(t.size).toBe(members.length);
    for (const m of members) expect(t.has(m)).toBe(true);
    expect(IdentitySet.from(new Float64Array(0)).size).toBe(0);
  });

  it('identity set - refuses what is not a 53-bit hash', () => {
    const s = new IdentitySet();
    for (const bad of [0, -1, 1.5, 2 ** 53, Number.NaN]) expect(() => s.add(bad)).toThrow(RangeError);
  });

  it('identity set - 200,000 interaction hashes: no false negatives, no collisions', () => {
    const s = new IdentitySet();
    const hashes = new Float64Array(200_000);
    let repeats = 0;
    let missing = 0;
    for (let i = 0; i < hashes.length; i++) {
      hashes[i] = interactionHash({ eventId: '', userId: String(i % 943), titleId: String(i % 1682), type: 'RATING', value: 3, eventTimeMs: 881_250_949_000 + i });
      if (!s.add(hashes[i]!)) repeats++;
    }
    for (const h of hashes) if (!s.has(h)) missing++;
    expect({ repeats, missing, size: s.size }).toEqual({ repeats: 0, missing: 0, size: hashes.length });
    expect(IdentitySet.from(s.toFloat64Array()).size).toBe(hashes.length);
  });
});
