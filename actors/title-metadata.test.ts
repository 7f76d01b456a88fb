import { describe, expect, it } from 'vitest';
import { ActorSystem, InvalidArgument, ManualClock, memorySnapshotStore, type RuntimeEvent } from '../runtime/index.js';
import { Kind, registerReelActors, TitleMsg, type TitleMetadataBody, type TitleSummary } from './index.js';
import { decodeTitleMetadata, MAX_TAGS_PER_MESSAGE, TitleMetadata } from './title-metadata.js';

const to = { kind: 'title', key: '1' };
const toyStory: TitleMetadataBody = { displayName: 'Toy Story (1995)', releaseYear: 1995, genres: ['Animation', "Children's", 'Comedy'] };

function rejection(body: unknown): InvalidArgument {
  try {
    decodeTitleMetadata(body, to);
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidArgument);
    return err as InvalidArgument;
  }
  throw new Error(`decode accepted ${JSON.stringify(body)}`);
}

describe('title metadata decode', () => {
  it('metadata - a good body comes back as a fresh object of the known fields; genres repeated count once', () => {
    const body = { ...toyStory, genres: ['Comedy', 'Comedy', 'Drama'], tags: ['pixar'], labels: { imdbId: '0114709' }, extra: 1 };
    const b = decodeTitleMetadata(body, to);
    expect(b).toEqual({ displayName: 'Toy Story (1995)', releaseYear: 1995, genres: ['Comedy', 'Drama'], tags: ['pixar'], labels: { imdbId: '0114709' } });
    expect(b.tags).not.toBe(body.tags);
    expect(b.labels).not.toBe(body.labels);
    expect(decodeTitleMetadata({}, to)).toEqual({});
  });

  const bad: Array<[string, unknown, string]> = [
    ['body', null, 'metadata body null is not an object'],
    ['body', ['x'], 'an array'],
    ['displayName', { displayName: '' }, 'displayName ""'],
    ['displayName', { displayName: 7 }, 'displayName 7'],
    ['releaseYear', { releaseYear: 1995.5 }, 'releaseYear 1995.5 must be an integer from 1 to 9999'],
    ['releaseYear', { releaseYear: '1995' }, 'releaseYear "1995"'],
    ['releaseYear', { releaseYear: 0 }, 'releaseYear 0'],
    ['genres', { genres: 'Comedy' }, 'genres "Comedy" must be a list'],
    ['genres[1]', { genres: ['Comedy', ''] }, 'genres[1] ""'],
    ['tags[0]', { tags: ['x'.repeat(257)] }, '(257 chars)'],
    ['tags', { tags: Array.from({ length: MAX_TAGS_PER_MESSAGE + 1 }, (_, i) => `t${i}`) }, `at most ${MAX_TAGS_PER_MESSAGE} strings`],
    ['labels', { labels: ['imdbId'] }, 'labels an array'],
    ['labels["imdbId"]', { labels: { imdbId: 114709 } }, 'labels["imdbId"] 114709'],
    ['hidden', { hidden: 'yes' }, 'hidden "yes" must be true or false'],
    ['publishTimeMs', { publishTimeMs: -1 }, 'publishTimeMs -1'],
    ['publishTimeMs', { publishTimeMs: 1.5 }, 'publishTimeMs 1.5'],
  ];
  it.each(bad)('metadata - a bad %s is refused with InvalidArgument naming it', (field, body, text) => {
    const err = rejection(body);
    expect(err.fields).toEqual([field]);
    expect(err.message).toContain(text);
  });

  it('metadata - every bad field is named at once', () => {
    expect(rejection({ displayName: '', releaseYear: -1, genres: [3] }).fields).toEqual(['displayName', 'releaseYear', 'genres[0]']);
  });
});

