import { errorFromWire, Internal, type ReelError, type WireError } from './errors.js';

/** One message of an `askBatch`. */
export interface BatchAskMessage {
  kind: string;
  key: string;
  type: string;
  body?: unknown;
  /** Message id, stable across the caller's retries (the receiver applies it once); generated when absent. */
  id?: string;
}

/** What one message of an `askBatch` got: the handler's answer, or the error it failed with. */
export type BatchOutcome<R = unknown> = { value: R; error?: undefined } | { value?: undefined; error: ReelError };

/** An outcome as a batch reply carries it: `[value]` answered, `[null, wireError]` failed. */
export type WireOutcome = [unknown] | [null, WireError];

/**
 * Where the answers to one inbound batch of asks gather: each message's `replyTo` is a slot
 * of it, and when the last slot is filled the whole goes back as one reply, with the highest
 * owner epoch any message was answered under.
 */
export class BatchReplies {
  private readonly outcomes: Array<WireOutcome | undefined>;
  private left: number;
  private epoch = 0;

  constructor(
    size: number,
    private readonly send: (outcomes: WireOutcome[], epoch: number) => void,
  ) {
    this.outcomes = new Array<WireOutcome | undefined>(size);
    this.left = size;
    if (size === 0) send([], 0);
  }

  /** Records message `index`'s answer (`error` already in wire form); a second answer to one slot is ignored. */
  put(index: number, value: unknown, error: WireError | undefined, epoch: number): void {
    if (this.outcomes[index] !== undefined) return;
    this.outcomes[index] = error === undefined ? [value] : [null, error];
    if (epoch > this.epoch) this.epoch = epoch;
    if (--this.left === 0) this.send(this.outcomes as WireOutcome[], this.epoch);
  }
}

/** The `replyTo` of one message of an inbound batch of asks. */
export class BatchSlot {
  constructor(
    readonly replies: BatchReplies,
    readonly index: number,
  ) {}
}

/** A batch reply's value as one outcome per message; throws `Internal` when it is not one for each of `size`. */
export function decodeOutcomes<R>(value: unknown, size: number): BatchOutcome<R>[] {
  if (!Array.isArray(value) || value.length !== size) {
    throw new Internal(`a batch of ${size} asks was answered with ${Array.isArray(value) ? `${value.length} outcomes` : 'no list'}`);
  }
  return value.map((o: unknown) => {
    if (Array.isArray(o) && o.length === 1) return { value: o[0] as R };
    if (Array.isArray(o) && o.length === 2) return { error: errorFromWire(o[1]) };
    return { error: new Internal('a batch reply holds a malformed outcome') };
  });
}

/** Every one of `size` outcomes failed with `error` (the whole frame failed). */
export function failedOutcomes<R>(size: number, error: ReelError): BatchOutcome<R>[] {
  return Array.from({ length: size }, () => ({ error }));
}
