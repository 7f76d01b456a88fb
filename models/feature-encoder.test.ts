import { beforeAll, describe, expect, it } from 'vitest';
import { encode, encodeReference, encoderGradients, encoderLayers, encoderWeightCount, initEncoderWeights, type EncoderBatch, type EncoderShape } from './feature-encoder.js';
import { Rng } from './rng.js';
import { loadTf, type Tf } from './tf.js';

let tf: Tf;
beforeAll(async () => {
  tf = (await loadTf({ backends: ['wasm'] })).tf;
});

/** A tiny net and batch: 5 features, 4 hidden, 3 outputs, 6 titles of 1–3 features each. */
function tiny(): { s: EncoderShape; weights: Float32Array; batch: EncoderBatch } {
  const s = { features: 5, hidden: 4, outputs: 3 };
  const weights = initEncoderWeights(s, 11);
  // Non-zero biases, so that every unit's pre-activation is away from relu's kink for most rows.
  const { b1, b2 } = encoderLayers(s, weights);
  b1.set([0.3, -0.2, 0.5, 0.1]);
  b2.set([0.1, -0.1, 0.2]);
  const rng = new Rng(5);
  const rows = 6;
  const x = new Float32Array(rows * s.features);
  for (let r = 0; r < rows; r++) for (let f = 0; f < s.features; f++) if (f === r % s.features || rng.next() < 0.3) x[r * s.features + f] = 1;
  const y = Float32Array.from({ length: rows * s.outputs }, () => rng.normal());
  return { s, weights, batch: { rows, x, y, columnWeights: Float32Array.of(0.5, 0.25, 2) } };
}

/** The batch's loss in float64 from the reference forward pass. */
function lossReference(s: EncoderShape, weights: ArrayLike<number>, b: EncoderBatch): number {
  const out = encodeReference(s, weights, b.x, b.rows);
  let sum = 0;
  for (let r = 0; r < b.rows; r++) for (let c = 0; c < s.outputs; c++) sum += b.columnWeights![c]! * (out[r * s.outputs + c]! - b.y[r * s.outputs + c]!) ** 2;
  return sum / b.rows;
}

describe('feature encoder', () => {
  it('feature encoder - tfjs outputs match the float64 reference', () => {
    const { s, weights, batch } = tiny();
    const got = encode(tf, s, weights, batch.x, batch.rows);
    const want = encodeReference(s, weights, batch.x, batch.rows);
    got.forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 5));
  });

  it('feature encoder - gradients match central finite differences of the reference loss', () => {
    const { s, weights, batch } = tiny();
    const { loss, grads } = encoderGradients(tf, s, weights, batch);
    expect(grads).toHaveLength(encoderWeightCount(s));
    expect(loss).toBeCloseTo(lossReference(s, weights, batch), 5);
    const w = Float64Array.from(weights);
    const h = 1e-5;
    for (let x = 0; x < w.length; x++) {
      const keep = w[x]!;
      w[x] = keep + h;
      const up = lossReference(s, w, batch);
      w[x] = keep - h;
      const down = lossReference(s, w, batch);
      w[x] = keep;
      expect(Math.abs(grads[x]! - (up - down) / (2 * h))).toBeLessThan(1e-4 + 1e-3 * Math.abs(grads[x]!));
    }
  });

  it('feature encoder - bad sizes are refused naming the input', () => {
    const { s, weights, batch } = tiny();
    expect(() => encoderGradients(tf, s, weights.subarray(1), batch)).toThrow(/weights/);
    expect(() => encoderGradients(tf, s, weights, { ...batch, rows: 5 })).toThrow(/x has 30 values for 5 rows/);
    expect(() => initEncoderWeights({ ...s, hidden: 0 }, 1)).toThrow(/hidden/);
  });
});
