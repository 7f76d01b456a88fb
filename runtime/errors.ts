/**
 * Typed errors with stable codes. The codes cross the wire as `{code, message}`
 * (see `errorToWire` / `errorFromWire`) and reuse gRPC's canonical names where they fit.
 */
export const ErrorCode = {
  Overloaded: 'Overloaded',
  NoRoute: 'NoRoute',
  DeadlineExceeded: 'DeadlineExceeded',
  InvalidArgument: 'InvalidArgument',
  HandlerFailed: 'HandlerFailed',
  UnknownKind: 'UnknownKind',
  Closed: 'Closed',
  StaleEpoch: 'StaleEpoch',
  Fenced: 'Fenced',
  Unavailable: 'Unavailable',
  SnapshotTooLarge: 'SnapshotTooLarge',
  Internal: 'Internal',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Where an error happened, when it concerns one actor or shard. */
export interface ErrorFields {
  kind?: string;
  key?: string;
  shard?: number;
  /** Node that produced the error, when it crossed the wire. */
  node?: string;
}

export interface ReelErrorOptions extends ErrorFields {
  cause?: unknown;
}

/** Base class of every reel error: a stable `code` plus structured fields. */
export class ReelError extends Error {
  readonly code: string;
  readonly kind?: string;
  readonly key?: string;
  readonly shard?: number;
  readonly node?: string;

  constructor(code: string, message: string, opts: ReelErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'ReelError';
    this.code = code;
    if (opts.kind !== undefined) this.kind = opts.kind;
    if (opts.key !== undefined) this.key = opts.key;
    if (opts.shard !== undefined) this.shard = opts.shard;
    if (opts.node !== undefined) this.node = opts.node;
  }
}

/** A bounded mailbox is full; the message was not queued. */
export class Overloaded extends ReelError {
  constructor(message: string, opts?: ReelErrorOptions) {
    super(ErrorCode.Overloaded, message, opts);
    this.name = 'Overloaded';
  }
}

/** No node hosts the target's shard (moving, dead, or never hosted). */
export class NoRoute extends ReelError {
  constructor(message: string, opts?: ReelErrorOptions) {
    super(ErrorCode.NoRoute, message, opts);
    this.name = 'NoRoute';
  }
}

/** The message's deadline passed before it was answered. */
export class DeadlineExceeded extends ReelError {
  constructor(message: string, opts?: ReelErrorOptions) {
    super(ErrorCode.DeadlineExceeded, message, opts);
    this.name = 'DeadlineExceeded';
  }
}

/** A caller passed something invalid: an option, an address, a frame. */
export class InvalidArgument extends ReelError {
  /** Names of the offending fields, when known. */
  readonly fields: string[];
  constructor(message: string, opts?: ReelErrorOptions & { fields?: string[] }) {
    super(ErrorCode.InvalidArgument, message, opts);
    this.name = 'InvalidArgument';
    this.fields = opts?.fields ?? [];
  }
}

/** A handler threw something that was not a ReelError. */
export class HandlerFailed extends ReelError {
  constructor(message: string, opts?: ReelErrorOptions) {
    super(ErrorCode.HandlerFailed, message, opts);
    this.name = 'HandlerFailed';
  }
}

/** A message addressed an actor kind that no node registered. */
export class UnknownKind extends ReelError {
  constructor(message: string, opts?: ReelErrorOptions) {
    super(ErrorCode.UnknownKind, message, opts);
    this.name = 'UnknownKind';
  }
}

/** The actor system or transport was closed. */
export class Closed extends ReelError {
  constructor(message: string, opts?: ReelErrorOptions) {
    super(ErrorCode.Closed, message, opts);
    this.name = 'Closed';
  }
}

/** The message named an owner epoch other than the one the receiving node serves; the sender's view is stale (or the receiver's). */
export class StaleEpoch extends ReelError {
  constructor(message: string, opts?: ReelErrorOptions) {
    super(ErrorCode.StaleEpoch, message, opts);
    this.name = 'StaleEpoch';
  }
}

/** A snapshot write lost its compare-and-set: a newer owner has written since. */
export class Fenced extends ReelError {
  constructor(message: string, opts?: ReelErrorOptions) {
    super(ErrorCode.Fenced, message, opts);
    this.name = 'Fenced';
  }
}

/** Something the answer depends on (the snapshot store, the broker) failed for now; retrying is safe. */
export class Unavailable extends ReelError {
  constructor(message: string, opts?: ReelErrorOptions) {
    super(ErrorCode.Unavailable, message, opts);
    this.name = 'Unavailable';
  }
}

/** A snapshot is larger than the store can ever take (NATS's max payload): it would never be written. */
export class SnapshotTooLarge extends ReelError {
  constructor(message: string, opts?: ReelErrorOptions) {
    super(ErrorCode.SnapshotTooLarge, message, opts);
    this.name = 'SnapshotTooLarge';
  }
}

/** Anything unexpected. */
export class Internal extends ReelError {
  constructor(message: string, opts?: ReelErrorOptions) {
    super(ErrorCode.Internal, message, opts);
    this.name = 'Internal';
  }
}

/** How an error travels: a stable code, a message, optional location and, for InvalidArgument, the fields. */
export interface WireError extends ErrorFields {
  code: string;
  message: string;
  fields?: string[];
}

const classes: Record<string, new (message: string, opts?: ReelErrorOptions) => ReelError> = {
  [ErrorCode.Overloaded]: Overloaded,
  [ErrorCode.NoRoute]: NoRoute,
  [ErrorCode.DeadlineExceeded]: DeadlineExceeded,
  [ErrorCode.InvalidArgument]: InvalidArgument,
  [ErrorCode.HandlerFailed]: HandlerFailed,
  [ErrorCode.UnknownKind]: UnknownKind,
  [ErrorCode.Closed]: Closed,
  [ErrorCode.StaleEpoch]: StaleEpoch,
  [ErrorCode.Fenced]: Fenced,
  [ErrorCode.Unavailable]: Unavailable,
  [ErrorCode.SnapshotTooLarge]: SnapshotTooLarge,
  [ErrorCode.Internal]: Internal,
};

/** Turns any thrown value into a ReelError; unknown exceptions become `HandlerFailed`. */
export function toReelError(err: unknown, fields: ErrorFields = {}): ReelError {
  if (err instanceof ReelError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new HandlerFailed(message, { ...fields, cause: err });
}

/** The one place an error is written for the wire. */
export function errorToWire(err: unknown, node?: string): WireError {
  const e = err instanceof ReelError ? err : new Internal(err instanceof Error ? err.message : String(err));
  const w: WireError = { code: e.code, message: e.message };
  if (e.kind !== undefined) w.kind = e.kind;
  if (e.key !== undefined) w.key = e.key;
  if (e.shard !== undefined) w.shard = e.shard;
  const from = e.node ?? node;
  if (from !== undefined) w.node = from;
  if (e instanceof InvalidArgument && e.fields.length > 0) w.fields = e.fields;
  return w;
}

/**
 * The one place an error is read from the wire. Known codes become their class;
 * an application code (a handler's own) is kept as a ReelError with that code.
 */
export function errorFromWire(w: unknown): ReelError {
  if (w === null || typeof w !== 'object') return new Internal(`malformed error on the wire: ${String(w)}`);
  const o = w as Partial<WireError>;
  const code = typeof o.code === 'string' ? o.code : ErrorCode.Internal;
  const message = typeof o.message === 'string' ? o.message : '';
  const opts: ReelErrorOptions = {};
  if (typeof o.kind === 'string') opts.kind = o.kind;
  if (typeof o.key === 'string') opts.key = o.key;
  if (typeof o.shard === 'number') opts.shard = o.shard;
  if (typeof o.node === 'string') opts.node = o.node;
  if (code === ErrorCode.InvalidArgument) {
    const fields = Array.isArray(o.fields) ? o.fields.filter((f): f is string => typeof f === 'string') : [];
    return new InvalidArgument(message, { ...opts, fields });
  }
  const Cls = classes[code];
  return Cls ? new Cls(message, opts) : new ReelError(code, message, opts);
}

/**
 * Errors that mean "not applied, try again": an ask retries them (same message id, with
 * backoff) until its deadline. The shard is moving, or a dependency failed for now.
 */
export function isRetryable(code: string): boolean {
  return code === ErrorCode.NoRoute || code === ErrorCode.StaleEpoch || code === ErrorCode.Unavailable;
}
