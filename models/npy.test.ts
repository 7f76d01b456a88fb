import { describe, expect, it } from 'vitest';
import { ModelArgumentError } from './errors.js';
import { decodeNpy, encodeNpy, npyHeader } from './npy.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('npy', () => {
  it('npy - writes the bytes numpy.save writes for a 3 × 2 float32 matrix', () => {
    // np.save(f, np.array([[1, 2.5], [-3, 0.1], [1e-8, 7]], dtype='<f4')) with NumPy 2.4.
    const expected =
      '934e554d5059010076007b276465736372273a20273c6634272c2027666f727472616e5f6f72646572273a2046616c73652c20277368617065273a2028332c2032292c207d' +
      '20'.repeat(58) +
      '0a' +
      '0000803f00002040000040c0cdcccc3d77cc2b320000e040';
    const bytes = encodeNpy({ rows: 3, cols: 2, data: new Float32Array([1, 2.5, -3, 0.1, 1e-8, 7]) });
    expect(hex(bytes)).toBe(expected);
  });

  it('npy - the header is padded with spaces and a newline so that the data starts at a multiple of 64 bytes', () => {
    for (const [rows, cols] of [[0, 0], [3, 2], [70000, 33], [123456789, 1024]] as const) {
      const h = npyHeader(rows, cols);
      expect((10 + h.length) % 64).toBe(0);
      expect(h.endsWith(' \n')).toBe(true);
      expect(h.startsWith(`{'descr': '<f4', 'fortran_order': False, 'shape': (${rows}, ${cols}), }`)).toBe(true);
    }
    const bytes = encodeNpy({ rows: 70000, cols: 33, data: new Float32Array(70000 * 33) });
    expect(new DataView(bytes.buffer).getUint16(8, true)).toBe(118);
  });

  it('npy - decodes what it encodes, values bit for bit, the empty matrix too', () => {
    const data = new Float32Array(5 * 7).map((_, i) => Math.fround(Math.sin(i) * 1e3));
    data[3] = Number.NaN;
    data[4] = -0;
    const back = decodeNpy(encodeNpy({ rows: 5, cols: 7, data }));
    expect(back.rows).toBe(5);
    expect(back.cols).toBe(7);
    expect(hex(new Uint8Array(back.data.buffer))).toBe(hex(new Uint8Array(data.buffer)));
    expect(decodeNpy(encodeNpy({ rows: 0, cols: 4, data: new Float32Array(0) }))).toEqual({ rows: 0, cols: 4, data: new Float32Array(0) });
  });

  it('npy - a shape that does not fit the data, and files it does not read, are errors saying what', () => {
    expect(() => encodeNpy({ rows: 2, cols: 2, data: new Float32Array(3) })).toThrow(ModelArgumentError);
    const good = encodeNpy({ rows: 1, cols: 2, data: new Float32Array([1, 2]) });
    expect(() => decodeNpy(good.subarray(0, good.length - 1))).toThrow(/7 data bytes for a 1 × 2/);
    const f8 = good.slice();
    f8.set(new TextEncoder().encode("'<f8'"), 10 + "{'descr': ".length);
    expect(() => decodeNpy(f8)).toThrow(/<f8 in C order, expected <f4/);
    expect(() => decodeNpy(new Uint8Array(16))).toThrow(/magic/);
  });
});
