/**
 * The model synthetic ratings are drawn from: a biased low-rank score per (user, title), plus
 * Gaussian noise of known spread, then (in whole stars) rounded and clamped to 1–5. Knowing
 * it, the best any predictor can do on the data is known: the achievable RMSE.
 */

/** Whole stars like ml-100k, or the noisy score as it is. */
export type SyntheticScale = 'stars' | 'continuous';

/** Parameters of the planted model; factor rows are `rank` long, row-major. */
export interface PlantedParams {
  rank: number;
  /** The global mean score. */
  mean: number;
  userBias: Float64Array;
  itemBias: Float64Array;
  /** users × rank */
  userFactors: Float64Array;
  /** items × rank */
  itemFactors: Float64Array;
  /** Standard deviation of the noise added to each score, in stars. */
  noiseSigma: number;
  scale: SyntheticScale;
}

/** A rating's best prediction given its score (its conditional mean) and that prediction's expected squared error. */
export interface Expected {
  mean: number;
  variance: number;
}

export class PlantedModel {
  constructor(readonly params: PlantedParams) {}

  /** The noise-free score of user index `u` (0-based) for title index `i`: mean + biases + factors' dot product. */
  score(u: number, i: number): number {
    const { rank, mean, userBias, itemBias, userFactors, itemFactors } = this.params;
    let dot = 0;
    for (let k = 0, a = u * rank, b = i * rank; k < rank; k++) dot += userFactors[a + k]! * itemFactors[b + k]!;
    return mean + userBias[u]! + itemBias[i]! + dot;
  }

  /** The rating drawn from `score` with standard normal `noise`. */
  rate(score: number, noise: number): number {
    const r = score + this.params.noiseSigma * noise;
    return this.params.scale === 'continuous' ? r : Math.min(5, Math.max(1, Math.round(r)));
  }

  /** The best prediction of (u, i)'s rating: what `rate` gives on average. */
  predict(u: number, i: number): number {
    return this.expected(this.score(u, i)).mean;
  }

  /**
   * Mean and variance of the rating drawn from `score`. Continuous: the score and σ².
   * Whole stars: R = k with probability Φ((k + ½ − s)/σ) − Φ((k − ½ − s)/σ), the two ends
   * taking the tails; rounding and clamping shrink the variance near 1 and 5.
   */
  expected(score: number): Expected {
    const sigma = this.params.noiseSigma;
    if (this.params.scale === 'continuous') return { mean: score, variance: sigma * sigma };
    if (sigma === 0) return { mean: Math.min(5, Math.max(1, Math.round(score))), variance: 0 };
    let mean = 0;
    let square = 0;
    let below = 0;
    for (let k = 1; k <= 5; k++) {
      const upTo = k === 5 ? 1 : normalCdf((k + 0.5 - score) / sigma);
      const p = upTo - below;
      mean += k * p;
      square += k * k * p;
      below = upTo;
    }
    return { mean, variance: Math.max(0, square - mean * mean) };
  }
}

/**
 * Φ, the standard normal distribution function, through erfc's Chebyshev fit (Numerical
 * Recipes `erfcc`, relative error below 1.2e-7 everywhere): ample for an error bound.
 */
export function normalCdf(x: number): number {
  const z = Math.abs(x) / Math.SQRT2;
  const t = 1 / (1 + 0.5 * z);
  const poly = -1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  const erfc = t * Math.exp(-z * z + poly);
  return x >= 0 ? 1 - erfc / 2 : erfc / 2;
}
