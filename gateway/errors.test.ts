import { Metadata, status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { DeadlineExceeded, InvalidArgument, NoRoute, Overloaded } from '../runtime/index.js';
import { AdminAuth } from './auth.js';
import { ApiError, apiErrorOf, decodeStatusDetails, ERROR_DOMAIN, toServiceError } from './errors.js';

describe('gateway errors', () => {
  it('gateway errors - INVALID_ARGUMENT carries ErrorInfo and a BadRequest naming every field by its proto path; the message names them too', () => {
    const e = ApiError.invalid('VALUE_OUT_OF_RANGE', [
      { field: 'filter.min_release_year', description: 'must not be above filter.max_release_year' },
      { field: 'interactions[3].event_id', description: 'is required' },
    ]);
    const se = toServiceError(e);
    expect(se.code).toBe(status.INVALID_ARGUMENT);
    expect(se.details).toContain('filter.min_release_year');
    expect(se.details).toContain('interactions[3].event_id');
    const d = decodeStatusDetails(se.metadata as Metadata);
    expect(d).toEqual({
      code: status.INVALID_ARGUMENT,
      message: se.details,
      errorInfo: { reason: 'VALUE_OUT_OF_RANGE', domain: ERROR_DOMAIN, metadata: {} },
      fieldViolations: e.violations,
    });
  });

  it('gateway errors - the cluster\'s errors: a refused argument is the caller\'s, a cluster that cannot answer is UNAVAILABLE, anything else INTERNAL with nothing of ours leaked', () => {
    const bad = apiErrorOf(new InvalidArgument('userId must be a non-empty string', { fields: ['userId'] }));
    expect([bad.code, bad.violations.map((v) => v.field)]).toEqual([status.INVALID_ARGUMENT, ['userId']]);
    for (const err of [new NoRoute('no owner for shard 3'), new Overloaded('mailbox full'), new DeadlineExceeded('2000 ms')]) {
      expect(apiErrorOf(err)).toMatchObject({ code: status.UNAVAILABLE, reason: 'CLUSTER_UNAVAILABLE' });
    }
    const bug = toServiceError(new TypeError('secret internals at /srv/x.js:12'));
    expect(bug.code).toBe(status.INTERNAL);
    expect(bug.details).toBe('internal error');
    expect(decodeStatusDetails(bug.metadata as Metadata)?.errorInfo?.reason).toBe('INTERNAL');
    // A trailer-less failure decodes to nothing rather than throwing.
    expect(decodeStatusDetails(new Metadata())).toBeUndefined();
  });

  it('gateway errors - admin auth: no bearer is UNAUTHENTICATED, a wrong or any token on a gateway without one PERMISSION_DENIED, the right one passes', () => {
    const md = (v?: string) => {
      const m = new Metadata();
      if (v !== undefined) m.set('authorization', v);
      return m;
    };
    const code = (auth: AdminAuth, m: Metadata) => {
      try {
        auth.check(m);
        return status.OK;
      } catch (err) {
        return (err as ApiError).code;
      }
    };
    const auth = new AdminAuth('s3cret');
    expect(code(auth, md())).toBe(status.UNAUTHENTICATED);
    expect(code(auth, md('Basic s3cret'))).toBe(status.UNAUTHENTICATED);
    expect(code(auth, md('Bearer nope'))).toBe(status.PERMISSION_DENIED);
    expect(code(auth, md('Bearer s3cret'))).toBe(status.OK);
    expect(code(auth, md('bearer s3cret'))).toBe(status.OK);
    expect(code(new AdminAuth(undefined), md('Bearer s3cret'))).toBe(status.PERMISSION_DENIED);
    expect(code(new AdminAuth(''), md('Bearer '))).toBe(status.UNAUTHENTICATED);
  });
});