describe('title metadata upsert', () => {
  it('metadata - hidden and the publish time are replaced, and hiding twice changes nothing the second time', () => {
    const m = new TitleMetadata();
    expect(m.view()).toMatchObject({ hidden: false, publishTimeMs: 0 });
    expect(m.upsert(decodeTitleMetadata({ hidden: false }, to))).toBe(false);
    expect(m.upsert(decodeTitleMetadata({ hidden: true, publishTimeMs: 817_776_000_000 }, to))).toBe(true);
    expect(m.upsert({ hidden: true })).toBe(false);
    expect(m.view()).toMatchObject({ hidden: true, publishTimeMs: 817_776_000_000 });
    const back = new TitleMetadata(m.stored());
    expect(back.view()).toMatchObject({ hidden: true, publishTimeMs: 817_776_000_000 });
    expect(back.upsert({ hidden: false })).toBe(true);
    expect(back.view().hidden).toBe(false);
  });

  it('metadata - the same body twice changes nothing the second time', () => {
    const m = new TitleMetadata();
    expect(m.upsert(toyStory)).toBe(true);
    const once = m.view();
    expect(m.upsert(toyStory)).toBe(false);
    expect(m.upsert({})).toBe(false);
    expect(m.view()).toEqual(once);
    expect(once).toEqual({ ...toyStory, tags: [], labels: {}, hidden: false, publishTimeMs: 0 });
  });

  it('metadata - tags merge as a set in the order first seen; labels merge key by key; name, year and genres are replaced', () => {
    const m = new TitleMetadata();
    expect(m.upsert({ tags: ['pixar', 'funny'] })).toBe(true);
    expect(m.upsert({ tags: ['funny', 'pixar'] })).toBe(false);
    expect(m.upsert({ tags: ['toys', 'pixar'] })).toBe(true);
    expect(m.upsert({ labels: { imdbId: '0114709' } })).toBe(true);
    expect(m.upsert({ labels: { tmdbId: '862', imdbId: '0114709' } })).toBe(true);
    expect(m.upsert({ labels: { tmdbId: '862' } })).toBe(false);
    expect(m.upsert(toyStory)).toBe(true);
    expect(m.upsert({ genres: ['Comedy'] })).toBe(true);
    expect(m.upsert({ releaseYear: 1996 })).toBe(true);
    expect(m.view()).toEqual({ displayName: 'Toy Story (1995)', releaseYear: 1996, genres: ['Comedy'], tags: ['pixar', 'funny', 'toys'], labels: { imdbId: '0114709', tmdbId: '862' }, hidden: false, publishTimeMs: 0 });
  });

  it('metadata - what it stores comes back whole, and the view is a copy', () => {
    const m = new TitleMetadata();
    expect(m.stored()).toBeUndefined();
    m.upsert({ ...toyStory, tags: ['a'] });
    const again = new TitleMetadata(structuredClone(m.stored()));
    expect(again.view()).toEqual(m.view());
    expect(again.upsert({ tags: ['a'] })).toBe(false);
    again.view().tags.push('b');
    expect(again.view().tags).toEqual(['a']);
  });
});

describe('title actor metadata', () => {
  const newSystem = (opts: ConstructorParameters<typeof ActorSystem>[0] = {}) => registerReelActors(new ActorSystem({ nodeId: 'meta', ...opts })).start();

  it('metadata - summary reports it beside the counters; a bad body is refused and changes nothing', async () => {
    await using system = await newSystem();
    expect(await system.ask(Kind.Title, '1', TitleMsg.Metadata, { ...toyStory, tags: ['pixar'] })).toBe(true);
    await expect(system.ask(Kind.Title, '1', TitleMsg.Metadata, { displayName: 'x', releaseYear: 'x' })).rejects.toMatchObject({ code: 'InvalidArgument', fields: ['releaseYear'] });
    expect(await system.ask(Kind.Title, '1', TitleMsg.Metadata, toyStory)).toBe(false);
    expect(await system.ask<TitleSummary>(Kind.Title, '1', TitleMsg.Summary)).toEqual({
      titleId: '1', displayName: 'Toy Story (1995)', releaseYear: 1995, genres: ['Animation', "Children's", 'Comedy'], tags: ['pixar'], labels: {}, hidden: false, publishTimeMs: 0,
      interactionCount: 0, meanRating: 0, updateTimeMs: 0,
    });
    expect(await system.ask<TitleSummary>(Kind.Title, '2', TitleMsg.Summary)).toMatchObject({ displayName: '', releaseYear: 0, genres: [], tags: [], labels: {} });
  });

  it('metadata - survives passivation in the snapshot, tags still a set', async () => {
    const clock = new ManualClock();
    const store = memorySnapshotStore();
    let ended!: () => void;
    const done = new Promise<void>((r) => (ended = r));
    const onEvent = (e: RuntimeEvent) => e.type === 'activation-end' && e.key === '1' && ended();
    await using system = await newSystem({ clock, store, idlePassivateMs: 1_000, onEvent });
    await system.ask(Kind.Title, '1', TitleMsg.Metadata, { ...toyStory, tags: ['pixar'] });
    clock.advance(1_001);
    expect(system.sweepIdle()).toBe(1);
    await done;
    expect((await store.load(Kind.Title, '1')).snapshot?.data).toMatchObject({ metadata: { displayName: 'Toy Story (1995)', tags: ['pixar'] } });
    expect(await system.ask(Kind.Title, '1', TitleMsg.Metadata, { tags: ['pixar'] })).toBe(false);
    expect(system.kindStats(Kind.Title).activated).toBe(2);
    expect(await system.ask<TitleSummary>(Kind.Title, '1', TitleMsg.Summary)).toMatchObject({ releaseYear: 1995, tags: ['pixar'] });
  });
});
