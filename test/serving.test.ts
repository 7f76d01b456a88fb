import { join } from 'node:path';
import { credentials, Metadata, status, type Client, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kind, UserMsg } from '../actors/index.js';
import { ServingMsg, type ScoredTitles, type UserVector } from '../actors/serving/index.js';
import { latestCheckpoint, TrainedModel } from '../actors/training/index.js';
import { openCheckpointStore } from '../cluster/index.js';
import { readRatings, type Rating } from '../data/index.js';
import { apiProtos, decodeStatusDetails } from '../gateway/index.js';
import { shardOf } from '../runtime/index.js';
import { startTestCluster, type TestCluster } from './harness/cluster.js';
import { parsePrometheus } from './harness/prometheus.js';
import { runReel, startNodeProcess, type NodeProcess } from './harness/processes.js';
import { waitFor } from './harness/wait.js';

const ML100K = join(import.meta.dirname, '..', '..', 'shared', 'datasets', 'ml-100k');
const S = 16;
const HP = ['--factors', '32', '--lr', '0.02', '--lr-decay', '0.93', '--reg', '0.05', '--reg-bias', '0.01', '--init-std', '0.05', '--seed', '7', '--validation-fraction', '0'];

type Unary = (req: unknown, md: Metadata, opts: { deadline: number }, cb: (err: ServiceError | null, res: unknown) => void) => void;
type Res = Record<string, any>;

/** Calls a unary method with a 10 s deadline; resolves with the answer or the error (never rejects). */
function call(client: Client, method: string, req: unknown): Promise<{ res?: Res; err?: ServiceError }> {
  return new Promise((resolve) => ((client as unknown as Record<string, Unary>)[method]!).call(client, req, new Metadata(), { deadline: Date.now() + 10_000 }, (err, res) => resolve(err ? { err } : { res: res as Res })));
}

async function ok(client: Client, method: string, req: unknown): Promise<Res> {
  const r = await call(client, method, req);
  if (r.err) throw new Error(`${method}: ${r.err.code} ${r.err.details}`);
  return r.res!;
}

