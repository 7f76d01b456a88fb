/** An external id: MovieLens files give strings, callers in code often numbers. */
export type ExternalId = string | number;

/**
 * A dense index over external ids: the first id seen gets 0, the next new one 1, and so on,
 * so that parameters sit in rows of flat arrays instead of maps keyed by id. The number 42 and
 * the string '42' are one id: a file read as text and a caller passing numbers agree.
 *
 * An index only grows. A test file read against a training file's index gives ids the
 * training never saw indices past the training's count, and a model sized by that count
 * knows them for unseen.
 */
export class IdIndex {
  private readonly byId = new Map<string, number>();
  private readonly ids: string[] = [];

  /** Ids indexed so far; every index is below this. */
  get size(): number {
    return this.ids.length;
  }

  /** The index of `id`, given the next free one if it is new. */
  intern(id: ExternalId): number {
    const key = typeof id === 'string' ? id : String(id);
    let i = this.byId.get(key);
    if (i === undefined) {
      i = this.ids.length;
      this.byId.set(key, i);
      this.ids.push(key);
    }
    return i;
  }

  /** The index of `id`, or undefined if it was never seen. */
  get(id: ExternalId): number | undefined {
    return this.byId.get(typeof id === 'string' ? id : String(id));
  }

  /** The external id of `index` (as a string); throws on an index never given out. */
  idOf(index: number): string {
    const id = this.ids[index];
    if (id === undefined) throw new RangeError(`index ${index} is not in this index (size ${this.ids.length})`);
    return id;
  }
}
