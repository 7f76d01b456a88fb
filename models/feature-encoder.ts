import { ModelArgumentError } from './errors.js';
import { Rng } from './rng.js';
import type { Tf } from './tf.js';

/**
 * The content-aware model's feature encoder: a two-layer perceptron from a title's multi-hot
 * features to its embedding, out = relu(x W₁ + b₁) W₂ + b₂. Its weights are one flat
 * `Float32Array` (W₁, b₁, W₂, b₂, each matrix row-major [in × out]), so that a dense parameter
 * server holds them as one vector, workers compute gradients on their batches with
 * `encoderGradients`, and `Adam` applies them, each side with no other state.
 */
export interface EncoderShape {
  /** Input width: the number of features. */
  readonly features: number;
  /** Hidden units (relu). */
  readonly hidden: number;
  /** Output width. */
  readonly outputs: number;
}

/** Views of the four parameter blocks inside one flat weight vector (writes go through). */
export interface EncoderLayers {
  readonly w1: Float32Array;
  readonly b1: Float32Array;
  readonly w2: Float32Array;
  readonly b2: Float32Array;
}

/** Titles to fit, in dense rows: inputs, targets, and how much each output column weighs. */
export interface EncoderBatch {
  readonly rows: number;
  /** rows × features, row-major: 1 where the title has the feature. */
  readonly x: Float32Array;
  /** rows × outputs, row-major: what the encoder should output. */
  readonly y: Float32Array;
  /** One weight per output column: loss = Σ_rows Σ_c w_c (out − y)² / rows. @default 1 / outputs each (the plain MSE) */
  readonly columnWeights?: Float32Array;
}

export interface EncoderGradients {
  /** The batch's loss at the given weights. */
  readonly loss: number;
  /** ∂loss/∂weights, laid out as the weights. */
  readonly grads: Float32Array;
}

export function encoderWeightCount(s: EncoderShape): number {
  return s.features * s.hidden + s.hidden + s.hidden * s.outputs + s.outputs;
}

/** The blocks of `weights` for shape `s`. */
export function encoderLayers(s: EncoderShape, weights: Float32Array): EncoderLayers {
  checkWeights(s, weights);
  let at = 0;
  const take = (n: number) => weights.subarray(at, (at += n));
  return { w1: take(s.features * s.hidden), b1: take(s.hidden), w2: take(s.hidden * s.outputs), b2: take(s.outputs) };
}

/** Fresh weights: He-normal W₁ (relu follows), Glorot-normal W₂, zero biases; seeded. */
export function initEncoderWeights(s: EncoderShape, seed: number): Float32Array {
  for (const k of ['features', 'hidden', 'outputs'] as const) if (!(Number.isInteger(s[k]) && s[k] >= 1)) throw new ModelArgumentError(`the encoder's ${k} must be a whole number ≥ 1, got ${s[k]}`, [k]);
  const weights = new Float32Array(encoderWeightCount(s));
  const { w1, w2 } = encoderLayers(s, weights);
  const rng = new Rng(seed);
  const std1 = Math.sqrt(2 / s.features);
  const std2 = Math.sqrt(2 / (s.hidden + s.outputs));
  for (let x = 0; x < w1.length; x++) w1[x] = rng.normal() * std1;
  for (let x = 0; x < w2.length; x++) w2[x] = rng.normal() * std2;
  return weights;
}

/** The encoder's outputs for `rows` multi-hot rows `x` (rows × outputs, row-major). */
export function encode(tf: Tf, s: EncoderShape, weights: Float32Array, x: Float32Array, rows: number): Float32Array {
  checkRows(s, x, rows, 'x', s.features);
  const out = tf.tidy(() => forward(tf, params(tf, s, weights), tf.tensor2d(x, [rows, s.features])));
  const values = (out.dataSync() as Float32Array).slice();
  out.dispose();
  return values;
}

