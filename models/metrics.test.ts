import { describe, expect, it } from 'vitest';
import { evaluateTopK, mae, rmse, userItemsOf, type Scorer, type UserItems } from './metrics.js';
import { RatingsTableBuilder } from './ratings.js';
import { Rng } from './rng.js';
import { TopK } from './top-k.js';

/** Compressed rows from one list of items per user. */
function rows(perUser: number[][]): UserItems {
  const offsets = new Uint32Array(perUser.length + 1);
  perUser.forEach((xs, u) => (offsets[u + 1] = offsets[u]! + xs.length));
  return { offsets, items: Uint32Array.from(perUser.flat()), users: perUser.length };
}

/** A scorer reading a fixed score table, one row per user. */
function fixed(scores: number[][]): Scorer {
  return { items: scores[0]!.length, score: (u, out) => out.set(scores[u]!) };
}

describe('rating metrics', () => {
  it('metrics - RMSE and MAE of a hand-made case', () => {
    expect(rmse([3, 4, 5], [4, 4, 3])).toBeCloseTo(Math.sqrt(5 / 3), 12);
    expect(mae([3, 4, 5], [4, 4, 3])).toBe(1);
    expect(() => rmse([1], [1, 2])).toThrow(/1 predictions for 2 ratings/);
  });
});

describe('top-k selection', () => {
  it('top-k - best first, ties to the lower index, NaN never, skipped items never', () => {
    const top = new TopK(3);
    const s = [0.5, 0.9, Number.NaN, 0.9, 0.1];
    expect(top.select(s, 5)).toBe(3);
    expect([...top.items]).toEqual([1, 3, 0]);
    expect(top.select(s, 5, Uint8Array.of(0, 1, 0, 0, 0))).toBe(3);
    expect([...top.items]).toEqual([3, 0, 4]);
    expect(top.select(s, 5, Uint8Array.of(1, 1, 0, 1, 0))).toBe(1);
    expect(top.items[0]).toBe(4);
  });

  it('top-k - agrees with a full sort on random scores with many ties', () => {
    const rng = new Rng(1);
    for (const [n, k] of [[1000, 10], [50, 50], [7, 20], [300, 1]] as const) {
      const s = Float32Array.from({ length: n }, () => rng.below(40) / 8);
      const skip = Uint8Array.from({ length: n }, () => (rng.below(5) === 0 ? 1 : 0));
      const want = [...s.keys()].filter((i) => !skip[i]).sort((a, b) => s[b]! - s[a]! || a - b).slice(0, k);
      const top = new TopK(k);
      const got = top.select(s, n, skip);
      expect([...top.items.subarray(0, got)]).toEqual(want);
    }
  });
});

