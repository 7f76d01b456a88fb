/** One explicit rating. */
export interface Rating {
  user: string;
  item: string;
  /** Stars: 1–5 in ml-100k and ml-1m, 0.5–5 in halves in ml-latest and ml-25m. */
  rating: number;
  /** Seconds since the Unix epoch. */
  time: number;
}
