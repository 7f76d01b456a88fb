import { describe, expect, it } from 'vitest';
import { ActorSystem } from '../runtime/index.js';
import { Kind, registerReelActors, UserMsg, type InteractionBody, type UserSummary } from './index.js';
import { UserActor } from './user.js';

const ev = (titleId: string, t: number, value = 4): InteractionBody => ({ eventId: `e-${titleId}-${t}`, userId: 'u1', titleId, type: 'RATING', value, eventTimeMs: t });

describe('user actor', () => {
  it('user - history is in event-time order, bounded, and counters add up', async () => {
    const system = await registerReelActors(new ActorSystem({ nodeId: 'u' })).start();
    system.tell(Kind.User, 'u1', UserMsg.Interaction, ev('a', 3000, 5));
    system.tell(Kind.User, 'u1', UserMsg.Interaction, ev('b', 1000, 3));
    system.tell(Kind.User, 'u1', UserMsg.Interaction, ev('c', 2000, 4));
    const s = await system.ask<UserSummary>(Kind.User, 'u1', UserMsg.Summary);
    expect(s.recentTitleIds).toEqual(['a', 'c', 'b']);
    expect(s.interactionCount).toBe(3);
    expect(s.meanRating).toBe(4);
    expect(s.updateTimeMs).toBe(3000);
    for (let i = 0; i < 150; i++) system.tell(Kind.User, 'u1', UserMsg.Interaction, ev(`t${i}`, 10_000 + i));
    const s2 = await system.ask<UserSummary>(Kind.User, 'u1', UserMsg.Summary);
    expect(s2.recentTitleIds).toHaveLength(100);
    expect(s2.recentTitleIds[0]).toBe('t149');
    await system.stop();
  });

  it('user - a full history drops the oldest, keeps a late event at its place, and survives a snapshot', () => {
    const ctx = { shard: 0 } as Parameters<UserActor['onActivate']>[0];
    const a = new UserActor({ kind: Kind.User, key: 'u1' });
    a.onActivate(ctx, undefined);
    const tell = (actor: UserActor, titleId: string, t: number) => actor.receive({ type: UserMsg.Interaction, body: ev(titleId, t) } as never);
    const recent = (actor: UserActor) => (actor.receive({ type: UserMsg.Summary } as never) as UserSummary).recentTitleIds;
    for (let i = 0; i < 100; i++) tell(a, `t${i}`, 10_000 + 2 * i);
    tell(a, 'older-than-all', 5);
    expect(recent(a)).not.toContain('older-than-all');
    expect(recent(a)).toHaveLength(100);
    tell(a, 'late', 10_101);
    const r = recent(a);
    expect(r).toHaveLength(100);
    expect(r.indexOf('late')).toBe(r.indexOf('t50') - 1);
    expect(r).not.toContain('t0');
    expect(r[0]).toBe('t99');

    // Through a snapshot (strings and times), on another node's title indices.
    const snap = a.snapshot() as unknown as { recent: string[]; recentTimes: number[] };
    expect(snap.recent).toHaveLength(100);
    expect(snap.recentTimes[snap.recent.indexOf('late')]).toBe(10_101);
    const b = new UserActor({ kind: Kind.User, key: 'u1' });
    b.onActivate(ctx, snap as never);
    expect(recent(b)).toEqual(r);
    tell(b, 'newest', 20_000);
    expect(recent(b)[0]).toBe('newest');

    // A snapshot written before event times were kept: titles in stored order, times 0.
    const c = new UserActor({ kind: Kind.User, key: 'u1' });
    c.onActivate(ctx, { count: 2, ratingSum: 8, ratingCount: 2, updateTimeMs: 0, recent: ['x', 'y'] } as never);
    expect(recent(c)).toEqual(['y', 'x']);
    tell(c, 'z', 1);
    expect(recent(c)).toEqual(['z', 'y', 'x']);
  });

  it('user - a profile: labels merge, preferred genres are replaced, the same upsert twice changes nothing; bad bodies are refused whole; it survives a snapshot', async () => {
    const system = await registerReelActors(new ActorSystem({ nodeId: 'u' })).start();
    try {
      const summary = (key: string) => system.ask<UserSummary>(Kind.User, key, UserMsg.Summary);
      expect(await summary('p1')).toMatchObject({ known: false, labels: {}, preferredGenres: [] });
      expect(await system.ask(Kind.User, 'p1', UserMsg.Profile, { labels: { plan: 'premium' }, preferredGenres: ['Drama', 'Drama', 'Comedy'] })).toBe(true);
      expect(await system.ask(Kind.User, 'p1', UserMsg.Profile, { labels: { plan: 'premium' }, preferredGenres: ['Drama', 'Comedy'] })).toBe(false);
      expect(await system.ask(Kind.User, 'p1', UserMsg.Profile, { labels: { country: 'FR' }, preferredGenres: ['Horror'] })).toBe(true);
      await expect(system.ask(Kind.User, 'p1', UserMsg.Profile, { labels: { '': 'x' }, preferredGenres: ['ok', ''] })).rejects.toMatchObject({ code: 'InvalidArgument', fields: ['labels[""]', 'preferredGenres[1]'] });
      expect(await summary('p1')).toMatchObject({ known: true, labels: { plan: 'premium', country: 'FR' }, preferredGenres: ['Horror'], interactionCount: 0 });
    } finally {
      await system.stop();
    }
    const ctx = { shard: 0 } as Parameters<UserActor['onActivate']>[0];
    const a = new UserActor({ kind: Kind.User, key: 'p2' });
    a.onActivate(ctx, undefined);
    a.receive({ type: UserMsg.Profile, body: { labels: { plan: 'basic' }, preferredGenres: ['Western'] } } as never);
    const b = new UserActor({ kind: Kind.User, key: 'p2' });
    b.onActivate(ctx, a.snapshot() as never);
    expect(b.receive({ type: UserMsg.Summary } as never)).toMatchObject({ known: true, labels: { plan: 'basic' }, preferredGenres: ['Western'] });
  });
});
