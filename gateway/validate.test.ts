import { Metadata, status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import type { RequestContext__Output } from '../protos/generated/reel/v1/RequestContext.js';
import type { TitleFilter__Output } from '../protos/generated/reel/v1/TitleFilter.js';
import { JOB_VERSION_PATTERN } from '../actors/training/index.js';
import { askDeadlineMs, DEADLINE_MARGIN_MS } from './deadline.js';
import { ApiError } from './errors.js';
import { checkTokenFingerprint, decodePageToken, encodePageToken, requestFingerprint } from './page-token.js';
import { traceIdOf } from './trace.js';
import { versionOfRequest } from './training-jobs.js';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, RequestCheck } from './validate.js';

/** The ApiError `fn` throws (fails the test if it throws nothing). */
function thrown(fn: () => void): ApiError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ApiError);
    return err as ApiError;
  }
  throw new Error('nothing thrown');
}

const filter = (f: Partial<TitleFilter__Output> = {}): TitleFilter__Output => ({ includeGenres: [], excludeGenres: [], requireAllGenres: false, includeReleaseYears: [], excludeReleaseYears: [], excludeTitleIds: [], includeWatched: false, ...f });
const context = (c: Partial<RequestContext__Output> = {}): RequestContext__Output => ({ device: 'DEVICE_TYPE_TV', timeZone: '', surface: '', rowId: '', locale: '', sessionId: '', attributes: {}, ...c });

describe('gateway request checks', () => {
  it('request checks - page_size: 0 is the default, negative INVALID_PAGE_SIZE, above the maximum clamped', () => {
    const c = new RequestCheck();
    expect(c.pageSize('page_size', 0)).toBe(DEFAULT_PAGE_SIZE);
    expect(c.pageSize('page_size', undefined)).toBe(DEFAULT_PAGE_SIZE);
    expect(c.pageSize('page_size', 7)).toBe(7);
    expect(c.pageSize('page_size', 5_000)).toBe(MAX_PAGE_SIZE);
    expect(c.ok).toBe(true);
    c.pageSize('page_size', -1);
    const e = thrown(() => c.done());
    expect([e.code, e.reason, e.violations.map((v) => v.field)]).toEqual([status.INVALID_ARGUMENT, 'INVALID_PAGE_SIZE', ['page_size']]);
  });

  it('request checks - every violation is reported at once, each by its proto path, the reason the first one\'s', () => {
    const c = new RequestCheck();
    c.id('user_id', '');
    c.id('title_id', 'x'.repeat(257));
    c.enumValue('window', 9 as number, 'POPULARITY_WINDOW_UNSPECIFIED');
    c.range('diversity', 1.5, 0, 1);
    c.context('context', context({ localHour: 24, device: 42 as unknown as RequestContext__Output['device'], attributes: Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, 'v'])) }));
    c.filter('filter', filter({ minReleaseYear: 2001, maxReleaseYear: 1999, includeGenres: ['Drama', ''] }));
    const e = thrown(() => c.done());
    expect(e.reason).toBe('MISSING_FIELD');
    expect(e.violations.map((v) => v.field)).toEqual([
      'user_id', 'title_id', 'window', 'diversity', 'context.local_hour', 'context.device', 'context.attributes', 'filter.min_release_year', 'filter.include_genres[1]',
    ]);
    expect(e.message).toContain('filter.min_release_year: must not be above filter.max_release_year (2001 > 1999)');
  });

  it('request checks - a good request passes: known enums, bounds in order, an absent context and filter', () => {
    const c = new RequestCheck();
    expect(c.id('user_id', 'u1')).toBe('u1');
    expect(c.optionalId('user_id', '')).toBe('');
    expect(c.enumValue('window', 'POPULARITY_WINDOW_DAY', 'POPULARITY_WINDOW_UNSPECIFIED')).toBe('POPULARITY_WINDOW_DAY');
    c.range('diversity', undefined, 0, 1);
    c.context('context', null);
    c.context('context', context({ localHour: 23 }));
    c.filter('filter', filter({ minReleaseYear: 1990, maxReleaseYear: 1990 }));
    c.filter('filter', undefined);
    expect(() => c.done()).not.toThrow();
  });
});

