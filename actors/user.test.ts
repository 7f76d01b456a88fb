import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../data/random.js';
import { ActorSystem } from '../runtime/index.js';
import { Kind, NodeParams, registerReelActors, UserMsg, type InteractionBody, type InteractionType, type LoggedInteraction, type LogPage, type UserSummary } from './index.js';
import { foldIn, type FoldEntry } from './serving/fold-in.js';
import { DEFAULT_INTERACTION_WEIGHTS } from './serving/interaction-weights.js';
import type { NodeServing } from './serving/node-serving.js';
import { TitleMatrix } from './serving/title-matrix.js';
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

  const act = (userId: string, titleId: string, type: InteractionType, eventTimeMs: number, eventId = '', value = type === 'RATING' ? 4 : 0): InteractionBody => ({ eventId, userId, titleId, type, value, eventTimeMs });
  const bare = (key = 'u1', params?: NodeParams, serving?: NodeServing) => {
    const a = new UserActor({ kind: Kind.User, key }, params, serving);
    a.onActivate({ shard: 0 } as Parameters<UserActor['onActivate']>[0], undefined);
    return a;
  };
  const send = <R>(a: UserActor, type: string, body?: unknown) => a.receive({ type, body } as never) as R;
  /** Every page of `a`'s log, `limit` at a time, calling `between` after each page. */
  const allPages = (a: UserActor, limit: number, types?: string[], between?: (page: number) => void) => {
    const pages: LoggedInteraction[][] = [];
    let after: LogPage['next'];
    do {
      const p = send<LogPage>(a, UserMsg.Interactions, { limit, ...(types ? { types } : {}), ...(after ? { after } : {}) });
      pages.push(p.interactions);
      after = p.next;
      between?.(pages.length);
    } while (after !== undefined);
    return pages;
  };

  it('user - interactions: the log newest first by event time with ids, types and values; pages never repeat one, even as interactions arrive between pages; filtered by types', async () => {
    const system = await registerReelActors(new ActorSystem({ nodeId: 'u' })).start();
    try {
      const log = [
        act('u1', 'a', 'RATING', 3_000, 'r-a', 4.5), act('u1', 'b', 'PLAY', 1_000, 'p-b', 0.25), act('u1', 'c', 'COMPLETE', 5_000, 'c-c'),
        act('u1', 'd', 'THUMBS_UP', 2_000, 't-d'), act('u1', 'e', 'PLAY', 4_000, ''), act('u1', 'f', 'ADD_TO_LIST', 6_000, 'l-f'), act('u1', 'g', 'IMPRESSION', 7_000, 'i-g'),
      ];
      for (const b of log) expect(await system.ask(Kind.User, 'u1', UserMsg.Interaction, b)).toBe(true);
      const first = await system.ask<LogPage>(Kind.User, 'u1', UserMsg.Interactions, { limit: 100 });
      expect(first.known).toBe(true);
      expect(first.next).toBeUndefined();
      expect(first.interactions.map((i) => i.titleId)).toEqual(['g', 'f', 'c', 'e', 'a', 'd', 'b']);
      expect(first.interactions.find((i) => i.titleId === 'a')).toEqual({ eventId: 'r-a', titleId: 'a', type: 'RATING', value: 4.5, eventTimeMs: 3_000 });
      expect(first.interactions.find((i) => i.titleId === 'b')).toEqual({ eventId: 'p-b', titleId: 'b', type: 'PLAY', value: 0.25, eventTimeMs: 1_000 });
      expect(first.interactions.find((i) => i.titleId === 'e')!.eventId).toBe('');
      // An impression is logged, but a title only shown is neither watched nor recent.
      expect(await system.ask<string[]>(Kind.User, 'u1', UserMsg.Watched, undefined)).not.toContain('g');
      expect((await system.ask<UserSummary>(Kind.User, 'u1', UserMsg.Summary, undefined)).recentTitleIds).toEqual(['f', 'c', 'e', 'a', 'd', 'b']);

      // Pages of 3; after the first, one newer and one older interaction arrive.
      const seen: string[] = [];
      let after: LogPage['next'];
      for (let page = 0; page < 10; page++) {
        const p = await system.ask<LogPage>(Kind.User, 'u1', UserMsg.Interactions, { limit: 3, ...(after ? { after } : {}) });
        seen.push(...p.interactions.map((i) => i.titleId));
        if (page === 0) {
          expect(p.interactions).toHaveLength(3);
          await system.ask(Kind.User, 'u1', UserMsg.Interaction, act('u1', 'newest', 'PLAY', 9_000, 'n'));
          await system.ask(Kind.User, 'u1', UserMsg.Interaction, act('u1', 'oldest', 'PLAY', 500, 'o'));
        }
        after = p.next;
        if (after === undefined) break;
      }
      expect(seen).toEqual(['g', 'f', 'c', 'e', 'a', 'd', 'b', 'oldest']);

      const plays = await system.ask<LogPage>(Kind.User, 'u1', UserMsg.Interactions, { limit: 10, types: ['PLAY', 'COMPLETE'] });
      expect(plays.interactions.map((i) => `${i.titleId}:${i.type}`)).toEqual(['newest:PLAY', 'c:COMPLETE', 'e:PLAY', 'b:PLAY', 'oldest:PLAY']);
      // Paged with the filter: the same, in pages of 2.
      const filtered: string[] = [];
      after = undefined;
      do {
        const p: LogPage = await system.ask<LogPage>(Kind.User, 'u1', UserMsg.Interactions, { limit: 2, types: ['PLAY', 'COMPLETE'], ...(after ? { after } : {}) });
        filtered.push(...p.interactions.map((i) => i.titleId));
        after = p.next;
      } while (after !== undefined);
      expect(filtered).toEqual(['newest', 'c', 'e', 'b', 'oldest']);

      expect(await system.ask<LogPage>(Kind.User, 'nobody', UserMsg.Interactions, { limit: 5 })).toEqual({ interactions: [], known: false });
      await expect(system.ask(Kind.User, 'u1', UserMsg.Interactions, { limit: 0 })).rejects.toMatchObject({ code: 'InvalidArgument', fields: ['limit'] });
      await expect(system.ask(Kind.User, 'u1', UserMsg.Interactions, { limit: 5, types: ['PLAY', 'WATCH'] })).rejects.toMatchObject({ code: 'InvalidArgument', fields: ['types[1]'] });
      await expect(system.ask(Kind.User, 'u1', UserMsg.Interactions, { limit: 5, after: { at: 'x' } })).rejects.toMatchObject({ code: 'InvalidArgument', fields: ['after'] });
    } finally {
      await system.stop();
    }
  });

  it('user - deleteInteractions by title, by type, by both or all: the log, counters, recent and watched titles and dislikes are rebuilt; a deleted event replayed stays deleted', async () => {
    const system = await registerReelActors(new ActorSystem({ nodeId: 'u' })).start();
    try {
      const ask = <R>(type: string, body?: unknown) => system.ask<R>(Kind.User, 'u1', type, body);
      const log = [
        act('u1', 'a', 'RATING', 1_000, 'r-a', 4), act('u1', 'b', 'PLAY', 2_000, 'p-b', 0.5), act('u1', 'b', 'COMPLETE', 3_000, 'c-b'),
        act('u1', 'c', 'THUMBS_DOWN', 4_000, 'd-c'), act('u1', 'd', 'RATING', 5_000, '', 2), act('u1', 'e', 'IMPRESSION', 6_000, 'i-e'),
      ];
      for (const b of log) await ask(UserMsg.Interaction, b);
      const watched = async () => (await ask<string[]>(UserMsg.Watched)).sort();
      const summary = () => ask<UserSummary>(UserMsg.Summary);
      // e was only shown (an impression): logged and counted, neither watched nor recent.
      expect(await watched()).toEqual(['a', 'b', 'c', 'd']);
      expect(await summary()).toMatchObject({ interactionCount: 6, meanRating: 3, recentTitleIds: ['d', 'c', 'b', 'b', 'a'], updateTimeMs: 6_000 });

      expect(await ask(UserMsg.DeleteInteractions, { titleIds: ['b'] })).toBe(2);
      expect(await watched()).toEqual(['a', 'c', 'd']);
      expect(await summary()).toMatchObject({ interactionCount: 4, meanRating: 3, recentTitleIds: ['d', 'c', 'a'] });

      // The thumbs-down gone, the title is neither disliked nor watched.
      expect(await ask(UserMsg.DeleteInteractions, { types: ['THUMBS_DOWN'] })).toBe(1);
      expect(await watched()).toEqual(['a', 'd']);
      // By title and type together: only the ratings of a and d (not e's impression).
      expect(await ask(UserMsg.DeleteInteractions, { titleIds: ['a', 'd', 'e'], types: ['RATING'] })).toBe(2);
      expect(await summary()).toMatchObject({ interactionCount: 1, meanRating: 0, recentTitleIds: [], updateTimeMs: 6_000 });
      expect(await ask(UserMsg.DeleteInteractions, { titleIds: ['never-seen-title'] })).toBe(0);

      // Identities stay: the deleted events replayed (from the stream, a retry) apply nothing.
      for (const b of log) expect(await ask(UserMsg.Interaction, b)).toBe(false);
      expect((await ask<LogPage>(UserMsg.Interactions, { limit: 10 })).interactions.map((i) => i.titleId)).toEqual(['e']);

      // Empty: everything. A user left with nothing (and no profile) is no longer known.
      expect(await ask(UserMsg.DeleteInteractions, {})).toBe(1);
      expect(await summary()).toMatchObject({ interactionCount: 0, recentTitleIds: [], known: false });
      await expect(ask(UserMsg.DeleteInteractions, { titleIds: [''] })).rejects.toMatchObject({ code: 'InvalidArgument', fields: ['titleIds[0]'] });
      await expect(ask(UserMsg.DeleteInteractions, { types: ['NOPE'] })).rejects.toMatchObject({ code: 'InvalidArgument', fields: ['types[0]'] });
    } finally {
      await system.stop();
    }
  });

  it('user - a deleted thumbs-down no longer dislikes its title; a later thumbs-up still undoes an earlier one; the log survives a snapshot', () => {
    const a = bare();
    for (const b of [act('u1', 'x', 'THUMBS_DOWN', 1, 'd-x'), act('u1', 'y', 'THUMBS_DOWN', 2, 'd-y'), act('u1', 'y', 'PLAY', 3, 'p-y', 0.5), act('u1', 'z', 'THUMBS_DOWN', 4, 'd-z'), act('u1', 'z', 'THUMBS_UP', 5, 'u-z')]) {
      expect(send(a, UserMsg.Interaction, b)).toBe(true);
    }
    const dislikedOf = (u: UserActor) => ((u.snapshot() as unknown as { disliked?: string[] }).disliked ?? []).sort();
    expect(dislikedOf(a)).toEqual(['x', 'y']);
    expect(send(a, UserMsg.DeleteInteractions, { titleIds: ['y'], types: ['THUMBS_DOWN'] })).toBe(1);
    // y is still watched (its play), no longer disliked; z's thumbs-up still wins over its thumbs-down.
    expect(dislikedOf(a)).toEqual(['x']);
    expect((send<string[]>(a, UserMsg.Watched)).sort()).toEqual(['x', 'y', 'z']);
    expect(send(a, UserMsg.DeleteInteractions, { types: ['THUMBS_UP'] })).toBe(1);
    expect(dislikedOf(a)).toEqual(['x', 'z']);

    // Through a snapshot: the same log, ids, types, values and times.
    const b = new UserActor({ kind: Kind.User, key: 'u1' });
    b.onActivate({ shard: 0 } as never, a.snapshot() as never);
    expect(allPages(b, 2)).toEqual(allPages(a, 2));
    expect(allPages(b, 100)[0]).toEqual([
      { eventId: 'd-z', titleId: 'z', type: 'THUMBS_DOWN', value: 0, eventTimeMs: 4 },
      { eventId: 'p-y', titleId: 'y', type: 'PLAY', value: 0.5, eventTimeMs: 3 },
      { eventId: 'd-x', titleId: 'x', type: 'THUMBS_DOWN', value: 0, eventTimeMs: 1 },
    ]);
    expect(dislikedOf(b)).toEqual(['x', 'z']);
  });

  it('user - a snapshot written before the log kept types restores: ratings as RATING, the rest UNSPECIFIED at time 0; deleting them keeps an older dislike only while its untyped interaction remains', () => {
    const a = new UserActor({ kind: Kind.User, key: 'u1' });
    a.onActivate({ shard: 0 } as never, { count: 3, ratingSum: 4, ratingCount: 1, updateTimeMs: 7_000, recent: ['m', 'n', 'o'], recentTimes: [5_000, 6_000, 7_000], history: { titles: ['m', 'n', 'o'], values: [4, null, null] }, disliked: ['o'] } as never);
    const page = allPages(a, 10)[0]!;
    expect(page.map((i) => [i.titleId, i.type, i.eventTimeMs, i.eventId])).toEqual([['m', 'RATING', 0, ''], ['n', 'UNSPECIFIED', 0, ''], ['o', 'UNSPECIFIED', 0, '']]);
    expect(allPages(a, 10, ['UNSPECIFIED'])[0]!.map((i) => i.titleId)).toEqual(['n', 'o']);
    const disliked = () => (a.snapshot() as unknown as { disliked?: string[] }).disliked ?? [];
    expect(send(a, UserMsg.DeleteInteractions, { titleIds: ['m'] })).toBe(1);
    expect(disliked()).toEqual(['o']);
    // Times unknown: the latest event time stays as it was.
    expect(send<UserSummary>(a, UserMsg.Summary)).toMatchObject({ interactionCount: 2, meanRating: 0, updateTimeMs: 7_000 });
    expect(send(a, UserMsg.DeleteInteractions, { types: ['UNSPECIFIED'], titleIds: ['o'] })).toBe(1);
    expect(disliked()).toEqual([]);
  });

  it('user - a delete refits the row of the active version from what is left (fold-in with the node\'s weights), and zeroes it when nothing is left', () => {
    const f = 4;
    const rnd = mulberry32(3);
    const keys = Array.from({ length: 20 }, (_, i) => `t${i}`);
    const rows = Float32Array.from({ length: keys.length * (f + 1) }, () => (rnd() - 0.5) * 0.8);
    const m = new TitleMatrix('v', f, keys, rows, { model: 'mf', mean: 3.5, reg: 0.05, trainedAtMs: 0 });
    const params = new NodeParams();
    params.version('v', { factors: f, seed: 1, initStd: 0 });
    const serving = { active: 'v', matrix: (v: string) => (v === 'v' ? m : undefined), weights: { ...DEFAULT_INTERACTION_WEIGHTS, IMPRESSION: 0 } } as unknown as NodeServing;
    const a = bare('u1', params, serving);
    const rowOf = () => params.existingVersion('v')!.existing(Kind.User, 0)!.copyOf('u1')!;
    const log = [act('u1', 't1', 'RATING', 1, 'r1', 5), act('u1', 't2', 'RATING', 2, 'r2', 1), act('u1', 't3', 'PLAY', 3, 'p3', 0.9), act('u1', 't4', 'IMPRESSION', 4, 'i4')];
    for (const b of log) expect(send(a, UserMsg.Record, b)).toBe(true);
    const entry = (t: string, type: InteractionType, rating = NaN): FoldEntry => ({ titleId: t, rating, type, disliked: false });
    const all = rowOf();
    const close = (x: Float32Array, y: Float32Array) => x.forEach((v, i) => expect(v).toBeCloseTo(y[i]!, 5));
    close(all, foldIn(m, [entry('t1', 'RATING', 5), entry('t2', 'RATING', 1), entry('t3', 'PLAY')])!);

    expect(send(a, UserMsg.DeleteInteractions, { titleIds: ['t2'] })).toBe(1);
    const left = rowOf();
    expect(Math.abs(left[0]! - all[0]!)).toBeGreaterThan(1e-3);
    close(left, foldIn(m, [entry('t1', 'RATING', 5), entry('t3', 'PLAY')])!);
    // The impression (weight 0) is all that is left after this: nothing to fit, the row is zeroed.
    expect(send(a, UserMsg.DeleteInteractions, { titleIds: ['t1', 't3'] })).toBe(2);
    expect([...rowOf()]).toEqual(new Array(f + 1).fill(0));
  });
});
