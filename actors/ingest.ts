import type { ActorSystem, BatchMessage } from '../runtime/index.js';
import { Kind } from './kinds.js';
import { TitleMsg, UserMsg, type InteractionBody } from './messages.js';

/** Interactions per `tellBatch`. */
export const DEFAULT_INGEST_BATCH = 512;

export interface IngestOptions {
  /** Interactions per batch. @default 512 */
  batchSize?: number;
  /** Called after every batch with the running total. */
  onProgress?: (ingested: number) => void;
}

/**
 * Sends interactions to their user and title actors, in batches (one frame per shard).
 * Between batches it yields to the event loop so that mailboxes drain and stay far
 * below their bound.
 */
export async function ingestInteractions(system: ActorSystem, source: AsyncIterable<InteractionBody> | Iterable<InteractionBody>, opts: IngestOptions = {}): Promise<number> {
  const batchSize = opts.batchSize ?? DEFAULT_INGEST_BATCH;
  let batch: BatchMessage[] = [];
  let n = 0;
  const flush = async () => {
    system.tellBatch(batch);
    batch = [];
    opts.onProgress?.(n);
    await new Promise((r) => setImmediate(r));
  };
  for await (const it of source) {
    batch.push({ kind: Kind.User, key: it.userId, type: UserMsg.Interaction, body: it });
    batch.push({ kind: Kind.Title, key: it.titleId, type: TitleMsg.Interaction, body: it });
    n++;
    if (batch.length >= 2 * batchSize) await flush();
  }
  if (batch.length) await flush();
  return n;
}
