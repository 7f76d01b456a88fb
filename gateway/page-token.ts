import { createHash } from 'node:crypto';
import { Packr } from 'msgpackr';
import { ApiError } from './errors.js';

/**
 * `page_token`s (AIP-158): opaque to callers, they carry the ranking snapshot's
 * `recommendation_id`, the offset of the next page, and a fingerprint of the request's other
 * parameters, so that a token replayed with changed parameters is refused
 * (PAGE_TOKEN_MISMATCH) rather than paging through another ranking.
 */
export interface PageToken {
  recommendationId: string;
  offset: number;
  /** `requestFingerprint` of the request that made the snapshot. */
  fingerprint: string;
}

/** Bumped when the token's layout changes: an older token is then PAGE_TOKEN_INVALID. */
const TOKEN_VERSION = 1;
const packr = new Packr({ useRecords: false });

export function encodePageToken(t: PageToken): string {
  return Buffer.from(packr.pack([TOKEN_VERSION, t.recommendationId, t.offset, t.fingerprint])).toString('base64url');
}

/** The token's contents; PAGE_TOKEN_INVALID (naming `field`) for anything this server did not write. */
export function decodePageToken(token: string, field = 'page_token'): PageToken {
  const invalid = () => ApiError.invalid('PAGE_TOKEN_INVALID', [{ field, description: 'is not a page token this API returned; start again from the first page' }]);
  let v: unknown;
  try {
    v = packr.unpack(Buffer.from(token, 'base64url'));
  } catch {
    throw invalid();
  }
  if (!Array.isArray(v) || v.length !== 4 || v[0] !== TOKEN_VERSION) throw invalid();
  const [, recommendationId, offset, fingerprint] = v as [number, unknown, unknown, unknown];
  if (typeof recommendationId !== 'string' || recommendationId === '' || typeof fingerprint !== 'string' || !Number.isSafeInteger(offset) || (offset as number) < 0) throw invalid();
  return { recommendationId, offset: offset as number, fingerprint };
}

/** Checks that a token belongs to a request with this fingerprint: PAGE_TOKEN_MISMATCH otherwise. */
export function checkTokenFingerprint(t: PageToken, fingerprint: string, field = 'page_token'): void {
  if (t.fingerprint !== fingerprint) throw ApiError.invalid('PAGE_TOKEN_MISMATCH', [{ field, description: 'was returned for a request with other parameters; send the same parameters, or start again from the first page' }]);
}

/**
 * A stable fingerprint of a request's parameters, leaving out the paging fields (and any
 * other `ignore`d): the same whatever the key order of the objects.
 */
export function requestFingerprint(request: Record<string, unknown>, ignore: readonly string[] = ['pageToken', 'pageSize']): string {
  const skip = new Set(ignore);
  const canonical = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(canonical);
    if (v !== null && typeof v === 'object' && !(v instanceof Uint8Array)) {
      return Object.keys(v as object).sort().map((k) => [k, canonical((v as Record<string, unknown>)[k])]);
    }
    return v;
  };
  const top = Object.fromEntries(Object.entries(request).filter(([k]) => !skip.has(k)));
  return createHash('sha256').update(JSON.stringify(canonical(top))).digest('base64url').slice(0, 22);
}

/**
 * One page of `all` (a list read afresh on each call, in a stable order) for a request with
 * `pageSize` (already checked) and `pageToken`: the token carries the offset and the
 * request's fingerprint. `list` names the listing in the token.
 */
export function pageOf<T>(all: readonly T[], request: Record<string, unknown> & { pageToken: string }, pageSize: number, list: string): { items: T[]; nextPageToken: string } {
  const fingerprint = requestFingerprint(request);
  let offset = 0;
  if (request.pageToken !== '') {
    const t = decodePageToken(request.pageToken);
    checkTokenFingerprint(t, fingerprint);
    offset = t.offset;
  }
  const items = all.slice(offset, offset + pageSize);
  const nextPageToken = offset + pageSize < all.length ? encodePageToken({ recommendationId: list, offset: offset + pageSize, fingerprint }) : '';
  return { items, nextPageToken };
}
