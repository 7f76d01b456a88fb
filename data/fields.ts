/**
 * How the fields of one line are separated, for every MovieLens format: one splitter per
 * separator, shared by the ratings reader and the title, user, tag and link readers.
 */
export interface Separator {
  /** For people: "tab-separated". */
  name: string;
  /** The fields of a line, or what is wrong with it (a CSV quote left open). */
  split(line: string): string[] | string;
}

// Regular expressions, not strings: V8 splits a short line by /\t/ about twice as fast as by '\t'.
/** ml-1m and ml-10m: `ratings.dat`, `movies.dat`, `users.dat`, `tags.dat`. */
export const COLONS: Separator = { name: "'::'-separated", split: (l) => l.split(/::/) };
/** ml-100k `u.data` and its folds. */
export const TABS: Separator = { name: 'tab-separated', split: (l) => l.split(/\t/) };
/** ml-100k `u.item`, `u.user`, `u.genre`. */
export const PIPES: Separator = { name: "'|'-separated", split: (l) => l.split(/\|/) };
/** ml-latest and ml-20m/25m/32m CSVs, and CSVs written by other tools. */
export const COMMAS: Separator = { name: 'comma-separated', split: splitCsv };
/** Ratings files written by hand or by `awk`. */
export const SPACES: Separator = { name: 'whitespace-separated', split: (l) => l.split(/\s+/) };

/**
 * One CSV line's fields (RFC 4180 within one line): a field that starts with `"` is quoted,
 * may hold commas, and writes a quote as `""` (ml-latest `movies.csv`:
 * `11,"American President, The (1995)",Comedy|Drama|Romance`); a quote inside an unquoted
 * field is kept as it is. Lines are read one at a time, so a quoted field left open at the
 * end of the line (one that would hold a line break) is an error, not a silent merge of two
 * records. Quotes are rare in ratings files, so a line without any takes the fast path.
 */
export function splitCsv(line: string): string[] | string {
  if (!line.includes('"')) return line.split(/,/);
  const out: string[] = [];
  let i = 0;
  for (;;) {
    if (line[i] === '"') {
      let field = '';
      let from = i + 1;
      for (;;) {
        const q = line.indexOf('"', from);
        if (q < 0) return `a quoted field opened at column ${i + 1} is not closed on this line`;
        field += line.slice(from, q);
        if (line[q + 1] !== '"') {
          i = q + 1;
          break;
        }
        field += '"';
        from = q + 2;
      }
      out.push(field);
      if (i === line.length) return out;
      if (line[i] !== ',') return `text after the quoted field closed at column ${i}`;
      i++;
    } else {
      const comma = line.indexOf(',', i);
      if (comma < 0) {
        out.push(line.slice(i));
        return out;
      }
      out.push(line.slice(i, comma));
      i = comma + 1;
    }
  }
}
