import { randomBytes } from 'node:crypto';
import type { Metadata } from '@grpc/grpc-js';

/** A W3C trace context version 00 `traceparent`: version, trace id, parent id, flags. */
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/**
 * The trace id of a call: the one in its W3C `traceparent` metadata when that is well formed
 * (not all zeros, not version ff), else a new random one. It becomes the actor envelopes'
 * trace id and appears in every log line of the call.
 */
export function traceIdOf(metadata: Metadata): string {
  const v = metadata.get('traceparent')[0];
  if (typeof v === 'string') {
    const m = TRACEPARENT.exec(v.trim().toLowerCase());
    if (m !== null && m[1] !== 'ff' && !/^0+$/.test(m[2]!) && !/^0+$/.test(m[3]!)) return m[2]!;
  }
  return newTraceId();
}

/** Random bytes drawn 4 KiB at a time: one system call per 256 trace ids, not one per call. */
let pool = Buffer.alloc(0);
let at = 0;

/** A new random 128-bit trace id, as 32 hex digits. */
function newTraceId(): string {
  if (at + 16 > pool.length) {
    pool = randomBytes(4096);
    at = 0;
  }
  at += 16;
  return pool.toString('hex', at - 16, at);
}
