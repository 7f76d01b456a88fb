import { describe, expect, it } from 'vitest';
import { waitFor } from '../test/harness/wait.js';
import { ActorSystem, allShards, type BatchMessage } from '../runtime/index.js';
import { ingestAcked, Kind, NotAcknowledged, registerReelActors, TitleMsg, UserMsg, type InteractionBody, type TitleSummary, type UserSummary } from './index.js';

const rating = (u: number, t: number, time: number): InteractionBody => ({ eventId: '', userId: `u${u}`, titleId: `t${t}`, type: 'RATING', value: 1 + (time % 5), eventTimeMs: time * 1000 });
const ratings = Array.from({ length: 1000 }, (_, i) => rating(i % 37, i % 53, i));
const both = (it: InteractionBody): BatchMessage[] => [
  { kind: Kind.User, key: it.userId, type: UserMsg.Interaction, body: it },
  { kind: Kind.Title, key: it.titleId, type: TitleMsg.Interaction, body: it },
];

/** Ingests and tallies each item's answers as `true,false` strings. */
async function ingest(system: ActorSystem, items: InteractionBody[], prefix: string, over: { retryMs?: number; maxAttempts?: number } = {}) {
  const tally: Record<string, number> = {};
  const n = await ingestAcked(system, items, {
    idPrefix: prefix,
    messagesOf: both,
    onAnswered: (_it, answers) => void (tally[answers.join()] = (tally[answers.join()] ?? 0) + 1),
    batchItems: 64,
    inFlight: 3,
    ...over,
  });
  return { n, tally };
}

async function held(system: ActorSystem): Promise<[number, number]> {
  const users = await Promise.all(Array.from({ length: 37 }, (_, u) => system.ask<UserSummary>(Kind.User, `u${u}`, UserMsg.Summary)));
  const titles = await Promise.all(Array.from({ length: 53 }, (_, t) => system.ask<TitleSummary>(Kind.Title, `t${t}`, TitleMsg.Summary)));
  return [users.reduce((a, s) => a + s.interactionCount, 0), titles.reduce((a, s) => a + s.interactionCount, 0)];
}

describe('acked ingestion', () => {
  it('acked - every item is answered once acknowledged; sending it all again changes nothing and says so', async () => {
    await using system = await registerReelActors(new ActorSystem({ nodeId: 'acked', dedupMaxEntries: 100_000 })).start();
    expect(await ingest(system, ratings, 'a.')).toEqual({ n: 1000, tally: { 'true,true': 1000 } });
    expect(await ingest(system, ratings, 'b.')).toEqual({ n: 1000, tally: { 'false,false': 1000 } });
    expect(await held(system)).toEqual([1000, 1000]);
  });

  it('acked - messages to shards nobody hosts yet are resent with their ids until one does, and applied once', async () => {
    await using system = await registerReelActors(new ActorSystem({ nodeId: 'late', dedupMaxEntries: 100_000 })).start([]);
    const done = ingest(system, ratings, 'c.', { retryMs: 1, maxAttempts: 1_000 });
    await waitFor('a first batch refused with NoRoute', () => system.stats.asksFailed > 0);
    await system.host(allShards(system.options.shardCount));
    expect(await done).toEqual({ n: 1000, tally: { 'true,true': 1000 } });
    expect(await held(system)).toEqual([1000, 1000]);
  });

  it('acked - a refusal that cannot pass later stops the load with NotAcknowledged naming the actor and why', async () => {
    await using system = await registerReelActors(new ActorSystem({ nodeId: 'bad' })).start();
    const bad = [...ratings.slice(0, 100), { ...rating(1, 1, 5), value: 9 }, ...ratings.slice(100)];
    const err = await ingest(system, bad, 'd.').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(NotAcknowledged);
    expect((err as NotAcknowledged).message).toMatch(/^user u1 refused 'interaction': .*value 9 is outside \[0.5, 5\]/);
    expect((err as NotAcknowledged).lastError.code).toBe('InvalidArgument');
  });

  it('acked - a node that runs out of attempts stops with the last error', async () => {
    await using system = await registerReelActors(new ActorSystem({ nodeId: 'none' })).start([]);
    const err = await ingest(system, ratings.slice(0, 10), 'e.', { retryMs: 1, maxAttempts: 3 }).then(
      () => undefined,
      (e: unknown) => e as NotAcknowledged,
    );
    expect(err?.message).toMatch(/did not acknowledge 'interaction' after 3 attempts/);
    expect(err?.lastError.code).toBe('NoRoute');
  });
});
