import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ingestInteractions, Kind, registerReelActors, TitleMsg, UserMsg, type TitleSummary, type UserSummary } from '../actors/index.js';
import type { Output } from '../cli/output.js';
import { ratingToInteraction } from '../cli/ratings-input.js';
import { runStart } from '../cli/start.js';
import { readRatings, type Rating } from '../data/movielens.js';
import { ActorSystem } from '../runtime/index.js';

const ml100k = join(import.meta.dirname, '..', '..', 'shared', 'datasets', 'ml-100k');
const dir = mkdtempSync(join(tmpdir(), 'reel-replay-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function* interactionsOf(file: string) {
  for await (const r of readRatings(file)) yield ratingToInteraction(r);
}

/** Per key: how many ratings and their sum, as the actors should hold them. */
function tally(ratings: Rating[], key: (r: Rating) => string): Map<string, { count: number; sum: number }> {
  const out = new Map<string, { count: number; sum: number }>();
  for (const r of ratings) {
    const t = out.get(key(r)) ?? { count: 0, sum: 0 };
    t.count++;
    t.sum += r.rating;
    out.set(key(r), t);
  }
  return out;
}

describe('reel start ingestion', () => {
  it('start - ratings read from u1.base and then u.data end up as exactly the 100,000 of u.data', async () => {
    const all: Rating[] = [];
    for await (const r of readRatings(join(ml100k, 'u.data'))) all.push(r);
    const byUser = tally(all, (r) => r.user);
    const byTitle = tally(all, (r) => r.item);

    await using system = await registerReelActors(new ActorSystem({ nodeId: 'replay' })).start();
    // u1.base is 80,000 of u.data's ratings: reading both sends each of those twice.
    expect(await ingestInteractions(system, interactionsOf(join(ml100k, 'u1.base')))).toBe(80_000);
    expect(await ingestInteractions(system, interactionsOf(join(ml100k, 'u.data')))).toBe(100_000);

    const users = await Promise.all([...byUser.keys()].map((k) => system.ask<UserSummary>(Kind.User, k, UserMsg.Summary)));
    const titles = await Promise.all([...byTitle.keys()].map((k) => system.ask<TitleSummary>(Kind.Title, k, TitleMsg.Summary)));
    expect([users.length, titles.length]).toEqual([943, 1682]);
    expect(system.kindStats(Kind.User).active + system.kindStats(Kind.Title).active).toBe(943 + 1682);
    expect(users.reduce((a, s) => a + s.interactionCount, 0)).toBe(100_000);
    expect(titles.reduce((a, s) => a + s.interactionCount, 0)).toBe(100_000);
    for (const s of users) {
      const t = byUser.get(s.userId)!;
      expect([s.userId, s.interactionCount, s.meanRating]).toEqual([s.userId, t.count, t.sum / t.count]);
    }
    for (const s of titles) {
      const t = byTitle.get(s.titleId)!;
      expect([s.titleId, s.interactionCount, s.meanRating]).toEqual([s.titleId, t.count, t.sum / t.count]);
    }
    expect(system.kindStats(Kind.User).failed + system.kindStats(Kind.Title).failed).toBe(0);
  });

  it('start - reports repeated ratings as duplicates, applied once, none lost', async () => {
    const file = join(dir, 'twice.data');
    writeFileSync(file, readFileSync(join(ml100k, 'u.data'), 'utf8') + readFileSync(join(ml100k, 'u1.base'), 'utf8'));
    const results: unknown[] = [];
    const out: Output = { line: () => {}, json: (v) => results.push(v), info: () => {}, tty: false };
    await runStart({ data: file, json: true, once: true }, out);
    expect(results[0]).toMatchObject({
      ratings: 180_000,
      duplicates: 80_000,
      user_actors: 943,
      title_actors: 1682,
      interactions_held_by_users: 100_000,
      interactions_held_by_titles: 100_000,
      lost: 0,
    });
  });
});
