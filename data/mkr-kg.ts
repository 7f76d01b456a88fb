import { fixedColumns } from './columns.js';
import { TABS } from './fields.js';
import type { DataReader, ReadOptions } from './reader.js';
import { tableReader } from './table.js';
import type { ItemEntity, KgTriple } from './types.js';

/*
 * The knowledge graph published with MKR (Wang et al., WWW 2019) and the knowledge-aware
 * recommenders after it (RippleNet, KGCN): tab-separated, no header, numeric entity ids.
 * The MovieLens-1M graph ends its lines in CRLF, which the line reader takes as it takes LF.
 */

/** The file of an MKR graph folder mapping titles to entities. */
export const MKR_ITEM_ENTITIES_FILE = 'item_index2entity_id.txt';
/** The file of an MKR graph folder holding its triples. */
export const MKR_TRIPLES_FILE = 'kg.txt';

const WHOLE = /^\d+$/;
// ':' separates a feature name's parts and a leading '~' marks a reversed relation (kg-features.ts).
const RELATION = /^[^\s:~][^\s:]*$/;

/**
 * `item_index2entity_id.txt`: `movie id \t entity id`. A movie mapped twice is an error (which
 * entity would it be?); an entity shared by two movies is not (ml-latest lists a few films under two ids).
 */
export function readItemEntities(file: string, opts: ReadOptions = {}): DataReader<ItemEntity> {
  return tableReader(
    file,
    async () => {
      // Per reading of the file: the entity each movie got, to refuse a second mapping.
      const seen = new Map<string, string>();
      return {
        what: `an MKR ${MKR_ITEM_ENTITIES_FILE} (movie id, entity id)`,
        separator: TABS,
        columns: fixedColumns({ item: 0, entity: 1 }, 2, 'movie id, entity id'),
        row: ([item, entity]: string[]) => {
          const [i, e] = [item!.trim(), entity!.trim()];
          if (!WHOLE.test(i)) return `movie id '${i}' is not a whole number`;
          if (!WHOLE.test(e)) return `entity id '${e}' is not a whole number`;
          const before = seen.get(i);
          if (before !== undefined) return `movie ${i} is mapped again (to entity ${e}, after entity ${before})`;
          seen.set(i, e);
          return { item: i, entity: e };
        },
      };
    },
    opts,
  );
}

/** `kg.txt`: `head entity \t relation \t tail entity`, a relation named like `film.film.director`. */
export function readKgTriples(file: string, opts: ReadOptions = {}): DataReader<KgTriple> {
  return tableReader(
    file,
    {
      what: `an MKR ${MKR_TRIPLES_FILE} (head entity, relation, tail entity)`,
      separator: TABS,
      columns: fixedColumns({ head: 0, relation: 1, tail: 2 }, 3, 'head entity, relation, tail entity'),
      row: ([head, relation, tail]: string[]) => {
        const [h, r, t] = [head!.trim(), relation!.trim(), tail!.trim()];
        if (!WHOLE.test(h)) return `head entity '${h}' is not a whole number`;
        if (!RELATION.test(r)) return `relation '${r}' is empty, holds a space or ':', or starts with '~'`;
        if (!WHOLE.test(t)) return `tail entity '${t}' is not a whole number`;
        return { head: h, relation: r, tail: t };
      },
    },
    opts,
  );
}
