import { ModelArgumentError } from './errors.js';

/**
 * NumPy `.npy` files (format 1.0) of 2-D float32 matrices: magic `\x93NUMPY`, version 1.0, a
 * little-endian uint16 header length, then a Python dict literal padded with spaces and ended by
 * `\n` so that the data starts at a multiple of 64 bytes, then the rows in C order as `<f4`.
 * `numpy.load` reads what `encodeNpy` writes.
 */

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
/** Magic, two version bytes, the uint16 header length. */
const PREAMBLE_BYTES = 10;
/** NumPy aligns the data to this many bytes. */
const ALIGN_BYTES = 64;
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** A 2-D float32 matrix in row-major order. */
export interface NpyMatrix {
  rows: number;
  cols: number;
  /** `rows × cols` values, row after row. */
  data: Float32Array;
}

/** The header dict as NumPy writes it, padded to the alignment. */
export function npyHeader(rows: number, cols: number): string {
  const dict = `{'descr': '<f4', 'fortran_order': False, 'shape': (${rows}, ${cols}), }`;
  const total = Math.ceil((PREAMBLE_BYTES + dict.length + 1) / ALIGN_BYTES) * ALIGN_BYTES;
  return `${dict}${' '.repeat(total - PREAMBLE_BYTES - dict.length - 1)}\n`;
}

/** The bytes of a `.npy` file holding `m`. */
export function encodeNpy(m: NpyMatrix): Uint8Array {
  if (!Number.isInteger(m.rows) || !Number.isInteger(m.cols) || m.rows < 0 || m.cols < 0 || m.data.length !== m.rows * m.cols) {
    throw new ModelArgumentError(`npy: ${m.data.length} values do not make a ${m.rows} × ${m.cols} matrix`);
  }
  const header = npyHeader(m.rows, m.cols);
  const out = new Uint8Array(PREAMBLE_BYTES + header.length + m.data.length * 4);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  const view = new DataView(out.buffer);
  view.setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[PREAMBLE_BYTES + i] = header.charCodeAt(i);
  const start = PREAMBLE_BYTES + header.length;
  if (LITTLE_ENDIAN) out.set(new Uint8Array(m.data.buffer, m.data.byteOffset, m.data.byteLength), start);
  else for (let i = 0; i < m.data.length; i++) view.setFloat32(start + 4 * i, m.data[i]!, true);
  return out;
}

/** Reads what `encodeNpy` writes: version 1.0, `<f4`, C order, 2-D. Anything else is a `ModelArgumentError` saying what. */
export function decodeNpy(bytes: Uint8Array): NpyMatrix {
  if (bytes.length < PREAMBLE_BYTES || MAGIC.some((b, i) => bytes[i] !== b)) throw new ModelArgumentError('npy: not a .npy file (no \\x93NUMPY magic)');
  if (bytes[6] !== 1 || bytes[7] !== 0) throw new ModelArgumentError(`npy: format version ${bytes[6]}.${bytes[7]}, expected 1.0`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getUint16(8, true);
  const start = PREAMBLE_BYTES + headerLength;
  const header = new TextDecoder('latin1').decode(bytes.subarray(PREAMBLE_BYTES, start));
  const m = /^\{'descr': '([^']*)', 'fortran_order': (True|False), 'shape': \((\d+), (\d+)\), \} *\n$/.exec(header);
  if (!m) throw new ModelArgumentError(`npy: unexpected header ${JSON.stringify(header.trimEnd())}`);
  if (m[1] !== '<f4' || m[2] !== 'False') throw new ModelArgumentError(`npy: ${m[1]} in ${m[2] === 'True' ? 'Fortran' : 'C'} order, expected <f4 in C order`);
  const rows = Number(m[3]);
  const cols = Number(m[4]);
  if (bytes.length - start !== rows * cols * 4) throw new ModelArgumentError(`npy: ${bytes.length - start} data bytes for a ${rows} × ${cols} float32 matrix`);
  const data = new Float32Array(rows * cols);
  for (let i = 0; i < data.length; i++) data[i] = view.getFloat32(start + 4 * i, true);
  return { rows, cols, data };
}
