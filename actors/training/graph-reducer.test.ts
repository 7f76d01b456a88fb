import { describe, expect, it } from 'vitest';
import { GraphReducer } from './graph-reducer.js';
import type { GraphReduceBody } from './messages.js';

function body(worker: string, rows: number[], over: Partial<GraphReduceBody> = {}): GraphReduceBody {
  return { version: 'g', attempt: 1, worker, workers: 2, step: 0, chunk: 0, keys: ['a', 'b'], width: 1, rows: Float32Array.from(rows), ...over };
}

describe('the owner\'s side of LightGCN\'s exchange', () => {
  it('reducer - answers every worker once all shares are in, with their sum; a share of another attempt is refused', async () => {
    const r = new GraphReducer(() => new Float32Array(2));
    r.reset('g', 1);
    const first = r.reduce(body('n2', [1, 2]));
    let settled = false;
    void first.then(() => (settled = true));
    await Promise.resolve();
    expect(settled).toBe(false);
    const second = r.reduce(body('n1', [10, 20]));
    const [a, b] = await Promise.all([first, second]);
    expect([...a.rows]).toEqual([11, 22]);
    expect([...b.rows]).toEqual([11, 22]);
    expect(a.waited).toBeGreaterThanOrEqual(0);
    await expect(r.reduce(body('n1', [1, 1], { attempt: 2 }))).rejects.toThrow(/not ready for g attempt 2/);
    await expect(r.reduce(body('n1', [1], {}))).rejects.toThrow(/carries 1 values/);
  });

  it('reducer - a new attempt releases the shares still waiting (the workers start again from the checkpoint); the same attempt again keeps them', async () => {
    const r = new GraphReducer(() => new Float32Array(2));
    r.reset('g', 1);
    const kept = r.reduce(body('n1', [1, 2]));
    // This node's worker joined attempt 1 once more: n1's share must not be lost.
    r.reset('g', 1);
    expect([...(await Promise.all([kept, r.reduce(body('n2', [1, 1]))]))[0].rows]).toEqual([2, 3]);
    const waiting = r.reduce(body('n1', [1, 2], { step: 1 }));
    r.reset('g', 2);
    await expect(waiting).rejects.toThrow(/attempt 2 of g began/);
  });

  it('reducer - the gradient\'s layers add up per batch; the last takes one Adam step on the owner\'s rows, as Adam\'s formula gives', async () => {
    const rows = new Map([['a', Float32Array.from([1, 0])], ['b', Float32Array.from([-1, 0])]]);
    const r = new GraphReducer((_v, _a, key) => rows.get(key)!);
    r.reset('g', 1);
    const one = { workers: 1, width: 1 };
    await r.reduce(body('n1', [0.2, -0.4], { ...one, step: 1, accumulate: 0 }));
    const adam = { batch: 0, t: 1, lr: 0.1, reg: 0.5, scale: 0.25, layers: 1, counts: Float32Array.from([2, 0]) };
    const out = await r.reduce(body('n1', [0.2, 0.4], { ...one, step: 2, adam }));
    // Gradient of a: (0.2 + 0.2) / 2 + 0.5 · 0.25 · 2 · 1 = 0.45; of b: (−0.4 + 0.4) / 2 = 0. At t = 1 Adam moves
    // a coordinate with a non-zero gradient by lr · g / (|g| + ε) and leaves a zero gradient's alone.
    expect(out.rows[0]).toBeCloseTo(1 - 0.1, 6);
    expect(out.rows[1]).toBeCloseTo(-1, 6);
    expect(rows.get('a')![0]).toBeCloseTo(0.9, 6);
  });

  it('reducer - shares that name different titles are refused, to every worker', async () => {
    const r = new GraphReducer(() => new Float32Array(2));
    r.reset('g', 1);
    const a = r.reduce(body('n1', [1, 2]));
    const b = r.reduce(body('n2', [1, 2], { keys: ['a', 'c'] }));
    await expect(a).rejects.toThrow(/name different titles/);
    await expect(b).rejects.toThrow(/name different titles/);
  });
});
