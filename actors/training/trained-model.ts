import type { Checkpoint } from './checkpoints.js';

/** Ratings a prediction is clamped to (reel.v1 ratings: 0.5–5 stars). */
const MIN_RATING = 0.5;
const MAX_RATING = 5;

/**
 * A trained version read from its checkpoint, for scoring outside the actors (`reel eval
 * --model-version`, exports): each user's and title's row by key. An unknown user or title
 * contributes nothing but the mean and the other's bias.
 */
export class TrainedModel {
  private readonly users = new Map<string, Float32Array>();
  private readonly titles = new Map<string, Float32Array>();

  constructor(
    readonly factors: number,
    readonly mean: number,
  ) {}

  static fromCheckpoint(cp: Checkpoint): TrainedModel {
    const m = new TrainedModel(cp.manifest.factors, cp.global.mean);
    for (const { kind, part } of cp.parts) {
      const into = kind === 'user' ? m.users : kind === 'title' ? m.titles : undefined;
      if (into === undefined) continue;
      const stride = part.factors + 1;
      for (let j = 0; j < part.keys.length; j++) into.set(part.keys[j]!, part.rows.subarray(j * stride, (j + 1) * stride));
    }
    return m;
  }

  get userCount(): number {
    return this.users.size;
  }

  get titleCount(): number {
    return this.titles.size;
  }

  userRow(key: string): Float32Array | undefined {
    return this.users.get(key);
  }

  titleRow(key: string): Float32Array | undefined {
    return this.titles.get(key);
  }

  titleKeys(): IterableIterator<string> {
    return this.titles.keys();
  }

  /** The predicted rating, clamped to 0.5–5. */
  predict(user: string, title: string): number {
    const k = this.factors;
    const p = this.users.get(user);
    const q = this.titles.get(title);
    let r = this.mean + (p ? p[k]! : 0) + (q ? q[k]! : 0);
    if (p && q) for (let f = 0; f < k; f++) r += p[f]! * q[f]!;
    return r < MIN_RATING ? MIN_RATING : r > MAX_RATING ? MAX_RATING : r;
  }

  /** Ranking score of a title for a user: its bias plus the dot product (the mean and user bias rank nothing). */
  score(user: string, title: string): number {
    const k = this.factors;
    const p = this.users.get(user);
    const q = this.titles.get(title);
    if (q === undefined) return -Infinity;
    let s = q[k]!;
    if (p) for (let f = 0; f < k; f++) s += p[f]! * q[f]!;
    return s;
  }
}
