import type { ActorSystem, BatchAskMessage, BatchMessage, ReelError } from '../runtime/index.js';

/** Items per `askBatch` (an item is one or more messages: a rating is two). */
export const DEFAULT_ACKED_BATCH_ITEMS = 2048;
/** Batches awaiting their answers at once. */
export const DEFAULT_ACKED_IN_FLIGHT = 4;
/** Sends of one message at most before the load gives up on it. */
export const DEFAULT_ACKED_MAX_ATTEMPTS = 8;
/** First wait before resending what failed, in ms; it doubles per attempt up to `DEFAULT_ACKED_RETRY_MAX_MS`. */
export const DEFAULT_ACKED_RETRY_MS = 100;
export const DEFAULT_ACKED_RETRY_MAX_MS = 5_000;

/** Errors after which the same message may succeed: its shard moved, a mailbox was full, no answer came in time. */
const RETRYABLE = new Set(['NoRoute', 'StaleEpoch', 'Unavailable', 'Overloaded', 'DeadlineExceeded']);

export interface AckedIngestOptions<T> {
  /** Prefix of every message id, unique to this load (ids are it plus a sequence number). */
  idPrefix: string;
  /** The messages of one item, in order: a rating's to its user and to its title. */
  messagesOf(item: T): BatchMessage[];
  /** Each item's answers, in the order of its messages, once every one of them is acknowledged. */
  onAnswered?(item: T, answers: unknown[]): void;
  /** After each batch is acknowledged. */
  onBatch?(): void;
  /** Items per batch. @default 2048 */
  batchItems?: number;
  /** Batches in flight at once. @default 4 */
  inFlight?: number;
  /** Deadline of each batch, in ms; 0 asks for the cluster's longest. @default 0 */
  deadlineMs?: number;
  /** Sends of one message at most. @default 8 */
  maxAttempts?: number;
  /** First wait before a resend, in ms; doubles per attempt. @default 100 */
  retryMs?: number;
  /** Cap of that wait, in ms. @default 5000 */
  retryMaxMs?: number;
}

/** A message that was not acknowledged: refused for good, or still failing after every attempt. */
export class NotAcknowledged extends Error {
  constructor(
    message: string,
    readonly lastError: ReelError,
  ) {
    super(message);
    this.name = 'NotAcknowledged';
  }
}

/**
 * Asks every message (each with a stable id) and returns their answers in order, resending what
 * failed in a way that may pass later, with the same id, so that a resend is applied once.
 */
export async function askAcked(system: ActorSystem, msgs: readonly BatchAskMessage[], opts: Omit<AckedIngestOptions<never>, 'idPrefix' | 'messagesOf'> = {}): Promise<unknown[]> {
  const maxAttempts = opts.maxAttempts ?? DEFAULT_ACKED_MAX_ATTEMPTS;
  const answers = new Array<unknown>(msgs.length);
  let todo = msgs.map((_, i) => i);
  for (let attempt = 1; todo.length > 0; attempt++) {
    const outcomes = await system.askBatch(todo.map((i) => msgs[i]!), { deadlineMs: opts.deadlineMs ?? 0 });
    const again: number[] = [];
    for (const [j, o] of outcomes.entries()) {
      const i = todo[j]!;
      if (o.error === undefined) {
        answers[i] = o.value;
        continue;
      }
      const m = msgs[i]!;
      if (!RETRYABLE.has(o.error.code)) throw new NotAcknowledged(`${m.kind} ${m.key} refused '${m.type}': ${o.error.message}`, o.error);
      if (attempt >= maxAttempts) throw new NotAcknowledged(`${m.kind} ${m.key} did not acknowledge '${m.type}' after ${attempt} attempts: ${o.error.message}`, o.error);
      again.push(i);
    }
    todo = again;
    if (todo.length > 0) {
      const wait = Math.min(opts.retryMaxMs ?? DEFAULT_ACKED_RETRY_MAX_MS, (opts.retryMs ?? DEFAULT_ACKED_RETRY_MS) * 2 ** (attempt - 1));
      await new Promise((r) => setTimeout(r, wait));
    }
  }
  return answers;
}

/**
 * Sends items as asks in batches (one frame per shard each), a few batches in flight, and waits
 * until every message is acknowledged: nothing acknowledged is lost, and a resend is applied
 * once. Returns how many items were sent. The first message not acknowledged stops it
 * (`NotAcknowledged`), once the batches in flight have settled.
 */
export async function ingestAcked<T>(system: ActorSystem, source: AsyncIterable<T> | Iterable<T>, opts: AckedIngestOptions<T>): Promise<number> {
  const batchItems = opts.batchItems ?? DEFAULT_ACKED_BATCH_ITEMS;
  const inFlight = opts.inFlight ?? DEFAULT_ACKED_IN_FLIGHT;
  const running = new Set<Promise<void>>();
  let failure: { err: unknown } | undefined;
  let seq = 0;
  let n = 0;
  let items: T[] = [];

  const send = (batch: T[]) => {
    const msgs: BatchAskMessage[] = [];
    const ends: number[] = [];
    for (const item of batch) {
      for (const m of opts.messagesOf(item)) msgs.push({ ...m, id: `${opts.idPrefix}${seq++}` });
      ends.push(msgs.length);
    }
    const p = askAcked(system, msgs, opts).then(
      (answers) => {
        if (opts.onAnswered) for (const [i, item] of batch.entries()) opts.onAnswered(item, answers.slice(i === 0 ? 0 : ends[i - 1], ends[i]));
        opts.onBatch?.();
      },
      (err: unknown) => void (failure ??= { err }),
    );
    running.add(p);
    void p.finally(() => running.delete(p));
  };

  for await (const item of source) {
    items.push(item);
    n++;
    if (items.length < batchItems) continue;
    send(items);
    items = [];
    while (running.size >= inFlight && failure === undefined) await Promise.race(running);
    if (failure !== undefined) break;
  }
  if (failure === undefined && items.length > 0) send(items);
  await Promise.all(running);
  if (failure !== undefined) throw failure.err;
  return n;
}
