import { describe, expect, it } from 'vitest';
import { ActorSystem, InvalidArgument, ManualClock, memorySnapshotStore, type ActorSystemConfig, type RuntimeEvent } from '../runtime/index.js';
import { ingestInteractions, Kind, registerReelActors, type InteractionBody, type TitleSummary } from './index.js';

/** Both actors that receive interactions, run through one suite. Bodies go from user u1 to title t1. */
const actors = [
  { kind: Kind.User, key: 'u1', own: 'userId', before: { count: 2, ratingSum: 7, ratingCount: 2, updateTimeMs: 500, recent: ['t0', 't9'] } },
  { kind: Kind.Title, key: 't1', own: 'titleId', before: { count: 2, ratingSum: 7, ratingCount: 2, updateTimeMs: 500 } },
] as const;

const ev = (over: Partial<Record<keyof InteractionBody, unknown>> = {}): InteractionBody =>
  ({ eventId: '', userId: 'u1', titleId: 't1', type: 'RATING', value: 4, eventTimeMs: 1_000, ...over }) as InteractionBody;

async function newSystem(opts: ActorSystemConfig = {}): Promise<ActorSystem> {
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
    // Nor is a refused interaction's identity remembered: the valid one with its id applies.
    await refusal(system.ask(kind, key, 'interaction', ev({ eventId: 'x', value: 99 })));
    expect(await system.ask(kind, key, 'interaction', ev({ eventId: 'x' }))).toBe(true);
  });

  it(`${kind} - unknown message types and a body on summary are refused`, async () => {
    await using system = await newSystem();
    const err = await refusal(system.ask(kind, key, 'x'));
    expect(err.message).toBe(`${kind} actor: unknown message type 'x'`);
    expect(err.fields).toEqual(['type']);
    expect((await refusal(system.ask(kind, key, 'summary', { page: 2 }))).fields).toEqual(['body']);
  });

  it(`${kind} - repeated bad bodies never restart the actor (InvalidArgument is not a supervision failure; finding 6)`, async () => {
    await using system = await newSystem({ maxConsecutiveFailures: 3 });
    await system.ask(kind, key, 'interaction', ev({ eventId: 'seed' }));
    const before = await system.ask(kind, key, 'summary');
    for (let i = 0; i < 10; i++) await refusal(system.ask(kind, key, 'interaction', ev({ value: 99 })));
    expect(system.kindStats(kind).restarts).toBe(0);
    expect(await system.ask(kind, key, 'summary')).toEqual(before);
  });
});

/** Resolves when `kind/key` has been passivated: a barrier set up before the sweep that causes it. */
function passivated(kind: string, key: string): { onEvent: (e: RuntimeEvent) => void; done: Promise<void> } {
  let resolve!: () => void;
  const done = new Promise<void>((r) => (resolve = r));
  return { onEvent: (e) => e.type === 'activation-end' && e.kind === kind && e.key === key && e.reason === 'passivated' && resolve(), done };
}

describe.each(actors)('$kind actor applies each interaction once', ({ kind, key, before }) => {
  const count = async (system: ActorSystem) => (await system.ask<TitleSummary>(kind, key, 'summary')).interactionCount;

  it(`${kind} - a repeated eventId is applied once, whatever else the repeat carries`, async () => {
    await using system = await newSystem();
    expect(await system.ask(kind, key, 'interaction', ev({ eventId: 'e1' }))).toBe(true);
    expect(await system.ask(kind, key, 'interaction', ev({ eventId: 'e1' }))).toBe(false);
    expect(await system.ask(kind, key, 'interaction', ev({ eventId: 'e1', value: 1, eventTimeMs: 9_000 }))).toBe(false);
    const s = await system.ask<TitleSummary>(kind, key, 'summary');
    expect(s).toMatchObject({ interactionCount: 1, meanRating: 4, updateTimeMs: 1_000 });
    expect(await system.ask(kind, key, 'interaction', ev({ eventId: 'e2' }))).toBe(true);
    expect(await count(system)).toBe(2);
  });

  it(`${kind} - without eventId the tuple is the identity: same tuple once, another time or type again`, async () => {
    await using system = await newSystem();
    expect(await system.ask(kind, key, 'interaction', ev())).toBe(true);
    expect(await system.ask(kind, key, 'interaction', ev({ value: 2 }))).toBe(false);
    expect(await system.ask(kind, key, 'interaction', ev({ eventTimeMs: 1_001 }))).toBe(true);
    expect(await system.ask(kind, key, 'interaction', ev({ type: 'PLAY', value: 0.5 }))).toBe(true);
    expect(await count(system)).toBe(3);
  });

  it(`${kind} - ingesting the same batch twice applies it once`, async () => {
    await using system = await newSystem();
    const batch = Array.from({ length: 50 }, (_, i) => ev({ eventTimeMs: 1_000 + i }));
    await ingestInteractions(system, batch, { batchSize: 8 });
    await ingestInteractions(system, batch, { batchSize: 8 });
    expect(await count(system)).toBe(50);
    expect(system.kindStats(kind).failed).toBe(0);
  });

  it(`${kind} - applied identities survive passivation, in the snapshot`, async () => {
    const clock = new ManualClock();
    const store = memorySnapshotStore();
    const barrier = passivated(kind, key);
    await using system = await newSystem({ clock, store, idlePassivateMs: 1_000, onEvent: barrier.onEvent });
    expect(await system.ask(kind, key, 'interaction', ev({ eventId: 'e1' }))).toBe(true);
    expect(await system.ask(kind, key, 'interaction', ev())).toBe(true);
    clock.advance(1_001);
    expect(system.sweepIdle()).toBe(1);
    await barrier.done;
    expect(system.isActive(kind, key)).toBe(false);
    const data = (await store.load(kind, key)).snapshot?.data as { applied?: unknown };
    expect(data.applied).toBeInstanceOf(Float64Array);
    expect((data.applied as Float64Array).length).toBe(2);

    expect(await system.ask(kind, key, 'interaction', ev({ eventId: 'e1' }))).toBe(false);
    expect(await system.ask(kind, key, 'interaction', ev())).toBe(false);
    expect(system.kindStats(kind).activated).toBe(2);
    expect(await count(system)).toBe(2);
  });

  it(`${kind} - a snapshot from before identities were kept still loads, with none applied`, async () => {
    const store = memorySnapshotStore();
    await store.save(kind, key, { data: before, epoch: 0, savedAt: 0 }, 0);
    await using system = await newSystem({ store });
    expect(await count(system)).toBe(2);
    expect(await system.ask(kind, key, 'interaction', ev())).toBe(true);
    expect(await system.ask(kind, key, 'interaction', ev())).toBe(false);
    expect(await system.ask<TitleSummary>(kind, key, 'summary')).toMatchObject({ interactionCount: 3, meanRating: 11 / 3, updateTimeMs: 1_000 });
  });
});
