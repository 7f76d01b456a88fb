import { describe, expect, it } from 'vitest';
import { InvalidArgument } from '../runtime/index.js';
import { decodeInteraction, decodeNoBody, unknownMessageType } from './decode.js';

const user = { kind: 'user', key: 'u1' };
const title = { kind: 'title', key: 't1' };
const good = { eventId: 'e1', userId: 'u1', titleId: 't1', type: 'RATING', value: 4, eventTimeMs: 1000 };

/** The InvalidArgument a decode throws (fails the test if it throws nothing or something else). */
function rejection(body: unknown, to = user, own: 'userId' | 'titleId' = 'userId'): InvalidArgument {
  try {
    decodeInteraction(body, to, own);
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidArgument);
    return err as InvalidArgument;
  }
  throw new Error(`decode accepted ${JSON.stringify(body)}`);
}

describe('interaction decode', () => {
  it('decode - a good body comes back as a fresh object of the known fields', () => {
    const body = { ...good, recommendationId: 'r9' };
    const b = decodeInteraction(body, user, 'userId');
    expect(b).toEqual(good);
    expect(b).not.toBe(body);
    expect(decodeInteraction({ ...good, eventId: '' }, title, 'titleId').eventId).toBe('');
  });

  it('decode - value defaults to 0 only for types without a range', () => {
    const { value: _, ...noValue } = good;
    expect(decodeInteraction({ ...noValue, type: 'THUMBS_UP' }, user, 'userId').value).toBe(0);
    expect(decodeInteraction({ ...good, type: 'IMPRESSION', value: -3.5 }, user, 'userId').value).toBe(-3.5);
    expect(rejection({ ...noValue, type: 'RATING' }).fields).toEqual(['value']);
    expect(rejection({ ...noValue, type: 'PLAY' }).fields).toEqual(['value']);
  });

  const bad: Array<[string, Record<string, unknown>, string]> = [
    ['eventId', { eventId: 7 }, 'eventId 7'],
    ['eventId', { eventId: undefined }, 'eventId undefined'],
    ['eventId', { eventId: 'e'.repeat(129) }, '(129 chars)'],
    ['userId', { userId: '' }, 'userId ""'],
    ['userId', { userId: 42 }, 'userId 42'],
    ['userId', { userId: 'u'.repeat(257) }, '(257 chars)'],
    ['userId', { userId: 'u2' }, `userId "u2" is not this actor's key "u1"`],
    ['titleId', { titleId: '' }, 'titleId ""'],
    ['titleId', { titleId: undefined }, 'titleId undefined'],
    ['type', { type: 'LIKE' }, 'type "LIKE" is not one of PLAY'],
    ['type', { type: 'rating' }, 'type "rating"'],
    ['value', { value: 0.4 }, 'value 0.4 is outside [0.5, 5] for RATING'],
    ['value', { value: 5.5 }, 'value 5.5 is outside'],
    ['value', { value: Number.NaN }, 'value NaN must be a finite number'],
    ['value', { value: '4' }, 'value "4" must be a finite number'],
    ['value', { type: 'PLAY', value: 1.01 }, 'value 1.01 is outside [0, 1] for PLAY'],
    ['value', { type: 'PLAY', value: -0.1 }, 'value -0.1 is outside'],
    ['value', { type: 'COMPLETE', value: Number.POSITIVE_INFINITY }, 'value Infinity must be a finite number'],
    ['eventTimeMs', { eventTimeMs: -1 }, 'eventTimeMs -1'],
    ['eventTimeMs', { eventTimeMs: 1.5 }, 'eventTimeMs 1.5'],
    ['eventTimeMs', { eventTimeMs: 2 ** 53 }, 'eventTimeMs 9007199254740992'],
    ['eventTimeMs', { eventTimeMs: '1000' }, 'eventTimeMs "1000"'],
  ];
  for (const [field, patch, shown] of bad) {
    it(`decode - rejects ${field} ${JSON.stringify(patch)} naming the field and value`, () => {
      const err = rejection({ ...good, ...patch });
      expect(err.fields).toEqual([field]);
      expect(err.message).toContain(shown);
      expect(err.message).toMatch(/^user actor u1: invalid interaction: /);
      expect(err).toMatchObject({ code: 'InvalidArgument', kind: 'user', key: 'u1' });
    });
  }

  it('decode - the title actor checks titleId against its key, not userId', () => {
    expect(decodeInteraction({ ...good, userId: 'anyone' }, title, 'titleId').userId).toBe('anyone');
    expect(rejection({ ...good, titleId: 't2' }, title, 'titleId').fields).toEqual(['titleId']);
  });

  it('decode - every offending field is listed, in body order', () => {
    const err = rejection({ eventId: 1, userId: '', titleId: 't1', type: 'RATING', value: 9, eventTimeMs: -5 });
    expect(err.fields).toEqual(['eventId', 'userId', 'value', 'eventTimeMs']);
    expect(err.message.split('; ')).toHaveLength(4);
  });

  it('decode - a body that is not an object is rejected as body', () => {
    for (const body of [undefined, null, 'x', 3, [good]]) expect(rejection(body).fields).toEqual(['body']);
  });

  it('decode - a message without a body accepts none and rejects anything else', () => {
    expect(() => decodeNoBody(undefined, user, 'summary')).not.toThrow();
    expect(() => decodeNoBody(null, user, 'summary')).not.toThrow();
    expect(() => decodeNoBody({ x: 1 }, user, 'summary')).toThrow(InvalidArgument);
  });

  it('decode - an unknown message type is an InvalidArgument naming it', () => {
    const err = unknownMessageType(user, 'x');
    expect(err).toBeInstanceOf(InvalidArgument);
    expect(err.message).toBe("user actor: unknown message type 'x'");
    expect(err.fields).toEqual(['type']);
  });
});
