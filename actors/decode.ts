import { InvalidArgument, type ActorAddress } from '../runtime/index.js';
import { INTERACTION_TYPES, type InteractionBody, type InteractionType } from './messages.js';

/** Longest user or title id an interaction may carry, in UTF-16 code units. */
export const MAX_ID_CHARS = 256;
/** Longest event id (API.md: `event_id` ≤ 128), in UTF-16 code units. */
export const MAX_EVENT_ID_CHARS = 128;

/** The field of an interaction that must equal the receiving actor's key. */
export type OwnKeyField = 'userId' | 'titleId';

/** Value ranges of the types that have one (API.md); the others take any finite number. */
/** The value range of the types that have one (RATING: stars; PLAY: the watched fraction). */
export const VALUE_RANGES: Partial<Record<InteractionType, readonly [number, number]>> = { RATING: [0.5, 5], PLAY: [0, 1] };

const TYPES: ReadonlySet<unknown> = new Set(INTERACTION_TYPES);

/** A value as an error message shows it: long strings cut, so that a bad body cannot flood a log. */
export function show(v: unknown): string {
  if (typeof v === 'string') return v.length > 40 ? `${JSON.stringify(v.slice(0, 40) + '…')} (${v.length} chars)` : JSON.stringify(v);
  if (typeof v === 'number' || v === undefined || v === null || typeof v === 'boolean') return String(v);
  return Array.isArray(v) ? 'an array' : `a ${typeof v}`;
}

function isId(v: unknown, max: number): v is string {
  return typeof v === 'string' && v.length > 0 && v.length <= max;
}

/** Offending fields of a body with what is wrong with each, in the order of the body's fields. */
export class Violations {
  readonly fields: string[] = [];
  readonly reasons: string[] = [];

  add(field: string, value: unknown, reason: string): void {
    this.fields.push(field);
    this.reasons.push(`${field} ${show(value)} ${reason}`);
  }

  throwIfAny(to: ActorAddress, what: string): void {
    if (this.fields.length === 0) return;
    throw new InvalidArgument(`${to.kind} actor ${to.key}: invalid ${what}: ${this.reasons.join('; ')}`, { kind: to.kind, key: to.key, fields: this.fields });
  }
}

/**
 * Checks an `interaction` body against API.md before it touches state, and returns a fresh
 * `InteractionBody` of the known fields (unknown ones are dropped; the sender's object is
 * never kept, since in process it is passed by reference). `ownKey` names the field that
 * must equal the receiving actor's key. Throws `InvalidArgument` listing every bad field.
 */
export function decodeInteraction(body: unknown, to: ActorAddress, ownKey: OwnKeyField): InteractionBody {
  const b = requireObject(body, to, 'interaction');
  const bad = new Violations();
  const { eventId, userId, titleId, type, eventTimeMs } = b;
  const typeOk = TYPES.has(type);
  const range = typeOk ? VALUE_RANGES[type as InteractionType] : undefined;
  // Only the types with a range need a value; the others default to 0 (proto3's default).
  const value = b.value === undefined && range === undefined ? 0 : b.value;

  if (typeof eventId !== 'string' || eventId.length > MAX_EVENT_ID_CHARS) bad.add('eventId', eventId, `must be a string of at most ${MAX_EVENT_ID_CHARS} characters`);
  if (!isId(userId, MAX_ID_CHARS)) bad.add('userId', userId, `must be a non-empty string of at most ${MAX_ID_CHARS} characters`);
  else if (ownKey === 'userId' && userId !== to.key) bad.add('userId', userId, `is not this actor's key ${show(to.key)}`);
  if (!isId(titleId, MAX_ID_CHARS)) bad.add('titleId', titleId, `must be a non-empty string of at most ${MAX_ID_CHARS} characters`);
  else if (ownKey === 'titleId' && titleId !== to.key) bad.add('titleId', titleId, `is not this actor's key ${show(to.key)}`);
  if (!typeOk) bad.add('type', type, `is not one of ${INTERACTION_TYPES.join(', ')}`);
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    bad.add('value', value, 'must be a finite number');
  } else if (range !== undefined && (value < range[0] || value > range[1])) {
    bad.add('value', value, `is outside [${range[0]}, ${range[1]}] for ${String(type)}`);
  }
  if (typeof eventTimeMs !== 'number' || !Number.isSafeInteger(eventTimeMs) || eventTimeMs < 0) {
    bad.add('eventTimeMs', eventTimeMs, 'must be a non-negative safe integer (ms since the Unix epoch)');
  }
  bad.throwIfAny(to, 'interaction');
  return {
    eventId: eventId as string,
    userId: userId as string,
    titleId: titleId as string,
    type: type as InteractionType,
    value: value as number,
    eventTimeMs: eventTimeMs as number,
  };
}

/** `body` as a plain object, or `InvalidArgument` on the field `body` naming what it is instead. */
export function requireObject(body: unknown, to: ActorAddress, what: string): Record<string, unknown> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new InvalidArgument(`${to.kind} actor ${to.key}: ${what} body ${show(body)} is not an object`, { kind: to.kind, key: to.key, fields: ['body'] });
  }
  return body as Record<string, unknown>;
}

/** Checks the body of a message that takes none (`summary`): absent, or null after a codec. */
export function decodeNoBody(body: unknown, to: ActorAddress, type: string): void {
  if (body === undefined || body === null) return;
  throw new InvalidArgument(`${to.kind} actor ${to.key}: '${type}' takes no body, got ${show(body)}`, { kind: to.kind, key: to.key, fields: ['body'] });
}

/** The error for a message type the actor does not know. */
export function unknownMessageType(to: ActorAddress, type: string): InvalidArgument {
  return new InvalidArgument(`${to.kind} actor: unknown message type '${type}'`, { kind: to.kind, key: to.key, fields: ['type'] });
}
