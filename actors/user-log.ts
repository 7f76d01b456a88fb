import { InvalidArgument, type ActorAddress } from '../runtime/index.js';
import { MAX_ID_CHARS, requireObject, show } from './decode.js';
import { INTERACTION_TYPES, type LogCursor, type LogDelete, type LoggedInteraction, type LoggedType, type LogQuery } from './messages.js';
import { typeCode, typeOfCode, TYPE_UNSPECIFIED, type TitleInterner, type UserHistory } from './training/node-params.js';

/** Interactions one `interactions` page holds at most. */
export const MAX_LOG_PAGE = 1000;
/** Titles one `deleteInteractions` names at most. */
export const MAX_LOG_DELETE_TITLES = 1000;

const LOGGED: ReadonlySet<unknown> = new Set<LoggedType>(['UNSPECIFIED', ...INTERACTION_TYPES]);

function invalid(to: ActorAddress, what: string, field: string, reason: string): InvalidArgument {
  return new InvalidArgument(`${to.kind} actor ${to.key}: invalid ${what}: ${field} ${reason}`, { kind: to.kind, key: to.key, fields: [field] });
}

function decodeTypes(v: unknown, to: ActorAddress, what: string): LoggedType[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw invalid(to, what, 'types', `${show(v)} must be an array`);
  v.forEach((t, i) => {
    if (!LOGGED.has(t)) throw invalid(to, what, `types[${i}]`, `${show(t)} is not one of UNSPECIFIED, ${INTERACTION_TYPES.join(', ')}`);
  });
  return v as LoggedType[];
}

/** Checks `interactions`'s body (the gateway checked the request; a node checks what reaches it). */
export function decodeLogQuery(body: unknown, to: ActorAddress): Required<Pick<LogQuery, 'types' | 'limit'>> & Pick<LogQuery, 'after'> {
  const b = requireObject(body, to, 'interactions');
  const types = decodeTypes(b.types, to, 'interactions');
  if (!Number.isInteger(b.limit) || (b.limit as number) < 1 || (b.limit as number) > MAX_LOG_PAGE) throw invalid(to, 'interactions', 'limit', `${show(b.limit)} must be a whole number from 1 to ${MAX_LOG_PAGE}`);
  if (b.after === undefined || b.after === null) return { types, limit: b.limit as number };
  const a = b.after as Partial<LogCursor>;
  const ok = typeof a === 'object' && Number.isFinite(a.eventTimeMs) && typeof a.titleId === 'string' && LOGGED.has(a.type) && typeof a.eventId === 'string' && Number.isSafeInteger(a.at);
  if (!ok) throw invalid(to, 'interactions', 'after', 'must be a cursor from an earlier page');
  return { types, limit: b.limit as number, after: a as LogCursor };
}

/** Checks `deleteInteractions`'s body. */
export function decodeLogDelete(body: unknown, to: ActorAddress): Required<LogDelete> {
  const b = body === undefined || body === null ? {} : requireObject(body, to, 'deleteInteractions');
  const types = decodeTypes(b.types, to, 'deleteInteractions');
  const ids = b.titleIds ?? [];
  if (!Array.isArray(ids) || ids.length > MAX_LOG_DELETE_TITLES) throw invalid(to, 'deleteInteractions', 'titleIds', `must be an array of at most ${MAX_LOG_DELETE_TITLES} title ids`);
  ids.forEach((t, i) => {
    if (typeof t !== 'string' || t === '' || t.length > MAX_ID_CHARS) throw invalid(to, 'deleteInteractions', `titleIds[${i}]`, `${show(t)} must be a non-empty string of at most ${MAX_ID_CHARS} characters`);
  });
  return { titleIds: ids as string[], types };
}

/** The log's order, newest first: > 0 when interaction `a` comes after `b`. */
function compare(a: LogCursor, b: LogCursor): number {
  return b.eventTimeMs - a.eventTimeMs || (a.titleId < b.titleId ? -1 : a.titleId > b.titleId ? 1 : 0) || typeCode(a.type) - typeCode(b.type) || (a.eventId < b.eventId ? -1 : a.eventId > b.eventId ? 1 : 0) || a.at - b.at;
}

/**
 * A page of `history`, newest first, of the types asked (all when none), starting after
 * `q.after`. Sorts the matching part of the log on each call: a user's log is thousands of
 * interactions at most, and a kept order would cost memory for every user to serve a rare read.
 */
export function logPage(history: UserHistory, titles: TitleInterner, q: ReturnType<typeof decodeLogQuery>): { interactions: LoggedInteraction[]; next?: LogCursor } {
  const want = q.types.length === 0 ? undefined : new Set(q.types.map(typeCode));
  const types = history.types;
  const times = history.times;
  const keys: LogCursor[] = [];
  for (let j = 0; j < history.length; j++) {
    if (want !== undefined && !want.has(types[j]!)) continue;
    const c: LogCursor = { eventTimeMs: times[j]!, titleId: titles.key(history.titles[j]!), type: typeOfCode(types[j]!), eventId: history.eventIdAt(j), at: j };
    if (q.after === undefined || compare(c, q.after) > 0) keys.push(c);
  }
  keys.sort(compare);
  const page = keys.slice(0, q.limit);
  const interactions = page.map((c) => ({ eventId: c.eventId, titleId: c.titleId, type: c.type, value: history.valueAt(c.at), eventTimeMs: c.eventTimeMs }));
  return keys.length > q.limit ? { interactions, next: page[page.length - 1]! } : { interactions };
}

/** Which positions of `history` a `LogDelete` matches (titles this node never saw match nothing). */
export function deleteMatcher(history: UserHistory, titles: TitleInterner, d: Required<LogDelete>): (j: number) => boolean {
  const byTitle = d.titleIds.length === 0 ? undefined : new Set(d.titleIds.map((t) => titles.find(t)));
  const byType = d.types.length === 0 ? undefined : new Set(d.types.map(typeCode));
  const t = history.titles;
  const k = history.types;
  return (j) => (byTitle === undefined || byTitle.has(t[j]!)) && (byType === undefined || byType.has(k[j]!));
}

/**
 * The titles the user dislikes by what is left of its log: those whose last thumbs (up or down)
 * is a thumbs-down. A title disliked `before` whose thumbs-down was kept before the log kept
 * types (an UNSPECIFIED interaction remains, and no typed thumbs) stays disliked.
 */
export function dislikedIn(history: UserHistory, titles: TitleInterner, before: ReadonlySet<string>): Set<string> {
  const down = typeCode('THUMBS_DOWN');
  const up = typeCode('THUMBS_UP');
  const out = new Set<string>();
  const decided = new Set<string>();
  const untyped = new Set<string>();
  const t = history.titles;
  const k = history.types;
  for (let j = 0; j < history.length; j++) {
    const key = titles.key(t[j]!);
    if (k[j] === down || k[j] === up) {
      if (k[j] === down) out.add(key);
      else out.delete(key);
      decided.add(key);
    } else if (k[j] === TYPE_UNSPECIFIED) {
      untyped.add(key);
    }
  }
  for (const key of before) if (!decided.has(key) && untyped.has(key)) out.add(key);
  return out;
}
