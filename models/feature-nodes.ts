/**
 * Feature nodes of the content-aware graph: one node per feature (`genre:Comedy`,
 * `year:1995-1999`, a tag, a knowledge-graph entity), linked to the titles having it. One
 * propagation from the warm titles gives each node an embedding, and one back from the nodes
 * gives a cold title, which has no interactions, an embedding from its features alone.
 */
export interface FeatureNodes {
  /** Features (nodes). */
  readonly count: number;
  /** Floats per row. */
  readonly width: number;
  /** count × width, row-major: each feature's embedding; zeros for a feature no warm title has. */
  readonly rows: Float32Array;
  /** Warm titles having each feature. */
  readonly degree: Uint32Array;
}

/**
 * Each feature's row: the degree-normalised mean of the rows of the warm titles having it,
 * a title with d features weighing 1/d, so that a title described by one feature speaks for
 * it more than one described by ten. `byTitle[t]` are title t's feature ids (undefined: none),
 * `titleRows` its rows (titles × width).
 */
export function featureNodes(byTitle: readonly (Uint32Array | undefined)[], titleRows: Float32Array, width: number, count: number): FeatureNodes {
  const sums = new Float64Array(count * width);
  const mass = new Float64Array(count);
  const degree = new Uint32Array(count);
  byTitle.forEach((ids, t) => {
    if (ids === undefined || ids.length === 0) return;
    const w = 1 / ids.length;
    for (const f of ids) {
      degree[f]++;
      mass[f] += w;
      for (let d = 0; d < width; d++) sums[f * width + d] += w * titleRows[t * width + d]!;
    }
  });
  const rows = new Float32Array(count * width);
  for (let f = 0; f < count; f++) if (mass[f]! > 0) for (let d = 0; d < width; d++) rows[f * width + d] = sums[f * width + d]! / mass[f]!;
  return { count, width, rows, degree };
}

/**
 * The mean of the rows of the features `ids` that some warm title has, into `out` (width
 * floats); false, with `out` untouched, when none has one: such a title's features say nothing
 * learned.
 */
export function meanOfFeatureNodes(nodes: FeatureNodes, ids: ArrayLike<number>, out: Float32Array): boolean {
  const { width, rows, degree } = nodes;
  let known = 0;
  for (let x = 0; x < ids.length; x++) if (degree[ids[x]!]! > 0) known++;
  if (known === 0) return false;
  out.fill(0);
  for (let x = 0; x < ids.length; x++) {
    const f = ids[x]!;
    if (degree[f] === 0) continue;
    for (let d = 0; d < width; d++) out[d] += rows[f * width + d]! / known;
  }
  return true;
}
