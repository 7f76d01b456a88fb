import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../data/random.js';
import { foldIn, type FoldEntry } from './fold-in.js';
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
      history.push({ titleId: `t${i}`, rating, disliked: false });
    }
    // A title without a row is left out, not an error.
    history.push({ titleId: 'unknown', rating: 5, disliked: false });
    const row = foldIn(m, history)!;
    for (let x = 0; x <= f; x++) expect(row[x]).toBeCloseTo(truth[x]!, 3);
    expect(foldIn(m, [{ titleId: 'unknown', rating: 4, disliked: false }])).toBeUndefined();
  });

  it('fold-in - a ranking model (BPR): titles like the liked ones rank above titles like the disliked ones', () => {
    const m = matrix(100, 8, { model: 'bpr', mean: 0, reg: 0.05, trainedAtMs: 0 });
    const liked = ['t1', 't2', 't3', 't4'];
    const disliked = ['t5', 't6', 't7', 't8'];
    const row = foldIn(m, [...liked.map((t) => ({ titleId: t, rating: NaN, disliked: false })), ...disliked.map((t) => ({ titleId: t, rating: NaN, disliked: true }))])!;
    const mean = (ts: string[]) => ts.reduce((s, t) => s + dot(m, row, t), 0) / ts.length;
    expect(mean(liked)).toBeGreaterThan(mean(disliked));
  });
});
