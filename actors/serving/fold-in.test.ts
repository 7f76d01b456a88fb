import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../data/random.js';
import { foldIn, type FoldEntry } from './fold-in.js';
import { DEFAULT_INTERACTION_WEIGHTS, parseInteractionWeights } from './interaction-weights.js';
import { TitleMatrix } from './title-matrix.js';

/** `n` titles of `f` random factors and a bias, as a version's title rows. */
function matrix(n: number, f: number, fit: TitleMatrix['fit']): TitleMatrix {
  const rnd = mulberry32(7);
  const rows = new Float32Array(n * (f + 1));
  for (let i = 0; i < rows.length; i++) rows[i] = (rnd() - 0.5) * 0.8;
  return new TitleMatrix('v', f, Array.from({ length: n }, (_, i) => `t${i}`), rows, fit);
}

const dot = (m: TitleMatrix, p: Float32Array, t: string) => {
  const r = m.rowOf(t)!;
  let s = m.rows[r * (m.factors + 1) + m.factors]!;
  for (let x = 0; x < m.factors; x++) s += p[x]! * m.rows[r * (m.factors + 1) + x]!;
  return s;
};

describe('fold-in', () => {
  it('fold-in - recovers the row that generated a user\'s ratings against fixed title rows (regularisation small)', () => {
    const f = 8;
    const m = matrix(200, f, { model: 'mf', mean: 3.5, reg: 1e-6, trainedAtMs: 0 });
    const truth = Float32Array.from({ length: f + 1 }, (_, i) => (i === f ? 0.3 : Math.sin(i + 1) * 0.5));
    const history: FoldEntry[] = [];
    for (let i = 0; i < 60; i++) {
      const r = m.rowOf(`t${i}`)!;
      let rating = 3.5 + m.rows[r * (f + 1) + f]! + truth[f]!;
      for (let x = 0; x < f; x++) rating += truth[x]! * m.rows[r * (f + 1) + x]!;
      history.push({ titleId: `t${i}`, rating, type: 'RATING', disliked: false });
    }
    // A title without a row is left out, not an error.
    history.push({ titleId: 'unknown', rating: 5, type: 'RATING', disliked: false });
    const row = foldIn(m, history)!;
    for (let x = 0; x <= f; x++) expect(row[x]).toBeCloseTo(truth[x]!, 3);
    expect(foldIn(m, [{ titleId: 'unknown', rating: 4, type: 'RATING', disliked: false }])).toBeUndefined();
  });

  it('fold-in - a ranking model (BPR): titles like the liked ones rank above titles like the disliked ones', () => {
    const m = matrix(100, 8, { model: 'bpr', mean: 0, reg: 0.05, trainedAtMs: 0 });
    const liked = ['t1', 't2', 't3', 't4'];
    const disliked = ['t5', 't6', 't7', 't8'];
    const row = foldIn(m, [...liked.map((t) => ({ titleId: t, rating: NaN, type: 'PLAY' as const, disliked: false })), ...disliked.map((t) => ({ titleId: t, rating: NaN, type: 'THUMBS_DOWN' as const, disliked: true }))])!;
    const mean = (ts: string[]) => ts.reduce((s, t) => s + dot(m, row, t), 0) / ts.length;
    expect(mean(liked)).toBeGreaterThan(mean(disliked));
  });

  it('fold-in - the default weights: a play stands for a rating of 4 at half a rating\'s weight, a thumbs-down for 1 at a rating\'s; an entry kept without a type counts as a play', () => {
    const m = matrix(50, 6, { model: 'mf', mean: 3.5, reg: 0.05, trainedAtMs: 0 });
    const play = foldIn(m, [{ titleId: 't1', rating: NaN, type: 'PLAY', disliked: false }])!;
    const four = foldIn(m, [{ titleId: 't1', rating: 4, type: 'RATING', disliked: false }], { ...DEFAULT_INTERACTION_WEIGHTS, RATING: 0.5 })!;
    for (let x = 0; x < play.length; x++) expect(play[x]).toBeCloseTo(four[x]!, 6);
    const untyped = foldIn(m, [{ titleId: 't1', rating: NaN, type: 'UNSPECIFIED', disliked: false }])!;
    expect([...untyped]).toEqual([...play]);
    const down = foldIn(m, [{ titleId: 't3', rating: NaN, type: 'THUMBS_DOWN', disliked: true }])!;
    const one = foldIn(m, [{ titleId: 't3', rating: 1, type: 'RATING', disliked: false }])!;
    for (let x = 0; x < down.length; x++) expect(down[x]).toBeCloseTo(one[x]!, 6);
  });

  it('fold-in - an impression (weight 0 by default) changes nothing, not even the regularisation; given a weight, it counts as liking the title', () => {
    const m = matrix(50, 6, { model: 'mf', mean: 3.5, reg: 0.05, trainedAtMs: 0 });
    const base: FoldEntry[] = [{ titleId: 't1', rating: 5, type: 'RATING', disliked: false }, { titleId: 't2', rating: 2, type: 'RATING', disliked: false }];
    const seen: FoldEntry[] = ['t3', 't4', 't5', 't6'].map((t) => ({ titleId: t, rating: NaN, type: 'IMPRESSION', disliked: false }));
    expect([...foldIn(m, [...base, ...seen])!]).toEqual([...foldIn(m, base)!]);
    expect(foldIn(m, seen)).toBeUndefined();
    const counted = foldIn(m, [...base, ...seen], parseInteractionWeights('IMPRESSION=0.5'))!;
    expect([...counted]).not.toEqual([...foldIn(m, base)!]);
  });

  it('fold-in - a type weighted higher pulls the row further toward what it implies: the title scores higher after a heavier play', () => {
    const m = matrix(80, 8, { model: 'mf', mean: 3.5, reg: 0.05, trainedAtMs: 0 });
    // A user who rated a few titles low, then played t9.
    const history: FoldEntry[] = [
      ...['t1', 't2', 't3', 't4'].map((t) => ({ titleId: t, rating: 1.5, type: 'RATING' as const, disliked: false })),
      { titleId: 't9', rating: NaN, type: 'PLAY', disliked: false },
    ];
    const scoreOf = (w: string) => dot(m, foldIn(m, history, parseInteractionWeights(w))!, 't9');
    const light = scoreOf('PLAY=0.1');
    const normal = scoreOf('PLAY=0.5');
    const heavy = scoreOf('PLAY=3');
    expect(normal).toBeGreaterThan(light);
    expect(heavy).toBeGreaterThan(normal);
    // Weight 0 leaves the play out altogether.
    const none = foldIn(m, history, parseInteractionWeights('PLAY=0'))!;
    expect([...none]).toEqual([...foldIn(m, history.slice(0, 4))!]);
  });

  it('fold-in - a thumbs-down pushes the disliked title and its close neighbours down; a heavier THUMBS_DOWN weight further', () => {
    const m = matrix(80, 8, { model: 'mf', mean: 3.5, reg: 0.05, trainedAtMs: 0 });
    const liked: FoldEntry[] = ['t1', 't2', 't3'].map((t) => ({ titleId: t, rating: 4.5, type: 'RATING', disliked: false }));
    const down: FoldEntry = { titleId: 't10', rating: NaN, type: 'THUMBS_DOWN', disliked: true };
    const neighbour = [...Array(80).keys()].map((i) => `t${i}`).filter((t) => t !== 't10').sort((a, b) => m.cosine(m.rowOf(b)!, m.rowOf('t10')!) - m.cosine(m.rowOf(a)!, m.rowOf('t10')!))[0]!;
    const without = foldIn(m, liked)!;
    const light = foldIn(m, [...liked, down])!;
    const heavy = foldIn(m, [...liked, down], parseInteractionWeights('THUMBS_DOWN=4'))!;
    for (const t of ['t10', neighbour]) {
      expect(dot(m, light, t), t).toBeLessThan(dot(m, without, t));
      expect(dot(m, heavy, t), t).toBeLessThan(dot(m, light, t));
    }
  });
});

