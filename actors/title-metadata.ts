import type { ActorAddress } from '../runtime/index.js';
import { requireObject, show, Violations } from './decode.js';
import type { TitleMetadataBody } from './messages.js';

/** Longest display name, in UTF-16 code units. */
export const MAX_DISPLAY_NAME_CHARS = 1024;
/** Longest genre, tag, label key or label value, in UTF-16 code units. */
export const MAX_TERM_CHARS = 256;
/** Most genres a title may have, and most labels one message may set. */
export const MAX_GENRES = 64;
/** Most tags one message may carry (a title may gather more over many). */
export const MAX_TAGS_PER_MESSAGE = 1000;

/** What a title snapshot keeps of its metadata; absent fields were never set. */
export interface StoredTitleMetadata {
  displayName?: string;
  releaseYear?: number;
  genres?: string[];
  tags?: string[];
  labels?: Record<string, string>;
  hidden?: boolean;
  publishTimeMs?: number;
}

function isTerm(v: unknown, max = MAX_TERM_CHARS): v is string {
  return typeof v === 'string' && v.length > 0 && v.length <= max;
}

/** A list of at most `max` terms, or undefined after noting what is wrong. */
export function terms(bad: Violations, field: string, v: unknown, max: number): string[] | undefined {
  if (!Array.isArray(v) || v.length > max) {
    bad.add(field, v, `must be a list of at most ${max} strings`);
    return undefined;
  }
  const i = v.findIndex((t) => !isTerm(t));
  if (i < 0) return v.slice() as string[];
  bad.add(`${field}[${i}]`, v[i], `must be a non-empty string of at most ${MAX_TERM_CHARS} characters`);
  return undefined;
}

/** A map of at most `MAX_GENRES` labels (non-empty keys, short values), copied; or undefined after noting what is wrong. */
export function labels(bad: Violations, field: string, l: unknown): Record<string, string> | undefined {
  if (l === null || typeof l !== 'object' || Array.isArray(l) || Object.keys(l).length > MAX_GENRES) {
    bad.add(field, l, `must be a map of at most ${MAX_GENRES} string keys to string values`);
    return undefined;
  }
  const entries = Object.entries(l as Record<string, unknown>);
  const wrong = entries.find(([k, v]) => !isTerm(k) || typeof v !== 'string' || v.length > MAX_TERM_CHARS);
  if (wrong) {
    bad.add(`${field}[${show(wrong[0])}]`, wrong[1], `must map a non-empty key to a string of at most ${MAX_TERM_CHARS} characters`);
    return undefined;
  }
  return Object.fromEntries(entries) as Record<string, string>;
}

/** Merges `add` into `held` key by key; true when something changed. */
export function mergeLabels(held: { labels?: Record<string, string> }, add: Record<string, string>): boolean {
  let changed = false;
  for (const [k, v] of Object.entries(add)) {
    if (held.labels?.[k] === v) continue;
    (held.labels ??= {})[k] = v;
    changed = true;
  }
  return changed;
}

/**
 * Checks a `metadata` body before it touches state and returns a fresh `TitleMetadataBody` of
 * the fields given (unknown ones are dropped, and nothing of the sender's is kept). Throws
 * `InvalidArgument` listing every bad field.
 */
