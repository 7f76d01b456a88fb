/** Where each value of a record sits on a line, and how many fields a line has. */
export interface Columns<F extends string> {
  at: Record<F, number>;
  count: number;
  /** What a line with the wrong number of fields is told. */
  countProblem(got: number): string;
}

/** The columns of a headerless format: fixed positions, described for the error message. */
export function fixedColumns<F extends string>(at: Record<F, number>, count: number, describe: string): Columns<F> {
  return { at, count, countProblem: (got) => `expected ${count} fields (${describe}), got ${got}` };
}

/** The columns a header line may name, for one kind of record. */
export interface HeaderSchema<F extends string> {
  /**
   * Names a header may use, normalised by `columnKey`. A Map, not an object: a column
   * called `constructor` must not find `Object.prototype.constructor`.
   */
  names: ReadonlyMap<string, F>;
  /** Every field the header must name, each with what a header lacking it is told. */
  meant: Record<F, string>;
}

/**
 * A column name compared in lower case without `_`, `-` or spaces, so that `userId`,
 * `user_id` and `UserID` (ml-1m's README) are one name.
 */
export function columnKey(name: string): string {
  return name.trim().toLowerCase().replace(/[-_\s]/g, '');
}

/**
 * The columns a header line names, what is wrong with it, or undefined if it names none of
 * the schema's (then it is no header at all). Columns it does not know (an R row name, a
 * tag) are kept in the count and otherwise ignored.
 */
export function headerColumns<F extends string>(fields: string[], schema: HeaderSchema<F>): Columns<F> | string | undefined {
  const at: Partial<Record<F, number>> = {};
  for (const [i, f] of fields.entries()) {
    const field = schema.names.get(columnKey(f));
    if (field === undefined) continue;
    const before = at[field];
    if (before !== undefined) return `the header names two ${field} columns ('${fields[before]!.trim()}' and '${f.trim()}')`;
    at[field] = i;
  }
  if (Object.keys(at).length === 0) return undefined;
  const missing = (Object.keys(schema.meant) as F[]).find((f) => at[f] === undefined);
  if (missing) return `the header names no ${schema.meant[missing]}`;
  const count = fields.length;
  return { at: at as Record<F, number>, count, countProblem: (got) => `expected ${count} fields as the header names, got ${got}` };
}