describe('gateway page tokens', () => {
  it('page tokens - round trip; garbage, a truncated token or another layout is PAGE_TOKEN_INVALID; other parameters PAGE_TOKEN_MISMATCH', () => {
    const req = { userId: 'u1', filter: { includeGenres: ['Drama'], minReleaseYear: 1990 }, pageSize: 20, pageToken: '' };
    const fp = requestFingerprint(req);
    const token = encodePageToken({ recommendationId: 'r-123', offset: 20, fingerprint: fp });
    expect(decodePageToken(token)).toEqual({ recommendationId: 'r-123', offset: 20, fingerprint: fp });
    // The paging fields and key order do not change the fingerprint; any other parameter does.
    expect(requestFingerprint({ pageToken: token, pageSize: 50, filter: { minReleaseYear: 1990, includeGenres: ['Drama'] }, userId: 'u1' })).toBe(fp);
    expect(requestFingerprint({ ...req, userId: 'u2' })).not.toBe(fp);
    expect(() => checkTokenFingerprint(decodePageToken(token), fp)).not.toThrow();
    const mismatch = thrown(() => checkTokenFingerprint(decodePageToken(token), requestFingerprint({ ...req, filter: { includeGenres: ['Comedy'] } })));
    expect([mismatch.reason, mismatch.violations[0]!.field]).toEqual(['PAGE_TOKEN_MISMATCH', 'page_token']);
    for (const bad of ['not a token', token.slice(0, -4), Buffer.from('[2,"r",0,"f"]').toString('base64url'), encodePageToken({ recommendationId: '', offset: 0, fingerprint: fp })]) {
      expect(thrown(() => decodePageToken(bad)).reason).toBe('PAGE_TOKEN_INVALID');
    }
  });
});

describe('gateway trace ids', () => {
  it('trace ids - a well-formed traceparent gives its trace id; a malformed, all-zero or version-ff one gets a fresh id', () => {
    const md = (v?: string) => {
      const m = new Metadata();
      if (v !== undefined) m.set('traceparent', v);
      return m;
    };
    expect(traceIdOf(md('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'))).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    for (const bad of [undefined, 'garbage', '00-00000000000000000000000000000000-00f067aa0ba902b7-01', 'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01']) {
      const id = traceIdOf(md(bad));
      expect(id).toMatch(/^[0-9a-f]{32}$/);
      expect(id).not.toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    }
  });
});

describe('gateway deadlines', () => {
  it('deadlines - a client deadline becomes the asks\' deadline, less a margin and capped; none gives the cap', () => {
    const call = (d: Date | number) => ({ getDeadline: () => d });
    expect(askDeadlineMs(call(Infinity), 5_000)).toBe(5_000);
    const left = askDeadlineMs(call(new Date(Date.now() + 1_000)), 5_000);
    expect(left).toBeLessThanOrEqual(1_000 - DEADLINE_MARGIN_MS);
    expect(left).toBeGreaterThan(500);
    expect(askDeadlineMs(call(Date.now() + 60_000), 5_000)).toBe(5_000);
    // Already past: the shortest ask there is, which fails at once.
    expect(askDeadlineMs(call(Date.now() - 10), 5_000)).toBe(1);
  });
});

describe('gateway training-job ids', () => {
  it('training-job ids - a request id that is a job version id names the version; any other (too long, other characters) is hashed into one', () => {
    expect(versionOfRequest('')).toBeUndefined();
    expect(versionOfRequest('gw-job-1')).toBe('gw-job-1');
    const long64 = 'a'.repeat(64);
    expect(versionOfRequest(long64)).toBe(long64);
    for (const other of ['a'.repeat(65), 'a'.repeat(128), 'with space', 'ünïcode']) {
      const v = versionOfRequest(other)!;
      expect(v).toMatch(/^job-[0-9a-f]{20}$/);
      expect(JOB_VERSION_PATTERN.test(v)).toBe(true);
      expect(versionOfRequest(other)).toBe(v);
    }
  });
});
