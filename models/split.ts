import { ModelArgumentError } from './errors.js';
import { selectRows, type RatingsTable } from './ratings.js';
import { Rng, identityOrder } from './rng.js';

/** The three parts of a per-user split, on the source table's indices. */
export interface UserSplit {
  train: RatingsTable;
  valid: RatingsTable;
  test: RatingsTable;
}

/**
 * How many of a user's `total` interactions go to each part, as RecBole's
 * `Dataset._calcu_split_ids` counts them: every part but the first is rounded down
 * (`int(ratio × total)`), the first takes the rest, and a later part whose share is in (0, 1)
 * interactions takes one from the first while the first keeps more than one.
 */
export function splitCounts(total: number, ratios: readonly number[]): number[] {
  // RecBole normalises by a left-to-right sum, and so do we: the same doubles, the same counts.
  let sum = 0;
  for (const r of ratios) sum += r;
  const norm = ratios.map((r) => r / sum);
  const cnt = norm.map((r) => Math.trunc(r * total));
  cnt[0] = total - cnt.slice(1).reduce((a, b) => a + b, 0);
  for (let i = 1; i < norm.length; i++) {
    if (cnt[0]! <= 1) break;
    const share = norm[norm.length - i]! * total;
    if (share > 0 && share < 1) {
      cnt[norm.length - i]!++;
      cnt[0]!--;
    }
  }
  return cnt;
}

/**
 * RecBole's `RS` split grouped by user (its ml-100k quick-start: `split: {RS: [0.8, 0.1, 0.1]}`,
 * `order: RO`, `group_by: user`): all rows shuffled once with `seed`, then each user's rows, in
 * that shuffled order, cut by `splitCounts` into train, validation and test. RecBole shuffles
 * with torch's generator, so the parts are RecBole's in distribution, not row for row.
 */
export function splitByUserRatio(table: RatingsTable, ratios: readonly [number, number, number], seed: number): UserSplit {
  if (ratios.some((r) => !(r >= 0) || !Number.isFinite(r)) || ratios[0] + ratios[1] + ratios[2] <= 0) {
    throw new ModelArgumentError(`split ratios must be finite, non-negative and not all zero, got [${ratios.join(', ')}]`, ['ratios']);
  }
  const order = new Rng(seed).shuffle(identityOrder(table.n));
  // Group the shuffled rows by user, keeping the shuffled order within each user (a counting sort).
  const start = new Uint32Array(table.userCount + 1);
  for (let j = 0; j < table.n; j++) start[table.users[j]! + 1]++;
  for (let u = 0; u < table.userCount; u++) start[u + 1] += start[u]!;
  const fill = start.slice(0, table.userCount);
  const grouped = new Uint32Array(table.n);
  for (const j of order) grouped[fill[table.users[j]!]!++] = j;

  const parts: number[][] = [[], [], []];
  for (let u = 0; u < table.userCount; u++) {
    const rows = grouped.subarray(start[u]!, start[u + 1]!);
    const cnt = splitCounts(rows.length, ratios);
    let at = 0;
    for (let p = 0; p < 3; p++) {
      for (let x = 0; x < cnt[p]!; x++) parts[p]!.push(rows[at++]!);
    }
  }
  // Each part in the table's order, so that its fingerprint does not depend on the grouping.
  const [train, valid, test] = parts.map((rows) => selectRows(table, Uint32Array.from(rows).sort()));
  return { train: train!, valid: valid!, test: test! };
}
