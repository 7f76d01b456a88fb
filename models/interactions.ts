import type { RatingsTable } from './ratings.js';

/**
 * A table's interactions in compressed rows, with their ratings: row r's columns are
 * `cols[offsets[r] .. offsets[r+1])` and its values the same slice of `values`. By user
 * (columns are items) for the user half-sweep of ALS, by item (columns are users) for the item
 * half; a repeated (user, item) pair stays two entries, weighing twice.
 */
export interface InteractionRows {
  /** `rows + 1` entries. */
  readonly offsets: Uint32Array;
  readonly cols: Uint32Array;
  readonly values: Float32Array;
  readonly rows: number;
}

/** The interactions of `table` grouped by user (`by: 'user'`, `rows` = userCount) or by item. */
export function interactionRows(table: RatingsTable, by: 'user' | 'item', rows = by === 'user' ? table.userCount : table.itemCount): InteractionRows {
  const key = by === 'user' ? table.users : table.items;
  const col = by === 'user' ? table.items : table.users;
  const offsets = new Uint32Array(rows + 1);
  for (let j = 0; j < table.n; j++) offsets[key[j]! + 1]++;
  for (let r = 0; r < rows; r++) offsets[r + 1] += offsets[r]!;
  const fill = offsets.slice(0, rows);
  const cols = new Uint32Array(table.n);
  const values = new Float32Array(table.n);
  for (let j = 0; j < table.n; j++) {
    const at = fill[key[j]!]!++;
    cols[at] = col[j]!;
    values[at] = table.ratings[j]!;
  }
  return { offsets, cols, values, rows };
}
