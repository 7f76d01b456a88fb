import { describe, expect, it } from 'vitest';
import { ActorSystem, InvalidArgument, type SystemOptions } from '../runtime/index.js';
import { Kind, registerReelActors, type InteractionBody } from './index.js';

/** Both actors that receive interactions, run through one suite. Bodies go from user u1 to title t1. */
const actors = [
  { kind: Kind.User, key: 'u1', own: 'userId' },
  { kind: Kind.Title, key: 't1', own: 'titleId' },
] as const;

const ev = (over: Partial<Record<keyof InteractionBody, unknown>> = {}): InteractionBody =>
  ({ eventId: '', userId: 'u1', titleId: 't1', type: 'RATING', value: 4, eventTimeMs: 1_000, ...over }) as InteractionBody;

async function newSystem(opts: SystemOptions = {}): Promise<ActorSystem> {
  return registerReelActors(new ActorSystem({ nodeId: 'actors', ...opts })).start();
}

/** The error an ask was refused with (fails the test if it was answered). */
async function refusal(p: Promise<unknown>): Promise<InvalidArgument> {
  const r = await p.then(
    (v) => new Error(`answered ${JSON.stringify(v)}`),
    (e: unknown) => e,
  );
  expect(r).toBeInstanceOf(InvalidArgument);
  return r as InvalidArgument;
}

describe.each(actors)('$kind actor at its boundary', ({ kind, key, own }) => {
  it(`${kind} - bad bodies of each kind are refused with InvalidArgument naming the field, state unchanged`, async () => {
    await using system = await newSystem();
    await system.ask(kind, key, 'interaction', ev({ eventId: 'seed' }));
    const before = await system.ask(kind, key, 'summary');
    const bad: Array<[string, unknown]> = [
      ['body', null],
      ['eventId', ev({ eventId: 7 })],
      ['userId', ev({ userId: '' })],
      ['titleId', ev({ titleId: 'x'.repeat(257) })],
      [own, ev({ [own]: 'someone-else' })],
      ['type', ev({ type: 'LIKE' })],
      ['value', ev({ value: 5.5 })],
      ['value', ev({ type: 'PLAY', value: 2 })],
      ['eventTimeMs', ev({ eventTimeMs: -1 })],
    ];
    for (const [field, body] of bad) {
      const err = await refusal(system.ask(kind, key, 'interaction', body));
      expect(err.fields, JSON.stringify(body)).toEqual([field]);
      expect(err.message).toContain(field);
      // A success between refusals: the runtime of today restarts an actor after 3 failures in a row.
      expect(await system.ask(kind, key, 'summary')).toEqual(before);
    }
  });

  it(`${kind} - unknown message types and a body on summary are refused`, async () => {
    await using system = await newSystem();
    const err = await refusal(system.ask(kind, key, 'x'));
    expect(err.message).toBe(`${kind} actor: unknown message type 'x'`);
    expect(err.fields).toEqual(['type']);
    expect((await refusal(system.ask(kind, key, 'summary', { page: 2 }))).fields).toEqual(['body']);
  });

  // NEEDS THE RUNTIME CHANGE (finding 6): a handler's InvalidArgument is answered but does not count
  // toward the supervision restart. Today the third refusal in a row restarts the actor from its last
  // snapshot (none here), losing its state, so this fails; once the change lands it passes, `it.fails`
  // turns red, and `.fails` must go.
  it.fails(`${kind} - repeated bad bodies never restart the actor (runtime: InvalidArgument is not a supervision failure)`, async () => {
    await using system = await newSystem({ maxConsecutiveFailures: 3 });
    await system.ask(kind, key, 'interaction', ev({ eventId: 'seed' }));
    const before = await system.ask(kind, key, 'summary');
    for (let i = 0; i < 10; i++) await refusal(system.ask(kind, key, 'interaction', ev({ value: 99 })));
    expect(system.kindStats(kind).restarts).toBe(0);
    expect(await system.ask(kind, key, 'summary')).toEqual(before);
  });
});
