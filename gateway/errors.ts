import { join } from 'node:path';
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { DeadlineExceeded, InvalidArgument, ReelError } from '../runtime/index.js';
import { protosDir } from './protos.js';

/**
 * Errors as the public API gives them (API.md §7, AIP-193): every non-OK status carries a
 * `google.rpc.Status` in the `grpc-status-details-bin` trailer with an `ErrorInfo` (domain
 * `reel.v1`, a stable reason), and INVALID_ARGUMENT also a `BadRequest` naming each field by
 * its proto path. This is the one module that writes them.
 */

export const ERROR_DOMAIN = 'reel.v1';

/** The stable reasons of API.md §7. */
export type ErrorReason =
  | 'MISSING_FIELD' | 'INVALID_PAGE_SIZE' | 'INVALID_ENUM' | 'BATCH_TOO_LARGE' | 'VALUE_OUT_OF_RANGE'
  | 'PAGE_TOKEN_INVALID' | 'PAGE_TOKEN_EXPIRED' | 'PAGE_TOKEN_MISMATCH' | 'EVENT_TIME_IN_FUTURE'
  | 'TITLE_NOT_FOUND' | 'USER_NOT_FOUND' | 'MODEL_VERSION_NOT_FOUND' | 'TRAINING_JOB_NOT_FOUND' | 'NODE_NOT_FOUND'
  | 'MODEL_VERSION_NOT_READY' | 'NO_ACTIVE_MODEL' | 'JOB_ALREADY_FINISHED' | 'LAST_NODE'
  | 'ACTIVATION_IN_PROGRESS' | 'REBALANCE_IN_PROGRESS'
  | 'CLUSTER_UNAVAILABLE' | 'STREAM_UNAVAILABLE' | 'NODE_DRAINING'
  | 'ADMIN_AUTH_REQUIRED' | 'UNIMPLEMENTED' | 'INTERNAL';

/** One wrong field of a request: its proto path (`filter.min_release_year`, `interactions[3].event_id`) and why. */
export interface FieldViolation {
  field: string;
  description: string;
}

/** An error answered to a caller: a gRPC code, a reason, and for INVALID_ARGUMENT the fields at fault. */
export class ApiError extends Error {
  constructor(
    readonly code: status,
    readonly reason: ErrorReason,
    message: string,
    readonly violations: readonly FieldViolation[] = [],
    readonly info: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** INVALID_ARGUMENT for these violations (at least one); the message names every field. */
  static invalid(reason: ErrorReason, violations: readonly FieldViolation[]): ApiError {
    const message = violations.map((v) => `${v.field}: ${v.description}`).join('; ');
    return new ApiError(status.INVALID_ARGUMENT, reason, message || 'invalid request', violations);
  }

  static notFound(reason: ErrorReason, message: string, info: Record<string, string> = {}): ApiError {
    return new ApiError(status.NOT_FOUND, reason, message, [], info);
  }

  static unavailable(reason: ErrorReason, message: string): ApiError {
    return new ApiError(status.UNAVAILABLE, reason, message);
  }
}

/**
 * What the cluster's errors mean to a caller. A request the gateway let through that a
 * node still refuses (`InvalidArgument`) is the caller's; a cluster that cannot answer
 * now (no route, a node gone, a deadline spent inside the cluster) is UNAVAILABLE, safe
 * to retry; anything else is a bug: INTERNAL, with no detail of ours leaked.
 */
export function apiErrorOf(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof InvalidArgument) {
    const fields = err.fields.length > 0 ? err.fields : ['request'];
    return ApiError.invalid('VALUE_OUT_OF_RANGE', fields.map((field) => ({ field, description: err.message })));
  }
  if (err instanceof DeadlineExceeded) return ApiError.unavailable('CLUSTER_UNAVAILABLE', `the cluster did not answer in time: ${err.message}`);
  if (err instanceof ReelError && RETRYABLE.has(err.code)) return ApiError.unavailable('CLUSTER_UNAVAILABLE', `the cluster cannot answer now: ${err.message}`);
  return new ApiError(status.INTERNAL, 'INTERNAL', 'internal error');
}