describe('interaction weights', () => {
  it('weights - TYPE=WEIGHT entries over the defaults, any case, with or without the enum prefix', () => {
    expect(DEFAULT_INTERACTION_WEIGHTS).toEqual({ PLAY: 0.5, COMPLETE: 0.5, RATING: 1, THUMBS_UP: 0.5, THUMBS_DOWN: 1, IMPRESSION: 0, ADD_TO_LIST: 0.5 });
    expect(parseInteractionWeights('PLAY=0.25, complete=1,INTERACTION_TYPE_IMPRESSION=0.1')).toEqual({ ...DEFAULT_INTERACTION_WEIGHTS, PLAY: 0.25, COMPLETE: 1, IMPRESSION: 0.1 });
    expect(parseInteractionWeights('THUMBS_DOWN=0')).toMatchObject({ THUMBS_DOWN: 0 });
  });

  it.each([
    ['', /interaction weights are empty/],
    ['PLAY', /'PLAY' is not TYPE=WEIGHT/],
    ['PLAY=0.5,', /'' is not TYPE=WEIGHT/],
    ['WATCH=1', /'WATCH=1' names no interaction type \(one of PLAY, COMPLETE/],
    ['UNSPECIFIED=1', /'UNSPECIFIED=1' names no interaction type/],
    ['PLAY=-0.5', /'PLAY=-0.5' has a weight that is not a finite number ≥ 0/],
    ['PLAY=Infinity', /'PLAY=Infinity' has a weight that is not a finite number/],
    ['PLAY=NaN', /'PLAY=NaN' has a weight/],
    ['PLAY=', /'PLAY=' has a weight/],
    ['PLAY=abc', /'PLAY=abc' has a weight/],
    ['PLAY=1,play=2', /'play=2' sets PLAY a second time/],
  ])('weights - %j is refused naming the entry', (spec, message) => {
    expect(() => parseInteractionWeights(spec)).toThrow(message);
    try {
      parseInteractionWeights(spec);
    } catch (err) {
      expect(err).toMatchObject({ code: 'InvalidArgument', fields: ['interactionWeights'] });
    }
  });
});