describe('top-k metrics', () => {
  // User 0: trained on item 0 (scored highest), test items 2 and 4. User 1: trained on item 5
  // (scored highest), test item 0. User 2 has no test items and is not evaluated.
  const scores = [
    [10, 9, 8, 7, 6, 5],
    [1, 2, 3, 4, 5, 6],
    [6, 5, 4, 3, 2, 1],
  ];
  const train = rows([[0], [5], [1]]);
  const test = rows([[2, 4], [0], []]);

  it('metrics - Recall, NDCG, MRR, hit rate and coverage at 3 and 5 match a hand computation', () => {
    const [at3, at5] = evaluateTopK(fixed(scores), test, { ks: [3, 5], train });
    // @3: user 0 gets [1, 2, 3] (item 0 excluded): a hit at rank 2, recall 1/2,
    // NDCG (1/log2 3) / (1 + 1/log2 3), MRR 1/2. User 1 gets [4, 3, 2]: nothing.
    const ndcgU0 = 1 / Math.log2(3) / (1 + 1 / Math.log2(3));
    expect(at3!.users).toBe(2);
    expect(at3!.recall).toBeCloseTo(0.25, 12);
    expect(at3!.ndcg).toBeCloseTo(ndcgU0 / 2, 12);
    expect(at3!.ndcg).toBeCloseTo(0.1934264, 6);
    expect(at3!.mrr).toBeCloseTo(0.25, 12);
    expect(at3!.hitRate).toBe(0.5);
    expect(at3!.coverage).toBeCloseTo(4 / 6, 12); // items 1, 2, 3, 4
    // @5: user 0 gets [1, 2, 3, 4, 5]: hits at ranks 2 and 4, NDCG (1/log2 3 + 1/log2 5) / (1 + 1/log2 3).
    // User 1 gets [4, 3, 2, 1, 0]: a hit at rank 5, NDCG (1/log2 6) / 1 (ideal over min(1, 5) = 1), MRR 1/5.
    const ndcg5U0 = (1 / Math.log2(3) + 1 / Math.log2(5)) / (1 + 1 / Math.log2(3));
    expect(at5!.recall).toBe(1);
    expect(at5!.ndcg).toBeCloseTo((ndcg5U0 + 1 / Math.log2(6)) / 2, 12);
    expect(at5!.ndcg).toBeCloseTo(0.5188869, 6);
    expect(at5!.mrr).toBeCloseTo((1 / 2 + 1 / 5) / 2, 12);
    expect(at5!.hitRate).toBe(1);
    expect(at5!.coverage).toBe(1);
  });

  it('metrics - training items are never ranked, however high they score; exclude leaves out more', () => {
    // User 0's test item 1 is second to its training item 0: at 1 it is a hit only because item 0 is left out.
    const s = [[9, 8, 7, 1]];
    const [withTrain] = evaluateTopK(fixed(s), rows([[1]]), { ks: [1], train: rows([[0]]) });
    expect(withTrain!.recall).toBe(1);
    const [noTrain] = evaluateTopK(fixed(s), rows([[1]]), { ks: [1], train: rows([[]]) });
    expect(noTrain!.recall).toBe(0);
    // A validation item (2) excluded too: with test item 3 at 2, items 0, 1, 2 are all left out.
    const [excluded] = evaluateTopK(fixed(s), rows([[3]]), { ks: [1], train: rows([[0, 1]]), exclude: rows([[2]]) });
    expect(excluded!.recall).toBe(1);
    const [notExcluded] = evaluateTopK(fixed(s), rows([[3]]), { ks: [1], train: rows([[0, 1]]) });
    expect(notExcluded!.recall).toBe(0);
  });

  it('metrics - a test item the model cannot rank still counts in recall and the ideal DCG', () => {
    // Item 7 is past the scorer's 4 items (unseen in training): user 0 can hit item 1 only.
    const [m] = evaluateTopK(fixed([[1, 5, 2, 3]]), rows([[1, 7]]), { ks: [2], train: rows([[]]) });
    expect(m!.recall).toBe(0.5);
    expect(m!.ndcg).toBeCloseTo(1 / (1 + 1 / Math.log2(3)), 12);
  });

  it('metrics - with more test items than K, a top K of hits is NDCG 1 (ideal DCG over min(|test|, K))', () => {
    const [at2, at4] = evaluateTopK(fixed([[5, 4, 3, 2, 1]]), rows([[0, 1, 2]]), { ks: [2, 4], train: rows([[]]) });
    expect(at2!.ndcg).toBe(1);
    expect(at2!.recall).toBeCloseTo(2 / 3, 12);
    expect(at4!.ndcg).toBe(1);
    expect(at4!.recall).toBe(1);
  });

  it('metrics - userItemsOf gives each user distinct items in ascending order', () => {
    const b = new RatingsTableBuilder();
    for (const [u, i] of [['a', 'z'], ['b', 'y'], ['a', 'x'], ['a', 'z'], ['c', 'x']] as const) b.add(u, i, 1);
    const ui = userItemsOf(b.build());
    // Items: z 0, y 1, x 2.
    expect([...ui.offsets]).toEqual([0, 2, 3, 4]);
    expect([...ui.items]).toEqual([0, 2, 1, 2]);
  });

  it('metrics - bad cut-offs are refused', () => {
    expect(() => evaluateTopK(fixed(scores), test, { ks: [0], train })).toThrow(/cut-offs must be whole numbers/);
  });
});
