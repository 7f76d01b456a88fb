import { ModelArgumentError } from './errors.js';

/** Adam's settings (Kingma & Ba 2015). */
export interface AdamOptions {
  /** Step size. @default 0.001 */
  lr?: number;
  /** Decay of the first-moment average. @default 0.9 */
  beta1?: number;
  /** Decay of the second-moment average. @default 0.999 */
  beta2?: number;
  /** Added to the root of the second moment, against division by zero. @default 1e-8 */
  epsilon?: number;
}

/** What Adam remembers between steps: a parameter server snapshots it to resume training. */
export interface AdamState {
  /** First-moment averages, one per weight. */
  readonly m: Float32Array;
  /** Second-moment averages, one per weight. */
  readonly v: Float32Array;
  /** Steps taken so far (the bias corrections depend on it). */
  readonly t: number;
}

export function parseAdamOptions(opts: AdamOptions = {}): Required<AdamOptions> {
  const o = { lr: 0.001, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, ...opts };
  const bad: Array<keyof AdamOptions> = [];
  if (!(Number.isFinite(o.lr) && o.lr > 0)) bad.push('lr');
  if (!(Number.isFinite(o.epsilon) && o.epsilon >= 0)) bad.push('epsilon');
  bad.push(...(['beta1', 'beta2'] as const).filter((k) => !(o[k] >= 0 && o[k] < 1)));
  if (bad.length > 0) throw new ModelArgumentError(`Adam's ${bad.join(', ')} out of range (lr > 0, epsilon ≥ 0, betas in [0, 1))`, bad);
  return o;
}

/**
 * Adam over one flat vector of weights, in plain TypeScript: the optimiser a dense parameter
 * server owns, applying the gradients workers push, with no tensor library. Its state is plain
 * typed arrays, so it snapshots and travels as is.
 */
export class Adam {
  readonly opts: Required<AdamOptions>;
  private readonly m: Float32Array;
  private readonly v: Float32Array;
  private t: number;

  /** For `size` weights, fresh or resumed from `state` (copied). */
  constructor(size: number, opts: AdamOptions = {}, state?: AdamState) {
    this.opts = parseAdamOptions(opts);
    if (state !== undefined && (state.m.length !== size || state.v.length !== size || !(Number.isInteger(state.t) && state.t >= 0))) {
      throw new ModelArgumentError(`Adam state for ${state.m.length} weights at step ${state.t} does not fit ${size} weights`, ['state']);
    }
    this.m = state ? state.m.slice() : new Float32Array(size);
    this.v = state ? state.v.slice() : new Float32Array(size);
    this.t = state?.t ?? 0;
  }

  get size(): number {
    return this.m.length;
  }

  /** One step: `weights` -= lr · m̂ / (√v̂ + ε), in place, with the bias-corrected moments of `grads`. */
  step(weights: Float32Array, grads: Float32Array): void {
    if (weights.length !== this.size || grads.length !== this.size) throw new ModelArgumentError(`Adam over ${this.size} weights got ${weights.length} weights and ${grads.length} gradients`, ['weights']);
    const { lr, beta1, beta2, epsilon } = this.opts;
    this.t++;
    const c1 = 1 - beta1 ** this.t;
    const c2 = 1 - beta2 ** this.t;
    for (let x = 0; x < weights.length; x++) {
      const g = grads[x]!;
      const m = (this.m[x] = beta1 * this.m[x]! + (1 - beta1) * g);
      const v = (this.v[x] = beta2 * this.v[x]! + (1 - beta2) * g * g);
      weights[x] -= (lr * (m / c1)) / (Math.sqrt(v / c2) + epsilon);
    }
  }

  /** A copy of the moments and the step count. */
  state(): AdamState {
    return { m: this.m.slice(), v: this.v.slice(), t: this.t };
  }
}
