import { describe, expect, it } from 'vitest';
import { Adam } from './adam.js';

describe('adam', () => {
  it('adam - two steps match a hand computation of the bias-corrected moments', () => {
    const adam = new Adam(2, { lr: 0.1, beta1: 0.5, beta2: 0.75, epsilon: 0 });
    const w = Float32Array.of(1, -1);
    // Step 1, g = (2, -4): m = (1, -2), v = (1, 4); m̂ = m / 0.5 = (2, -4), v̂ = v / 0.25 = (4, 16);
    // Δ = 0.1 · m̂ / √v̂ = (0.1, -0.1) (the first step is lr · sign(g)).
    adam.step(w, Float32Array.of(2, -4));
    expect(w[0]).toBeCloseTo(0.9, 6);
    expect(w[1]).toBeCloseTo(-0.9, 6);
    // Step 2, g = (0, 2): m = (0.5, 0), v = (0.75, 4); c1 = 0.75, c2 = 0.4375;
    // Δ0 = 0.1 · (0.5 / 0.75) / √(0.75 / 0.4375), Δ1 = 0.
    adam.step(w, Float32Array.of(0, 2));
    expect(w[0]).toBeCloseTo(0.9 - (0.1 * (0.5 / 0.75)) / Math.sqrt(0.75 / 0.4375), 6);
    expect(w[1]).toBeCloseTo(-0.9, 6);
    expect(adam.state().t).toBe(2);
  });

  it('adam - a copy resumed from the state of another takes the same steps', () => {
    const a = new Adam(3, { lr: 0.01 });
    const wa = Float32Array.of(0.5, -0.25, 2);
    a.step(wa, Float32Array.of(1, 2, -3));
    const b = new Adam(3, { lr: 0.01 }, a.state());
    const wb = wa.slice();
    for (const g of [Float32Array.of(0.5, -1, 1), Float32Array.of(-2, 0, 0.25)]) {
      a.step(wa, g);
      b.step(wb, g);
    }
    expect(Array.from(wb)).toEqual(Array.from(wa));
    expect(b.state()).toEqual(a.state());
  });

  it('adam - bad settings and mismatched sizes are refused naming them', () => {
    expect(() => new Adam(2, { lr: 0, beta2: 1 })).toThrow(/lr, beta2/);
    expect(() => new Adam(2, {}, { m: new Float32Array(3), v: new Float32Array(3), t: 1 })).toThrow(/does not fit 2/);
    expect(() => new Adam(2).step(new Float32Array(2), new Float32Array(1))).toThrow(/1 gradients/);
  });
});