/** The loss of `batch` at `weights` and its gradient in them, in one tfjs pass. */
export function encoderGradients(tf: Tf, s: EncoderShape, weights: Float32Array, batch: EncoderBatch): EncoderGradients {
  const { rows } = batch;
  checkRows(s, batch.x, rows, 'x', s.features);
  checkRows(s, batch.y, rows, 'y', s.outputs);
  const cw = batch.columnWeights ?? new Float32Array(s.outputs).fill(1 / s.outputs);
  if (cw.length !== s.outputs) throw new ModelArgumentError(`${cw.length} column weights for ${s.outputs} outputs`, ['columnWeights']);
  // Loss and gradients leave the backend as one vector: one read instead of five.
  const packed = tf.tidy(() => {
    const x = tf.tensor2d(batch.x, [rows, s.features]);
    const y = tf.tensor2d(batch.y, [rows, s.outputs]);
    const w = tf.tensor1d(cw);
    const loss = (...p: TfTensors) => tf.sum(tf.mul(tf.square(tf.sub(forward(tf, p, x), y)), w)).div(Math.max(1, rows)) as TfScalar;
    const { value, grads } = tf.valueAndGrads(loss)(params(tf, s, weights));
    return tf.concat([value.reshape([1]), ...grads.map((g) => g.flatten())]);
  });
  const all = packed.dataSync() as Float32Array;
  const result = { loss: all[0]!, grads: all.slice(1) };
  packed.dispose();
  return result;
}

/**
 * `encode` in plain TypeScript and float64 throughout (weights of any precision): the reference
 * the tfjs path is tested against, and a way to encode a title where no tensor library is loaded.
 */
export function encodeReference(s: EncoderShape, weights: ArrayLike<number>, x: ArrayLike<number>, rows: number): Float64Array {
  checkWeights(s, weights);
  if (x.length !== rows * s.features) throw new ModelArgumentError(`x has ${x.length} values for ${rows} rows of ${s.features}`, ['x']);
  const b1 = s.features * s.hidden;
  const w2 = b1 + s.hidden;
  const b2 = w2 + s.hidden * s.outputs;
  const out = new Float64Array(rows * s.outputs);
  const h = new Float64Array(s.hidden);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < s.hidden; j++) {
      let sum = weights[b1 + j]!;
      for (let f = 0; f < s.features; f++) sum += x[r * s.features + f]! * weights[f * s.hidden + j]!;
      h[j] = Math.max(0, sum);
    }
    for (let c = 0; c < s.outputs; c++) {
      let sum = weights[b2 + c]!;
      for (let j = 0; j < s.hidden; j++) sum += h[j]! * weights[w2 + j * s.outputs + c]!;
      out[r * s.outputs + c] = sum;
    }
  }
  return out;
}

type TfTensors = ReturnType<Tf['tensor']>[];
type TfScalar = ReturnType<Tf['scalar']>;

function params(tf: Tf, s: EncoderShape, weights: Float32Array): TfTensors {
  const { w1, b1, w2, b2 } = encoderLayers(s, weights);
  return [tf.tensor2d(w1, [s.features, s.hidden]), tf.tensor1d(b1), tf.tensor2d(w2, [s.hidden, s.outputs]), tf.tensor1d(b2)];
}

function forward(tf: Tf, [w1, b1, w2, b2]: TfTensors, x: ReturnType<Tf['tensor2d']>) {
  return tf.add(tf.matMul(tf.relu(tf.add(tf.matMul(x, w1!), b1!)), w2!), b2!);
}

function checkWeights(s: EncoderShape, weights: ArrayLike<number>): void {
  if (weights.length !== encoderWeightCount(s)) throw new ModelArgumentError(`${weights.length} weights for an encoder ${s.features}→${s.hidden}→${s.outputs} (${encoderWeightCount(s)})`, ['weights']);
}

function checkRows(s: EncoderShape, a: Float32Array, rows: number, name: string, width: number): void {
  if (!(Number.isInteger(rows) && rows >= 0) || a.length !== rows * width) throw new ModelArgumentError(`${name} has ${a.length} values for ${rows} rows of ${width} (encoder ${s.features}→${s.hidden}→${s.outputs})`, [name]);
}