export function decodeTitleMetadata(body: unknown, to: ActorAddress): TitleMetadataBody {
  const b = requireObject(body, to, 'metadata');
  const bad = new Violations();
  const out: TitleMetadataBody = {};
  if (b.displayName !== undefined) {
    if (isTerm(b.displayName, MAX_DISPLAY_NAME_CHARS)) out.displayName = b.displayName;
    else bad.add('displayName', b.displayName, `must be a non-empty string of at most ${MAX_DISPLAY_NAME_CHARS} characters`);
  }
  if (b.releaseYear !== undefined) {
    const y = b.releaseYear;
    if (typeof y === 'number' && Number.isInteger(y) && y >= 1 && y <= 9999) out.releaseYear = y;
    else bad.add('releaseYear', y, 'must be an integer from 1 to 9999');
  }
  if (b.genres !== undefined) {
    const g = terms(bad, 'genres', b.genres, MAX_GENRES);
    if (g) out.genres = [...new Set(g)];
  }
  if (b.tags !== undefined) {
    const t = terms(bad, 'tags', b.tags, MAX_TAGS_PER_MESSAGE);
    if (t) out.tags = t;
  }
  if (b.labels !== undefined) {
    const l = labels(bad, 'labels', b.labels);
    if (l) out.labels = l;
  }
  if (b.hidden !== undefined) {
    if (typeof b.hidden === 'boolean') out.hidden = b.hidden;
    else bad.add('hidden', b.hidden, 'must be true or false');
  }
  if (b.publishTimeMs !== undefined) {
    const t = b.publishTimeMs;
    if (typeof t === 'number' && Number.isSafeInteger(t) && t >= 0) out.publishTimeMs = t;
    else bad.add('publishTimeMs', t, 'must be a non-negative safe integer (ms since the Unix epoch)');
  }
  bad.throwIfAny(to, 'metadata');
  return out;
}

function sameList(a: readonly string[] | undefined, b: readonly string[]): boolean {
  return a !== undefined && a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * A title's metadata: an upsert of the same body twice changes nothing; tags merge as a set
 * and labels key by key, while name, year, genres, hidden and publish time are replaced.
 */
export class TitleMetadata {
  private m: StoredTitleMetadata;
  /** `m.tags` as a set, built on first use (tags are checked one by one). */
  private tagSet: Set<string> | undefined;

  constructor(stored?: StoredTitleMetadata) {
    this.m = stored ? { ...stored } : {};
  }

  /** Applies a decoded body; true when something changed. */
  upsert(b: TitleMetadataBody): boolean {
    const m = this.m;
    let changed = false;
    if (b.displayName !== undefined && b.displayName !== m.displayName) {
      m.displayName = b.displayName;
      changed = true;
    }
    if (b.releaseYear !== undefined && b.releaseYear !== m.releaseYear) {
      m.releaseYear = b.releaseYear;
      changed = true;
    }
    if (b.genres !== undefined && !sameList(m.genres, b.genres)) {
      m.genres = b.genres.slice();
      changed = true;
    }
    if (b.tags !== undefined && b.tags.length > 0) {
      const set = (this.tagSet ??= new Set(m.tags));
      for (const t of b.tags) {
        if (set.has(t)) continue;
        set.add(t);
        (m.tags ??= []).push(t);
        changed = true;
      }
    }
    if (b.labels !== undefined && mergeLabels(m, b.labels)) changed = true;
    if (b.hidden !== undefined && b.hidden !== (m.hidden ?? false)) {
      m.hidden = b.hidden;
      changed = true;
    }
    if (b.publishTimeMs !== undefined && b.publishTimeMs !== m.publishTimeMs) {
      m.publishTimeMs = b.publishTimeMs;
      changed = true;
    }
    return changed;
  }

  /** For the snapshot: undefined while nothing was ever set, so that such snapshots stay as they were. */
  stored(): StoredTitleMetadata | undefined {
    return Object.keys(this.m).length === 0 ? undefined : this.m;
  }

  /** The fields of `TitleSummary` it fills, as copies. */
  view(): { displayName: string; releaseYear: number; genres: string[]; tags: string[]; labels: Record<string, string>; hidden: boolean; publishTimeMs: number } {
    const m = this.m;
    return {
      displayName: m.displayName ?? '', releaseYear: m.releaseYear ?? 0, genres: m.genres?.slice() ?? [], tags: m.tags?.slice() ?? [], labels: { ...m.labels },
      hidden: m.hidden ?? false, publishTimeMs: m.publishTimeMs ?? 0,
    };
  }
}
