import type { RatingScale } from './types.js';

/** ml-100k and ml-1m: whole stars, 1 to 5. */
export const WHOLE_STARS: RatingScale = { name: '1–5 whole stars', min: 1, max: 5, step: 1 };

/**
 * ml-10m, ml-20m, ml-25m, ml-32m and ml-latest: half stars, 0.5 to 5. Also the scale of a
 * ratings file outside a MovieLens folder: it holds either MovieLens scale.
 */
export const HALF_STARS: RatingScale = { name: '0.5–5 in half stars', min: 0.5, max: 5, step: 0.5 };

/** What is wrong with `rating` on `scale`, or undefined if it is on it. */
export function offScale(rating: number, scale: RatingScale): string | undefined {
  if (rating >= scale.min && rating <= scale.max && Number.isInteger(rating / scale.step)) return undefined;
  return `rating ${rating} is off the file's scale (${scale.name})`;
}
