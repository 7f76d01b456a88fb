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
  return randomBytes(16).toString('hex');
}
