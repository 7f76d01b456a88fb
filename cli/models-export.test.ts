import { describe, expect, it } from 'vitest';
import { Rng } from '../models/index.js';
import { formatFloat32 } from './models-export.js';

describe('models export', () => {
  it('export - a float32 prints as the shortest decimal that reads back as the same float32', () => {
    expect(formatFloat32(Math.fround(0.1))).toBe('0.1');
    expect(formatFloat32(Math.fround(-1.25))).toBe('-1.25');
    expect(formatFloat32(0)).toBe('0');
    expect(formatFloat32(Math.fround(1e-8))).toBe('1e-8');
    expect(formatFloat32(Math.fround(123456.789))).toBe('123456.79');
    const rng = new Rng(7);
    for (let i = 0; i < 20_000; i++) {
      const x = Math.fround((rng.next() - 0.5) * 10 ** (rng.below(12) - 6));
      const s = formatFloat32(x);
      expect(Math.fround(Number(s))).toBe(x);
      // One digit fewer would not read back: the text is the shortest.
      const digits = s.replace(/^-?0?\.?0*|e.*$|\./g, '').length;
      if (digits > 1) expect(Math.fround(Number(x.toPrecision(digits - 1)))).not.toBe(x);
    }
  });
});
