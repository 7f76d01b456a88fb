import { createHash, timingSafeEqual } from 'node:crypto';
import { status, type Metadata } from '@grpc/grpc-js';
import { ApiError } from './errors.js';

/**
 * AdminService's bearer token check, made before anything else a call does: no
 * `authorization: Bearer …` metadata is UNAUTHENTICATED, a wrong token PERMISSION_DENIED
 * (both with reason ADMIN_AUTH_REQUIRED). A gateway started without a token refuses every
 * admin call: an unprotected admin surface is never the default.
 */
export class AdminAuth {
  private readonly digest: Buffer | undefined;

  constructor(token: string | undefined) {
    this.digest = token === undefined || token === '' ? undefined : sha256(token);
  }

  /** Throws the ApiError a call with `metadata` gets, or returns when it may proceed. */
  check(metadata: Metadata): void {
    const header = metadata.get('authorization')[0];
    const m = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (m === null) throw new ApiError(status.UNAUTHENTICATED, 'ADMIN_AUTH_REQUIRED', 'AdminService needs `authorization: Bearer <token>` metadata');
    // Compared as digests: equal lengths, and no timing tells how much of a guess was right.
    if (this.digest === undefined) throw new ApiError(status.PERMISSION_DENIED, 'ADMIN_AUTH_REQUIRED', 'this gateway has no admin token (REEL_ADMIN_TOKEN): AdminService is closed');
    if (!timingSafeEqual(sha256(m[1]!), this.digest)) throw new ApiError(status.PERMISSION_DENIED, 'ADMIN_AUTH_REQUIRED', 'the admin token is not this gateway\'s');
  }
}

function sha256(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}