/** Codes of cluster errors that pass: a shard moving, a node gone or busy, a connection lost. */
const RETRYABLE = new Set(['NoRoute', 'Overloaded', 'Unavailable', 'Closed', 'StaleEpoch', 'Fenced']);

/** The grpc-js error for `err` (any error: see `apiErrorOf`), with its `google.rpc.Status` details. */
export function toServiceError(err: unknown): Partial<ServiceError> {
  const e = apiErrorOf(err);
  const metadata = new Metadata();
  metadata.set('grpc-status-details-bin', Buffer.from(encodeStatus(e)));
  return { code: e.code, details: e.message, metadata };
}

/** What a caller reads back from a failed call's trailers. */
export interface DecodedStatus {
  code: number;
  message: string;
  errorInfo?: { reason: string; domain: string; metadata: Record<string, string> };
  fieldViolations?: FieldViolation[];
}

/** Decodes `grpc-status-details-bin` (clients, tests); undefined when the trailer is absent. */
export function decodeStatusDetails(metadata: Metadata): DecodedStatus | undefined {
  const raw = metadata.get('grpc-status-details-bin')[0];
  if (raw === undefined || typeof raw === 'string') return undefined;
  const t = types();
  const s = t.Status.toObject(t.Status.decode(raw), { defaults: true, arrays: true }) as { code: number; message: string; details: Array<Record<string, unknown> & { value: Uint8Array }> };
  const out: DecodedStatus = { code: s.code, message: s.message };
  for (const d of s.details) {
    const url = d[t.urlField];
    if (url === typeUrl('google.rpc.ErrorInfo')) out.errorInfo = t.ErrorInfo.toObject(t.ErrorInfo.decode(d.value), { defaults: true, objects: true }) as DecodedStatus['errorInfo'];
    if (url === typeUrl('google.rpc.BadRequest')) out.fieldViolations = (t.BadRequest.toObject(t.BadRequest.decode(d.value), { defaults: true, arrays: true }) as { fieldViolations: FieldViolation[] }).fieldViolations;
  }
  return out;
}

function encodeStatus(e: ApiError): Uint8Array {
  const t = types();
  const any = (name: string, value: Uint8Array) => ({ [t.urlField]: typeUrl(name), value });
  const details = [any('google.rpc.ErrorInfo', t.ErrorInfo.encode({ reason: e.reason, domain: ERROR_DOMAIN, metadata: e.info }).finish())];
  if (e.violations.length > 0) details.push(any('google.rpc.BadRequest', t.BadRequest.encode({ fieldViolations: e.violations }).finish()));
  return t.Status.encode({ code: e.code, message: e.message, details }).finish();
}

function typeUrl(name: string): string {
  return `type.googleapis.com/${name}`;
}

let loadedTypes: { Status: protobuf.Type; ErrorInfo: protobuf.Type; BadRequest: protobuf.Type; urlField: string } | undefined;

function types(): NonNullable<typeof loadedTypes> {
  if (loadedTypes === undefined) {
    const root = new protobuf.Root();
    const dir = protosDir();
    // google/protobuf/* come with protobufjs; the google/rpc subset is ours.
    root.resolvePath = (_origin, target) => (target.startsWith('google/protobuf/') ? target : join(dir, target));
    root.loadSync(['google/rpc/status.proto', 'google/rpc/error_details.proto']);
    // protobufjs keeps the bundled Any's field as `type_url`, and camel-cases parsed .proto files.
    const urlField = 'typeUrl' in root.lookupType('google.protobuf.Any').fields ? 'typeUrl' : 'type_url';
    loadedTypes = { Status: root.lookupType('google.rpc.Status'), ErrorInfo: root.lookupType('google.rpc.ErrorInfo'), BadRequest: root.lookupType('google.rpc.BadRequest'), urlField };
  }
  return loadedTypes;
}
