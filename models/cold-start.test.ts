import { describe, expect, it } from 'vitest';
import { coldStartSplit, evaluateColdStart, genreColdScorer, genreYearColdScorer, randomColdScorer, type ColdInteraction, type ColdTitle } from './cold-start.js';

/** 40 titles: even ids Comedy, odd ids Drama; years 1950 + 2 × id. */
const titles: ColdTitle[] = Array.from({ length: 40 }, (_, i) => ({ id: `t${String(i).padStart(2, '0')}`, genres: [i % 2 === 0 ? 'Comedy' : 'Drama'], year: 1950 + 2 * i }));

describe('cold start', () => {
  it('cold start - the split holds out a seeded share of titles, the same for the same seed whatever the input order; their interactions go to test, the rest to training', () => {
    const interactions: ColdInteraction[] = [];
    for (let u = 0; u < 10; u++) for (const t of titles) interactions.push({ user: `u${u}`, item: t.id });
    const a = coldStartSplit(titles, interactions, { seed: 7, fraction: 0.1 });
    const b = coldStartSplit([...titles].reverse(), interactions, { seed: 7, fraction: 0.1 });
    const c = coldStartSplit(titles, interactions, { seed: 8, fraction: 0.1 });
    expect(a.heldOut).toHaveLength(4);
    expect(a.heldOut.map((t) => t.id)).toEqual(b.heldOut.map((t) => t.id));
    expect(a.heldOut.map((t) => t.id)).not.toEqual(c.heldOut.map((t) => t.id));
    const held = new Set(a.heldOut.map((t) => t.id));
    expect(a.train.some((it) => held.has(it.item))).toBe(false);
    expect(a.train).toHaveLength(10 * 36);
    expect(a.users).toHaveLength(10);
    // Every user watched every held-out title: each has all four in test.
    for (let u = 0; u < a.test.users; u++) expect(Array.from(a.test.items.subarray(a.test.offsets[u]!, a.test.offsets[u + 1]!))).toEqual([0, 1, 2, 3]);
    expect(() => coldStartSplit(titles, interactions, { seed: 1, fraction: 1 })).toThrow(/between 0 and 1/);
  });

  it('cold start - recall and NDCG at k rank the held-out titles against each other: a perfect scorer gets 1, the reverse of it less, random about k / titles', () => {
    // 100 titles, 20 held out; each user watched exactly the two held-out Comedies with the lowest ids.
    const many: ColdTitle[] = Array.from({ length: 100 }, (_, i) => ({ id: `m${String(i).padStart(3, '0')}`, genres: ['Comedy'] }));
    const interactions: ColdInteraction[] = [];
    const split0 = coldStartSplit(many, [], { seed: 3, fraction: 0.2 });
    const target = split0.heldOut.slice(0, 2).map((t) => t.id);
    for (let u = 0; u < 200; u++) for (const t of target) interactions.push({ user: `u${u}`, item: t });
    const split = coldStartSplit(many, interactions, { seed: 3, fraction: 0.2 });
    const perfect = evaluateColdStart(split, (_u, out) => out.forEach((_, i) => (out[i] = -i)), 2);
    expect(perfect).toEqual({ recall: 1, ndcg: 1, users: 200 });
    const worst = evaluateColdStart(split, (_u, out) => out.forEach((_, i) => (out[i] = i)), 2);
    expect(worst.recall).toBe(0);
    const random = evaluateColdStart(split, randomColdScorer(1), 5);
    expect(random.recall).toBeGreaterThan(0.15);
    expect(random.recall).toBeLessThan(0.35); // 5 of 20 titles: 0.25 expected
  });

  it('cold start - genre affinity is the mean of the user\'s genre shares over a title\'s genres; the year prior multiplies it by the share of training in the title\'s 5-year bucket', () => {
    const all: ColdTitle[] = [
      { id: 'A', genres: ['Comedy'], year: 1991 },
      { id: 'B', genres: ['Comedy', 'Drama'], year: 1971 },
      { id: 'C', genres: ['Horror'], year: 1992 },
      { id: 'D', genres: [] },
      { id: 'w1', genres: ['Comedy'], year: 1993 },
      { id: 'w2', genres: ['Comedy'], year: 1994 },
      { id: 'w3', genres: ['Drama'], year: 1972 },
      { id: 'w4', genres: ['Western'], year: 1990 },
    ];
    // u0 watched two Comedies, a Drama and a Western: shares 1/2, 1/4 and 1/4.
    const train: ColdInteraction[] = ['w1', 'w2', 'w3', 'w4'].map((item) => ({ user: 'u0', item }));
    const split = { seed: 0, fraction: 0.5, heldOut: all.slice(0, 4), train, users: ['u0'], test: { offsets: Uint32Array.of(0, 1), items: Uint32Array.of(0), users: 1 } };
    const genre = new Float32Array(4);
    genreColdScorer(split, all)(0, genre);
    expect(Array.from(genre)).toEqual([0.5, Math.fround((0.5 + 0.25) / 2), 0, 0]);
    const year = new Float32Array(4);
    genreYearColdScorer(split, all)(0, year);
    // Buckets: 1990-94 holds 3 of the 4 training interactions, 1970-74 one.
    expect(Array.from(year)).toEqual([Math.fround(0.5 * 0.75), Math.fround(Math.fround((0.5 + 0.25) / 2) * 0.25), 0, 0]);
    // A ranks first for both: recall at 1 of the user's one held-out title (A) is 1.
    expect(evaluateColdStart(split, genreYearColdScorer(split, all), 1).recall).toBe(1);
  });
});
