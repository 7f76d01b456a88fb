import { INTERACTION_TYPES, MAX_EVENT_ID_CHARS, VALUE_RANGES, type InteractionBody, type InteractionType } from '../actors/index.js';
import type { RecordInteractionsRequest__Output } from '../protos/generated/reel/v1/RecordInteractionsRequest.js';
import type { RecordInteractionsResponse } from '../protos/generated/reel/v1/RecordInteractionsResponse.js';
import { ApiError } from './errors.js';
import type { GatewayMetrics } from './metrics.js';
import type { UnaryHandlers } from './server.js';
import { RequestCheck } from './validate.js';

/** Interactions in one RecordInteractions call, at most. */
export const MAX_INTERACTIONS_BATCH = 500;
/** How far in the future an event time may be (clock skew between a client and the gateway), ms. */
const FUTURE_SKEW_MS = 5 * 60_000;

/**
 * Stores a batch durably and answers the event ids the store had seen within its duplicate
 * window (a cluster: the interaction stream; one process: the actors themselves).
 */
export type RecordInteractions = (items: readonly InteractionBody[]) => Promise<ReadonlySet<string>>;

const TYPES: ReadonlySet<string> = new Set(INTERACTION_TYPES);

/**
 * The batch as interactions, every one checked before anything is stored (AIP-233: one bad
 * interaction refuses the batch, every violation named by its proto path); an absent
 * `event_time` is now. Repeats of an event id within the batch are kept once, and named.
 */
export function interactionsOf(req: RecordInteractionsRequest__Output, nowMs = Date.now()): { items: InteractionBody[]; repeated: string[] } {
  const c = new RequestCheck();
  const list = req.interactions ?? [];
  if (list.length === 0) c.add('interactions', 'MISSING_FIELD', 'must hold at least one interaction');
  if (list.length > MAX_INTERACTIONS_BATCH) c.add('interactions', 'BATCH_TOO_LARGE', `must hold at most ${MAX_INTERACTIONS_BATCH} interactions (got ${list.length})`);
  const items: InteractionBody[] = [];
  const seen = new Set<string>();
  const repeated: string[] = [];
  list.slice(0, MAX_INTERACTIONS_BATCH).forEach((it, i) => {
    const at = `interactions[${i}]`;
    const eventId = it.eventId ?? '';
    if (eventId === '') c.add(`${at}.event_id`, 'MISSING_FIELD', 'is required: it makes a retry safe');
    else if (eventId.length > MAX_EVENT_ID_CHARS) c.add(`${at}.event_id`, 'VALUE_OUT_OF_RANGE', `must be at most ${MAX_EVENT_ID_CHARS} characters (got ${eventId.length})`);
    const userId = c.id(`${at}.user_id`, it.userId);
    const titleId = c.id(`${at}.title_id`, it.titleId);
    const t = c.enumValue(`${at}.type`, it.type as string | number, 'INTERACTION_TYPE_UNSPECIFIED');
    const type = t.replace('INTERACTION_TYPE_', '');
    if (typeof it.type === 'string' && !TYPES.has(type)) c.add(`${at}.type`, 'MISSING_FIELD', `is required: one of ${INTERACTION_TYPES.join(', ')}`);
    const range = VALUE_RANGES[type as InteractionType];
    const value = it.value ?? 0;
    if (range !== undefined) c.range(`${at}.value`, value, range[0], range[1]);
    else if (!Number.isFinite(value)) c.add(`${at}.value`, 'VALUE_OUT_OF_RANGE', 'must be a finite number');
    let eventTimeMs = nowMs;
    if (it.eventTime) {
      eventTimeMs = Number(it.eventTime.seconds) * 1000 + Math.floor((it.eventTime.nanos ?? 0) / 1e6);
      if (!Number.isSafeInteger(eventTimeMs) || eventTimeMs < 0) c.add(`${at}.event_time`, 'VALUE_OUT_OF_RANGE', 'must be a time after 1970');
      else if (eventTimeMs > nowMs + FUTURE_SKEW_MS) c.add(`${at}.event_time`, 'EVENT_TIME_IN_FUTURE', `is ${Math.round((eventTimeMs - nowMs) / 1000)} s in the future`);
    }
    c.context(`${at}.context`, it.context);
    if (seen.has(eventId)) {
      repeated.push(eventId);
      return;
    }
    seen.add(eventId);
    items.push({ eventId, userId, titleId, type: type as InteractionType, value, eventTimeMs });
  });
  c.done();
  return { items, repeated };
}

/** RecordInteractions: checked whole, stored durably through `record`, then answered (safe to retry: event ids deduplicate). */
export function interactionHandlers(record: RecordInteractions, metrics?: GatewayMetrics): UnaryHandlers {
  return {
    RecordInteractions: async (req: RecordInteractionsRequest__Output): Promise<RecordInteractionsResponse> => {
      const { items, repeated } = interactionsOf(req);
      let seen: ReadonlySet<string>;
      try {
        seen = await record(items);
      } catch (err) {
        throw err instanceof ApiError ? err : ApiError.unavailable('STREAM_UNAVAILABLE', `the interactions could not be stored: ${(err as Error).message}`);
      }
      for (const it of items) metrics?.interaction(it.type, seen.has(it.eventId) ? 'duplicate' : 'recorded');
      for (const id of repeated) metrics?.interaction(items.find((x) => x.eventId === id)!.type, 'duplicate');
      const duplicates = [...repeated, ...items.filter((it) => seen.has(it.eventId)).map((it) => it.eventId)];
      return { recordedCount: items.length - seen.size, duplicateCount: duplicates.length, duplicateEventIds: duplicates };
    },
  };
}