describe('serving - RecommendationService from live actor state (real nats-server, node and gateway processes, a grpc-js client)', { timeout: 120_000 }, () => {
  let c: TestCluster;
  let gw: NodeProcess;
  let rec: Client;
  let cat: Client;
  let metricsPort: number;
  let train: Rating[];
  /** Titles each user rated in u1.base. */
  const watched = new Map<string, Set<string>>();

  beforeAll(async () => {
    train = [];
    for await (const r of readRatings(join(ML100K, 'u1.base'))) {
      train.push(r);
      let w = watched.get(r.user);
      if (w === undefined) watched.set(r.user, (w = new Set()));
      w.add(r.item);
    }
    c = await startTestCluster({ nodes: 2, shardCount: S, label: 'serving', reelActors: true, defaultTimings: true, metrics: true });
    await c.waitBalanced();
    const flags = ['--nats', c.nats.url, '--prefix', c.prefix];
    for (const data of [join(ML100K, 'u.item'), join(ML100K, 'u1.base')]) {
      const load = await runReel(['load', ...flags, '--data', data, '--json'], { timeoutMs: 100_000 });
      expect(load.code, load.stderr).toBe(0);
    }
    for (const [v, epochs] of [['serve-a', '10'], ['serve-b', '2']] as const) {
      const t = await runReel(['train', ...flags, '--model', 'mf', '--epochs', epochs, ...HP, '--model-version', v, '--json'], { timeoutMs: 100_000 });
      expect(t.code, t.stderr).toBe(0);
    }
    const act = await runReel(['models', 'activate', 'serve-a', ...flags, '--json']);
    expect(act.code, act.stderr).toBe(0);
    // A generous budget: these tests check what is ranked, not how fast (the benchmark does).
    gw = startNodeProcess(['gateway', ...flags, '--port', '0', '--metrics-port', '0', '--budget-ms', '5000']);
    const ready = await gw.ready;
    metricsPort = ready.metricsPort as number;
    rec = new (apiProtos().api.reel.v1.RecommendationService)(`127.0.0.1:${ready.port as number}`, credentials.createInsecure());
    cat = new (apiProtos().api.reel.v1.CatalogService)(`127.0.0.1:${ready.port as number}`, credentials.createInsecure());
    // The catalog reaches every node, and the popular lists the gateway, within a refresh or two:
    // the list (its first 1000 titles) then counts what u1.base holds.
    const counts = new Map<string, number>();
    for (const r of train) counts.set(r.item, (counts.get(r.item) ?? 0) + 1);
    const want = [...counts.values()].sort((a, b) => b - a).slice(0, 1000).reduce((x, y) => x + y, 0);
    const listed = async () => ((await call(rec, 'PopularTitles', { pageSize: 1000 })).res?.titles ?? []).reduce((n: number, t: Res) => n + (t.score as number), 0);
    await waitFor(`the popular list counts ${want} interactions`, async () => (await listed()) === want, { timeoutMs: 30_000, intervalMs: 200 });
  }, 110_000);

  afterAll(async () => {
    rec?.close();
    cat?.close();
    await gw?.stop();
    await c?.close();
  });

  it('serving - the other candidate design, scatter-gather: the user\'s row (vector), every node\'s best titles of its own shards (serving.score), merged, equal the titles Recommend serves', async () => {
    for (const userId of ['1', '13', '500']) {
      const v = await c.client.system.ask<UserVector>(Kind.User, userId, UserMsg.Vector, undefined, { deadlineMs: 5_000 });
      expect(v.row).not.toBeNull();
      expect(v.watched.length).toBeGreaterThan(0);
      const nodes = c.client.ownerNodes();
      expect(nodes.sort()).toEqual(['n1', 'n2']);
      const parts = await Promise.all(nodes.map((n) => c.client.system.askNode<ScoredTitles>(n, ServingMsg.Score, { version: v.modelVersion, row: v.row, k: 20, exclude: v.watched }, { deadlineMs: 5_000 })));
      // Each node answers only titles of its own shards.
      for (const p of parts) for (const t of p.value.titleIds) expect(c.client.owners()[shardOf(Kind.Title, t, S)]).toBe(p.node);
      const merged = parts.flatMap((p) => p.value.titleIds.map((t, j) => [t, p.value.scores[j]!] as const)).sort((a, b) => b[1] - a[1]).slice(0, 20).map(([t]) => t);
      const served = ((await ok(rec, 'Recommend', { userId, pageSize: 20 })).titles as Res[]).map((t) => t.titleId);
      expect(merged).toEqual(served);
    }
  });

  it('serving - recommendations differ between users, leave out what each watched, name the version, and equal the offline ranking of that version (no filters, no diversity)', async () => {
    const blobs = await openCheckpointStore(c.nc, c.prefix);
    const model = TrainedModel.fromCheckpoint((await latestCheckpoint(blobs, 'serve-a'))!);
    const titles = [...model.titleKeys()];
    const lists: string[][] = [];
    for (const user of ['1', '13', '405']) {
      const r = await ok(rec, 'Recommend', { userId: user, pageSize: 20 });
      expect(r.fallback).toBe(false);
      expect(r.modelVersion).toBe('serve-a');
      expect(r.recommendationId).not.toBe('');
      const ids = (r.titles as Res[]).map((t) => t.titleId as string);
      expect(ids).toHaveLength(20);
      for (const id of ids) expect(watched.get(user)!.has(id), `user ${user} watched ${id}`).toBe(false);
      const offline = titles.filter((t) => !watched.get(user)!.has(t)).sort((a, b) => model.score(user, b) - model.score(user, a) || (a < b ? -1 : 1)).slice(0, 20);
      expect(ids).toEqual(offline);
      for (const t of r.titles as Res[]) {
        expect(['REASON_KIND_BECAUSE_YOU_WATCHED', 'REASON_KIND_PERSONALIZED']).toContain(t.reason.kind);
        if (t.reason.kind === 'REASON_KIND_BECAUSE_YOU_WATCHED') {
          expect(watched.get(user)!.has(t.reason.evidenceTitleIds[0])).toBe(true);
          expect(t.reason.text).toMatch(/^Because you watched /);
        }
      }
      lists.push(ids);
    }
    expect(lists[0]).not.toEqual(lists[1]);
    expect(lists[1]).not.toEqual(lists[2]);
  });

  it('serving - pages of one ranking never repeat a title; a token replayed with other parameters or mangled is INVALID_ARGUMENT naming page_token', async () => {
    const seen = new Set<string>();
    let token = '';
    let id = '';
    for (let page = 0; page < 5; page++) {
      const r = await ok(rec, 'Recommend', { userId: '7', pageSize: 30, pageToken: token });
      if (page === 0) id = r.recommendationId;
      else expect(r.recommendationId).toBe(id);
      for (const t of r.titles as Res[]) {
        expect(seen.has(t.titleId), `page ${page} repeats ${t.titleId}`).toBe(false);
        seen.add(t.titleId);
      }
      token = r.nextPageToken;
      expect(token).not.toBe('');
    }
    expect(seen.size).toBe(150);
    const mismatch = await call(rec, 'Recommend', { userId: '7', pageSize: 30, pageToken: token, filter: { includeGenres: ['Comedy'] } });
    expect(mismatch.err?.code).toBe(status.INVALID_ARGUMENT);
    expect(decodeStatusDetails(mismatch.err!.metadata)).toMatchObject({ errorInfo: { reason: 'PAGE_TOKEN_MISMATCH' }, fieldViolations: [{ field: 'page_token' }] });
    const mangled = await call(rec, 'Recommend', { userId: '7', pageToken: 'not-a-token' });
    expect(decodeStatusDetails(mangled.err!.metadata)).toMatchObject({ errorInfo: { reason: 'PAGE_TOKEN_INVALID' } });
  });

  it('serving - filters hold (genres any-of and all-of, years, excluded ids), backfill fills a short list with popular titles that pass, and disable_backfill does not', async () => {
    const r = await ok(rec, 'Recommend', { userId: '1', pageSize: 25, includeTitleDetails: true, filter: { includeGenres: ['Comedy', 'Romance'], minReleaseYear: 1990, maxReleaseYear: 1995, excludeTitleIds: ['1'] } });
    expect(r.titles).toHaveLength(25);
    for (const t of r.titles as Res[]) {
      expect(t.title.genres.some((g: string) => g === 'Comedy' || g === 'Romance'), JSON.stringify(t.title)).toBe(true);
      expect(t.title.releaseYear).toBeGreaterThanOrEqual(1990);
      expect(t.title.releaseYear).toBeLessThanOrEqual(1995);
      expect(t.titleId).not.toBe('1');
    }
    const all = await ok(rec, 'Recommend', { userId: '1', pageSize: 10, includeTitleDetails: true, filter: { includeGenres: ['Comedy', 'Romance'], requireAllGenres: true } });
    for (const t of all.titles as Res[]) expect(t.title.genres).toEqual(expect.arrayContaining(['Comedy', 'Romance']));
    // A title upserted after training has no row to rank: only backfill can bring it, and only when allowed.
    expect((await ok(cat, 'BatchUpsertTitles', { titles: [{ titleId: 'noir-new', displayName: 'A New Noir (1946)', genres: ['Film-Noir'], releaseYear: 1946 }] })).titles).toHaveLength(1);
    const narrow = { includeGenres: ['Film-Noir'], includeReleaseYears: [1946] };
    // The user's node has it once its catalog has pulled the title's node (a refresh or two).
    let filled: Res = {};
    await waitFor('the new title backfilled', async () => {
      filled = await ok(rec, 'Recommend', { userId: '1', pageSize: 50, filter: narrow, includeTitleDetails: true });
      return (filled.titles as Res[]).some((t) => t.titleId === 'noir-new');
    }, { timeoutMs: 20_000, intervalMs: 100 });
    const strict = await ok(rec, 'Recommend', { userId: '1', pageSize: 50, disableBackfill: true, filter: narrow, includeTitleDetails: true });
    expect((strict.titles as Res[]).map((t) => t.titleId)).not.toContain('noir-new');
    const added = (filled.titles as Res[]).slice(strict.titles.length);
    expect(added.map((t) => t.titleId)).toContain('noir-new');
    expect((filled.titles as Res[]).slice(0, strict.titles.length)).toEqual(strict.titles);
    for (const t of added) expect(t.reason.kind).toBe('REASON_KIND_POPULAR_NOW');
    for (const t of filled.titles as Res[]) expect(t.title).toMatchObject({ genres: expect.arrayContaining(['Film-Noir']), releaseYear: 1946 });
    const scrape = parsePrometheus(await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text());
    expect(scrape.sum('reel_recommend_fallbacks_total')).toBe(0);
    expect(scrape.sum('reel_recommend_backfilled_titles_total')).toBeGreaterThanOrEqual(added.length);
  });

  it('serving - diversity re-ranks (fewer shared genres among the first titles), and every bad request gets INVALID_ARGUMENT with its field', async () => {
    const genresOf = async (diversity: number) => {
      const r = await ok(rec, 'Recommend', { userId: '1', pageSize: 10, diversity, includeTitleDetails: true });
      return (r.titles as Res[]).map((t) => t.title.genres as string[]);
    };
    const overlap = (gs: string[][]) => {
      let n = 0;
      for (let i = 0; i < gs.length; i++) for (let j = i + 1; j < gs.length; j++) n += gs[i]!.filter((g) => gs[j]!.includes(g)).length;
      return n;
    };
    expect(overlap(await genresOf(0.9))).toBeLessThan(overlap(await genresOf(0)));
    const bad: Array<[unknown, string]> = [
      [{ userId: '' }, 'user_id'],
      [{ userId: '1', pageSize: -1 }, 'page_size'],
      [{ userId: '1', diversity: 1.5 }, 'diversity'],
      [{ userId: '1', filter: { minReleaseYear: 1999, maxReleaseYear: 1990 } }, 'filter.min_release_year'],
      [{ userId: '1', context: { localHour: 25 } }, 'context.local_hour'],
    ];
    for (const [req, field] of bad) {
      const r = await call(rec, 'Recommend', req);
      expect(r.err?.code, JSON.stringify(req)).toBe(status.INVALID_ARGUMENT);
      expect(decodeStatusDetails(r.err!.metadata)?.fieldViolations?.map((v) => v.field)).toContain(field);
    }
    const pinned = await call(rec, 'Recommend', { userId: '1', modelVersion: 'no-such-version' });
    expect(pinned.err?.code).toBe(status.NOT_FOUND);
  });

  it('serving - a user nobody has seen gets popular titles (POPULAR_NOW, not a fallback), those of its chosen genres first', async () => {
    const r = await ok(rec, 'Recommend', { userId: 'new-user-1', pageSize: 10 });
    expect(r.fallback).toBe(false);
    expect((r.titles as Res[]).every((t) => t.reason.kind === 'REASON_KIND_POPULAR_NOW')).toBe(true);
    const popular = await ok(rec, 'PopularTitles', { pageSize: 10 });
    expect((r.titles as Res[]).map((t) => t.titleId)).toEqual((popular.titles as Res[]).map((t) => t.titleId));
  });

  it('serving - a pinned version ranks with that version; activating another changes the version every response names', async () => {
    const pinned = await ok(rec, 'Recommend', { userId: '1', modelVersion: 'serve-b' });
    expect(pinned.modelVersion).toBe('serve-b');
    const flags = ['--nats', c.nats.url, '--prefix', c.prefix];
    expect((await runReel(['models', 'activate', 'serve-b', ...flags])).code).toBe(0);
    expect((await ok(rec, 'Recommend', { userId: '1' })).modelVersion).toBe('serve-b');
    expect((await runReel(['models', 'activate', 'serve-a', ...flags])).code).toBe(0);
    expect((await ok(rec, 'Recommend', { userId: '1' })).modelVersion).toBe('serve-a');
  });

  it('serving - similar titles: by embedding, never the title itself, with a reason naming it; an unknown title is NOT_FOUND; with a user, its watched titles are left out', async () => {
    const r = await ok(rec, 'SimilarTitles', { titleId: '50', pageSize: 10 });
    const ids = (r.titles as Res[]).map((t) => t.titleId);
    expect(ids).toHaveLength(10);
    expect(ids).not.toContain('50');
    expect((r.titles as Res[])[0].reason).toMatchObject({ kind: 'REASON_KIND_SIMILAR_TO_TITLE', evidenceTitleIds: ['50'] });
    const scores = (r.titles as Res[]).map((t) => t.score as number);
    expect([...scores].sort((a, b) => b - a)).toEqual(scores);
    const forUser = await ok(rec, 'SimilarTitles', { titleId: '50', userId: '1', pageSize: 30 });
    for (const t of forUser.titles as Res[]) expect(watched.get('1')!.has(t.titleId)).toBe(false);
    const unknown = await call(rec, 'SimilarTitles', { titleId: 'no-such-title' });
    expect(unknown.err?.code).toBe(status.NOT_FOUND);
    expect(decodeStatusDetails(unknown.err!.metadata)?.errorInfo?.reason).toBe('TITLE_NOT_FOUND');
  });

  it('serving - popular titles by interactions, pages without repeats; a user\'s watched titles left out', async () => {
    const counts = new Map<string, number>();
    for (const r of train) counts.set(r.item, (counts.get(r.item) ?? 0) + 1);
    const first = await ok(rec, 'PopularTitles', { pageSize: 5 });
    const top = [...counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, 5).map(([t]) => t);
    expect((first.titles as Res[]).map((t) => t.titleId)).toEqual(top);
    expect((first.titles as Res[]).map((t) => t.score)).toEqual(top.map((t) => counts.get(t)));
    const second = await ok(rec, 'PopularTitles', { pageSize: 5, pageToken: first.nextPageToken });
    for (const t of second.titles as Res[]) expect(top).not.toContain(t.titleId);
    const mine = await ok(rec, 'PopularTitles', { pageSize: 50, userId: '1' });
    expect(mine.titles).toHaveLength(50);
    for (const t of mine.titles as Res[]) expect(watched.get('1')!.has(t.titleId), `user 1 watched ${t.titleId}`).toBe(false);
  });

  it('serving - RecordInteractions: a thumbs-down on a user\'s first title removes it from the next answer and pushes its neighbours down; an event id recorded twice counts once; a bad batch is refused whole, each violation named', async () => {
    const before = ((await ok(rec, 'Recommend', { userId: '13', pageSize: 200 })).titles as Res[]).map((t) => t.titleId);
    const first = before[0]!;
    // A close neighbour of it that the user had in its list.
    const like = ((await ok(rec, 'SimilarTitles', { titleId: first, pageSize: 50 })).titles as Res[]).map((t) => t.titleId);
    const neighbour = like.find((t) => before.includes(t) && t !== first)!;
    expect(neighbour).toBeDefined();
    const now = { seconds: String(Math.floor(Date.now() / 1000)), nanos: 0 };
    const down = { eventId: 'td-13-1', userId: '13', titleId: first, type: 'INTERACTION_TYPE_THUMBS_DOWN', eventTime: now };
    const countOf = async (titleId: string) => (await ok(cat, 'GetTitle', { titleId })).title.interactionCount as number;
    const before13 = await countOf(first);
    expect(await ok(rec, 'RecordInteractions', { interactions: [down] })).toMatchObject({ recordedCount: 1, duplicateCount: 0 });
    // The title's actor counts it too (its popularity), once.
    await waitFor('the title counts the interaction', async () => (await countOf(first)) === before13 + 1, { timeoutMs: 20_000, intervalMs: 50 });
    // Read your writes: RecordInteractions answers once the user's actor holds the interaction,
    // so the very next Recommend reflects it.
    const after = ((await ok(rec, 'Recommend', { userId: '13', pageSize: 200 })).titles as Res[]).map((t) => t.titleId);
    expect(after).not.toContain(first);
    const at = (list: string[], t: string) => (list.includes(t) ? list.indexOf(t) : list.length);
    expect(at(after, neighbour), `${neighbour} was at ${before.indexOf(neighbour)}`).toBeGreaterThan(before.indexOf(neighbour));
    // Again, and twice in one batch: counted once.
    expect(await ok(rec, 'RecordInteractions', { interactions: [down] })).toMatchObject({ recordedCount: 0, duplicateCount: 1, duplicateEventIds: ['td-13-1'] });
    const play = { eventId: 'pl-13-1', userId: '13', titleId: after[0], type: 'INTERACTION_TYPE_PLAY', value: 0.5, eventTime: now };
    expect(await ok(rec, 'RecordInteractions', { interactions: [play, play] })).toMatchObject({ recordedCount: 1, duplicateCount: 1, duplicateEventIds: ['pl-13-1'] });
    // A played title counts as watched: gone from the next answers too.
    expect(((await ok(rec, 'Recommend', { userId: '13', pageSize: 20 })).titles as Res[]).map((t) => t.titleId)).not.toContain(after[0]);
    const bad = await call(rec, 'RecordInteractions', {
      interactions: [
        { ...down, eventId: 'ok-1' },
        { ...down, eventId: '' },
        { ...down, eventId: 'x-2', type: 'INTERACTION_TYPE_UNSPECIFIED' },
        { ...down, eventId: 'x-3', type: 'INTERACTION_TYPE_RATING', value: 7 },
        { ...down, eventId: 'x-4', eventTime: { seconds: String(Math.floor(Date.now() / 1000) + 86_400), nanos: 0 } },
      ],
    });
    expect(bad.err?.code).toBe(status.INVALID_ARGUMENT);
    expect(decodeStatusDetails(bad.err!.metadata)?.fieldViolations?.map((v) => v.field)).toEqual(['interactions[1].event_id', 'interactions[2].type', 'interactions[3].value', 'interactions[4].event_time']);
    // Nothing of the refused batch was stored: its valid first interaction records now as new.
    expect(await ok(rec, 'RecordInteractions', { interactions: [{ ...down, eventId: 'ok-1' }] })).toMatchObject({ recordedCount: 1, duplicateCount: 0 });
    const big = await call(rec, 'RecordInteractions', { interactions: Array.from({ length: 501 }, (_, i) => ({ ...down, eventId: `b-${i}` })) });
    expect(decodeStatusDetails(big.err!.metadata)).toMatchObject({ errorInfo: { reason: 'BATCH_TOO_LARGE' }, fieldViolations: [{ field: 'interactions' }] });
    const scrape = parsePrometheus(await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text());
    expect(scrape.sum('reel_interactions_recorded_total', { type: 'THUMBS_DOWN', result: 'duplicate' })).toBe(1);
    // Every interaction was applied where it was delivered: none refused and delivered again.
    expect(c.processes().flatMap((p) => p.events).filter((e) => e.msg === 'interaction not applied; delivered again')).toEqual([]);
    // Event to visible, on the gateway: from stored to the user's actor holding it, for each new
    // interaction RecordInteractions waited on (td-13-1, pl-13-1, ok-1).
    expect(scrape.sum('reel_event_to_visible_seconds_count')).toBe(3);
    // td-13-1 once (its repeats dropped), ok-1 once.
    await waitFor('the title counts ok-1 too', async () => (await countOf(first)) === before13 + 2, { timeoutMs: 20_000, intervalMs: 50 });
    expect(scrape.sum('reel_interactions_recorded_total', { type: 'PLAY', result: 'recorded' })).toBe(1);
  });

  it('serving - fold-in: a user unknown to the model gets personalised titles as soon as its first interactions are recorded, from the row they fold into', async () => {
    const cold = await ok(rec, 'Recommend', { userId: 'fresh-1', pageSize: 10 });
    expect((cold.titles as Res[]).every((t) => t.reason.kind === 'REASON_KIND_POPULAR_NOW')).toBe(true);
    // Five animated films, loved.
    const now = { seconds: String(Math.floor(Date.now() / 1000)), nanos: 0 };
    const loved = ['1', '95', '99', '422', '588'];
    const r = await ok(rec, 'RecordInteractions', { interactions: loved.map((t, i) => ({ eventId: `fresh-1-${i}`, userId: 'fresh-1', titleId: t, type: 'INTERACTION_TYPE_RATING', value: 5, eventTime: now })) });
    expect(r.recordedCount).toBe(5);
    let warm: Res = {};
    await waitFor('personalised answers for the new user', async () => {
      warm = await ok(rec, 'Recommend', { userId: 'fresh-1', pageSize: 10 });
      return (warm.titles as Res[]).every((t) => t.reason.kind !== 'REASON_KIND_POPULAR_NOW');
    }, { timeoutMs: 20_000, intervalMs: 50 });
    expect(warm.modelVersion).toBe('serve-a');
    expect(warm.fallback).toBe(false);
    for (const t of warm.titles as Res[]) expect(loved).not.toContain(t.titleId);
    expect((warm.titles as Res[]).map((t) => t.titleId)).not.toEqual((cold.titles as Res[]).map((t) => t.titleId));
  });

  it('serving - ExplainRecommendation: the first title\'s score in terms that add up, rank 1; a watched, a filtered and a disliked title excluded, each for its reason; an unknown title NOT_FOUND', async () => {
    const top = ((await ok(rec, 'Recommend', { userId: '2', pageSize: 5 })).titles as Res[]);
    const e = await ok(rec, 'ExplainRecommendation', { userId: '2', titleId: top[0].titleId });
    expect(e).toMatchObject({ rank: 1, excludedBy: 'EXCLUSION_REASON_UNSPECIFIED', modelVersion: 'serve-a' });
    expect(e.score).toBeCloseTo(top[0].score, 4);
    expect((e.components as Res[]).reduce((s, c) => s + c.value, 0)).toBeCloseTo(e.score, 6);
    expect((e.components as Res[]).map((c) => c.name)).toEqual(['title_bias', 'dot_product']);
    expect(e.evidence.length).toBeGreaterThan(0);
    // Each piece of evidence names the user's newest interaction with it (ml-100k: ratings).
    for (const ev of e.evidence as Res[]) expect(ev.interactionType).toBe('INTERACTION_TYPE_RATING');
    const third = await ok(rec, 'ExplainRecommendation', { userId: '2', titleId: top[2].titleId });
    expect(third.rank).toBe(3);
    const seen = [...watched.get('2')!][0]!;
    expect((await ok(rec, 'ExplainRecommendation', { userId: '2', titleId: seen })).excludedBy).toBe('EXCLUSION_REASON_WATCHED');
    expect((await ok(rec, 'ExplainRecommendation', { userId: '2', titleId: top[0].titleId, filter: { excludeTitleIds: [top[0].titleId] } })).excludedBy).toBe('EXCLUSION_REASON_FILTERED');
    const now = { seconds: String(Math.floor(Date.now() / 1000)), nanos: 0 };
    await ok(rec, 'RecordInteractions', { interactions: [{ eventId: 'td-2-1', userId: '2', titleId: top[1].titleId, type: 'INTERACTION_TYPE_THUMBS_DOWN', eventTime: now }] });
    await waitFor('the disliked title explained as negative feedback', async () => (await ok(rec, 'ExplainRecommendation', { userId: '2', titleId: top[1].titleId })).excludedBy === 'EXCLUSION_REASON_NEGATIVE_FEEDBACK', { timeoutMs: 20_000, intervalMs: 50 });
    const penalised = await ok(rec, 'ExplainRecommendation', { userId: '2', titleId: top[2].titleId });
    expect((penalised.components as Res[]).find((c) => c.name === 'negative_feedback')?.value ?? 0).toBeLessThanOrEqual(0);
    const unknown = await call(rec, 'ExplainRecommendation', { userId: '2', titleId: 'no-such-title' });
    expect(unknown.err?.code).toBe(status.NOT_FOUND);
  });

  it('serving - catalog: ListTitles pages every title once, in id order, filtered; DeleteTitle removes a title from the catalog and from every answer; DeleteUser forgets a user; unknown ones NOT_FOUND unless allow_missing', async () => {
    const ids: string[] = [];
    let token = '';
    do {
      const r = await ok(cat, 'ListTitles', { pageSize: 500, pageToken: token });
      ids.push(...(r.titles as Res[]).map((t) => t.titleId as string));
      token = r.nextPageToken;
    } while (token !== '');
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual([...ids].sort());
    // u.item's 1682 and the one upserted above.
    expect(ids).toHaveLength(1683);
    const comedies = (await ok(cat, 'ListTitles', { pageSize: 1000, filter: { includeGenres: ['Comedy'] } })).titles as Res[];
    expect(comedies.length).toBeGreaterThan(100);
    for (const t of comedies) expect(t.genres).toContain('Comedy');

    const first = ((await ok(rec, 'Recommend', { userId: '5', pageSize: 10 })).titles as Res[])[0].titleId as string;
    await ok(cat, 'DeleteTitle', { titleId: first });
    expect((await call(cat, 'GetTitle', { titleId: first })).err?.code).toBe(status.NOT_FOUND);
    await waitFor('the deleted title gone from the user\'s answers', async () => !((await ok(rec, 'Recommend', { userId: '5', pageSize: 10 })).titles as Res[]).some((t) => t.titleId === first), { timeoutMs: 20_000, intervalMs: 100 });
    expect((await call(cat, 'DeleteTitle', { titleId: first })).err?.code).toBe(status.NOT_FOUND);
    expect((await call(cat, 'DeleteTitle', { titleId: first, allowMissing: true })).err).toBeUndefined();

    expect((await ok(cat, 'GetUser', { userId: '6' })).user.interactionCount).toBeGreaterThan(0);
    await ok(cat, 'DeleteUser', { userId: '6' });
    expect((await call(cat, 'GetUser', { userId: '6' })).err?.code).toBe(status.NOT_FOUND);
    const after = await ok(rec, 'Recommend', { userId: '6', pageSize: 10 });
    expect((after.titles as Res[]).every((t) => t.reason.kind === 'REASON_KIND_POPULAR_NOW')).toBe(true);
    expect((await call(cat, 'DeleteUser', { userId: 'nobody-at-all' })).err?.code).toBe(status.NOT_FOUND);
    expect((await call(cat, 'DeleteUser', { userId: 'nobody-at-all', allowMissing: true })).err).toBeUndefined();
  });

  it('serving - the interaction log: RecordInteractions then ListUserInteractions shows each event (id, type, value, time) newest first, in pages that never repeat one; DeleteUserInteractions of a title counts what it removed and makes the title a candidate again', async () => {
    const user = 'log-1';
    const base = Math.floor(Date.now() / 1000) - 3_600;
    const at = (s: number) => ({ seconds: String(base + s), nanos: 0 });
    const ev = (eventId: string, titleId: string, type: string, s: number, value = 0) => ({ eventId, userId: user, titleId, type: `INTERACTION_TYPE_${type}`, value, eventTime: at(s) });
    const events = [
      ev('log-1-a', '1', 'RATING', 10, 5), ev('log-1-b', '1', 'PLAY', 20, 0.25), ev('log-1-c', '95', 'RATING', 5, 4), ev('log-1-d', '99', 'COMPLETE', 30),
      ev('log-1-e', '422', 'THUMBS_UP', 25), ev('log-1-f', '588', 'IMPRESSION', 40), ev('log-1-g', '71', 'ADD_TO_LIST', 15),
    ];
    expect((await ok(rec, 'RecordInteractions', { interactions: events })).recordedCount).toBe(7);
    const newestFirst = ['log-1-f', 'log-1-d', 'log-1-e', 'log-1-b', 'log-1-g', 'log-1-a', 'log-1-c'];
    // The stream delivers them to the user's actor: the log has all 7 once they are there.
    await waitFor('the user\'s log holds the 7 events', async () => ((await call(cat, 'ListUserInteractions', { userId: user, pageSize: 100 })).res?.interactions?.length ?? 0) === 7, { timeoutMs: 20_000, intervalMs: 50 });
    const pages: Res[][] = [];
    let token = '';
    do {
      const r = await ok(cat, 'ListUserInteractions', { userId: user, pageSize: 3, pageToken: token });
      pages.push(r.interactions as Res[]);
      token = r.nextPageToken;
    } while (token !== '' && pages.length < 10);
    expect(pages.map((p) => p.length)).toEqual([3, 3, 1]);
    const listed = pages.flat();
    expect(listed.map((i) => i.eventId)).toEqual(newestFirst);
    for (const i of listed) {
      const sent = events.find((e) => e.eventId === i.eventId)!;
      expect(i).toMatchObject({ userId: user, titleId: sent.titleId, type: sent.type, value: sent.value, eventTime: { seconds: sent.eventTime.seconds, nanos: 0 } });
    }
    const ratings = await ok(cat, 'ListUserInteractions', { userId: user, types: ['INTERACTION_TYPE_RATING'] });
    expect((ratings.interactions as Res[]).map((i) => i.eventId)).toEqual(['log-1-a', 'log-1-c']);
    // A token is good only for the request that made it.
    const first = await ok(cat, 'ListUserInteractions', { userId: user, pageSize: 2 });
    for (const other of [{ userId: user, types: ['INTERACTION_TYPE_PLAY'] }, { userId: '1' }]) {
      const r = await call(cat, 'ListUserInteractions', { ...other, pageToken: first.nextPageToken });
      expect(decodeStatusDetails(r.err!.metadata)).toMatchObject({ code: status.INVALID_ARGUMENT, errorInfo: { reason: 'PAGE_TOKEN_MISMATCH' }, fieldViolations: [{ field: 'page_token' }] });
    }

    // Title 1, watched, is excluded; a filter only it and a few others pass shows it.
    const t1 = (await ok(cat, 'GetTitle', { titleId: '1' })).title as Res;
    const narrow = { includeGenres: t1.genres, requireAllGenres: true, includeReleaseYears: [t1.releaseYear] };
    const candidates = async () => ((await ok(rec, 'Recommend', { userId: user, pageSize: 50, filter: narrow })).titles as Res[]).map((t) => t.titleId as string);
    expect(await candidates()).not.toContain('1');
    expect((await ok(rec, 'ExplainRecommendation', { userId: user, titleId: '1' })).excludedBy).toBe('EXCLUSION_REASON_WATCHED');
    expect(await ok(cat, 'DeleteUserInteractions', { userId: user, titleIds: ['1'] })).toEqual({ deletedCount: 2 });
    expect(await candidates()).toContain('1');
    const explained = await ok(rec, 'ExplainRecommendation', { userId: user, titleId: '1' });
    expect(explained.excludedBy).toBe('EXCLUSION_REASON_UNSPECIFIED');
    expect(explained.rank).toBeGreaterThan(0);
    const left = (await ok(cat, 'ListUserInteractions', { userId: user })).interactions as Res[];
    expect(left.map((i) => i.eventId)).toEqual(newestFirst.filter((id) => id !== 'log-1-a' && id !== 'log-1-b'));
    expect(await ok(cat, 'DeleteUserInteractions', { userId: user, types: ['INTERACTION_TYPE_IMPRESSION', 'INTERACTION_TYPE_PLAY'] })).toEqual({ deletedCount: 1 });
    expect((await ok(cat, 'GetUser', { userId: user })).user.interactionCount).toBe(4);
    // Recorded again, a deleted event is a duplicate (the stream's window; the actor's identities would refuse a redelivery too).
    expect(await ok(rec, 'RecordInteractions', { interactions: [events[0]] })).toMatchObject({ recordedCount: 0, duplicateCount: 1 });
  });

  it('serving - reel node refuses bad --interaction-weights before connecting: exit 2 naming the flag and the entry', async () => {
    for (const [weights, named] of [['PLAY=0.5,WATCH=1', "'WATCH=1' names no interaction type"], ['COMPLETE=-1', "'COMPLETE=-1' has a weight that is not a finite number ≥ 0"]] as const) {
      const r = await runReel(['node', '--id', 'w1', '--nats', c.nats.url, '--prefix', `${c.prefix}-weights`, '--interaction-weights', weights]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain('--interaction-weights');
      expect(r.stderr).toContain(named);
    }
  });

  it('serving - the node owning a user\'s shard stopped, then killed: Recommend answers from the fallback list within its budget (fallback = true, a reason), never an error; personalised again once the shard is taken over', async () => {
    // A gateway with a budget well under the takeover (a 3 s lease): the answer must come from its fallback list.
    const flags = ['--nats', c.nats.url, '--prefix', c.prefix];
    const quick = startNodeProcess(['gateway', ...flags, '--port', '0', '--metrics-port', '0', '--budget-ms', '300', '--recommend-cache-ms', '600000']);
    const ready = await quick.ready;
    const fast = new (apiProtos().api.reel.v1.RecommendationService)(`127.0.0.1:${ready.port as number}`, credentials.createInsecure());
    try {
      await waitFor('the quick gateway has its fallback list', async () => ((await call(fast, 'PopularTitles', {})).res?.titles?.length ?? 0) > 0, { timeoutMs: 20_000, intervalMs: 100 });
      // This gateway lets a first page come from the user actor's last ranking of the same request:
      // the same answer again (a hit), until the user records something (a miss, ranked afresh).
      const cacheScrape = async () => parsePrometheus(await (await fetch(`http://127.0.0.1:${ready.metricsPort as number}/metrics`)).text());
      const once = await ok(fast, 'Recommend', { userId: '21', pageSize: 10 });
      const twice = await ok(fast, 'Recommend', { userId: '21', pageSize: 10 });
      expect(twice.recommendationId).toBe(once.recommendationId);
      expect(twice.titles).toEqual(once.titles);
      expect((await cacheScrape()).sum('reel_recommend_cache_total', { result: 'hit' })).toBe(1);
      const nowTs = { seconds: String(Math.floor(Date.now() / 1000)), nanos: 0 };
      await ok(rec, 'RecordInteractions', { interactions: [{ eventId: 'cache-21-1', userId: '21', titleId: (once.titles as Res[])[0].titleId, type: 'INTERACTION_TYPE_PLAY', value: 1, eventTime: nowTs }] });
      await waitFor('a fresh ranking once the user changed', async () => (await ok(fast, 'Recommend', { userId: '21', pageSize: 10 })).recommendationId !== once.recommendationId, { timeoutMs: 20_000, intervalMs: 50 });
      expect((await cacheScrape()).sum('reel_recommend_cache_total', { result: 'miss' })).toBeGreaterThanOrEqual(2);
      // A user of a shard n2 owns.
      const view = c.client.view;
      const user = [...watched.keys()].find((u) => view.shard(shardOf(Kind.User, u, S)).value?.owner === 'n2')!;
      expect(user).toBeDefined();
      // Stopped first: NATS still sees its connection, so its shards wait out its lease, well past the
      // 300 ms budget. (Killed outright, the shard is often taken over and served again within the budget.)
      c.nodes.get('n2')!.kill('SIGSTOP');
      const r = await ok(fast, 'Recommend', { userId: user, pageSize: 10 });
      expect(r.fallback).toBe(true);
      expect(['FALLBACK_REASON_DEADLINE', 'FALLBACK_REASON_SHARD_UNAVAILABLE']).toContain(r.fallbackReason);
      expect(r.titles).toHaveLength(10);
      const scrape = parsePrometheus(await (await fetch(`http://127.0.0.1:${ready.metricsPort as number}/metrics`)).text());
      expect(scrape.sum('reel_recommend_fallbacks_total')).toBeGreaterThanOrEqual(1);
      c.nodes.get('n2')!.kill('SIGKILL');
      // n1 takes the shard over, and the user's row (in its snapshot) ranks again.
      await waitFor('personalised again after the takeover', async () => (await call(rec, 'Recommend', { userId: user })).res?.fallback === false, { timeoutMs: 30_000, intervalMs: 200 });
    } finally {
      fast.close();
      await quick.stop();
    }
  });
});
