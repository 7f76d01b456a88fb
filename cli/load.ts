import { ingestAcked, Kind, NotAcknowledged, TitleMsg, UserMsg, type TitleMetadataBody } from '../actors/index.js';
import { BadLines, type DataReader, type Rating, type Tag, type Title } from '../data/index.js';
import { DEFAULT_CLUSTER_ASK_ATTEMPT_MS, type ClusterClient } from '../cluster/index.js';
import { shardOf, type ActorSystem } from '../runtime/index.js';
import { operatorClient } from './cluster-connect.js';
import { CliError, ExitCode } from './exit-codes.js';
import { loadSources, type LoadReaders } from './load-sources.js';
import { progress, type Output } from './output.js';
import { progressBar, type ProgressBar } from './progress-bar.js';
import { asUsage, ratingToInteraction } from './ratings-input.js';

export interface LoadFlags extends Record<string, unknown> {
  data: string;
  skipBad?: boolean;
  json?: boolean;
  /** False with --no-flush. */
  flush?: boolean;
}

/** The longer story, for `reel load --help`. */
export const LOAD_HELP =
  'Every file is read twice: a first pass checks every line, so that a bad line (a missing field, a rating off the scale) stops the load ' +
  "with 'reel: FILE:LINE: reason' and exit code 2 before anything is sent; with --skip-bad such lines are counted instead and reported in the summary. " +
  'The second pass sends titles (name, year, genres, IMDb and TMDB ids), then tags, then ratings, as batched asks that each actor acknowledges, ' +
  'resent with the same message ids when a shard moves or an answer is late, so nothing acknowledged is lost and nothing is applied twice. ' +
  'A rating is identified by (user, title, time), so loading the same data again applies nothing and reports every rating as repeated. ' +
  'Progress (rate and ETA) goes to stderr, a line a second when stderr is no terminal; the summary goes to stdout.';

/** Tag lines grouped per title into one message, per this many lines. */
const TAG_GROUP_LINES = 4096;

/** What a load did, as `--json` prints it. */
export interface LoadSummary {
  data: string;
  found: string;
  ratings: { sent: number; applied: number; repeated: number };
  titles: { sent: number; changed: number; unchanged: number };
  tags: { sent: number; titles: number; changed: number };
  bad_lines: { count: number; examples: string[] };
  seconds: number;
  check_seconds: number;
  /** Time to write every actor's snapshot at the end (absent with --no-flush). */
  flush_seconds?: number;
  ratings_per_s: number;
  /**
   * Records sent again because their shards were taken over during the load (absent when
   * none was): `applied` are ratings the takeover had lost, applied again.
   */
  resent?: { shards: number[]; from: string[]; rounds: number; ratings: number; applied: number; titles: number; tags: number };
}

/** Rounds of sending again what takeovers lost, before a load gives up. */
const MAX_RESEND_ROUNDS = 3;

/** What a node's `takeovers` handler answers (`cluster/node.ts`). */
interface TakeoverAnswer {
  node: string;
  mark: number;
  takeovers: Array<{ shard: number; from: string }>;
  complete: boolean;
}

/**
 * The shards that every node took over (claimed without a release) since its mark in
 * `since`, and the marks now. A node whose log forgot entries since its mark counts as
 * having taken over every shard. Asks every member and every owner.
 */
async function takeoversSince(client: ClusterClient, since: Record<string, number>): Promise<{ marks: Record<string, number>; shards: Set<number>; from: Set<string> }> {
  await client.view.refresh();
  const nodes = new Set([...client.view.members.keys(), ...client.ownerNodes()]);
  const settled = await Promise.allSettled([...nodes].map((n) => client.system.askNode<TakeoverAnswer>(n, 'takeovers', { since }, { deadlineMs: 10_000 })));
  const marks: Record<string, number> = { ...since };
  const shards = new Set<number>();
  const from = new Set<string>();
  for (const r of settled) {
    if (r.status !== 'fulfilled') continue;
    const a = r.value.value;
    marks[a.node] = a.mark;
    if (!a.complete) for (let x = 0; x < client.system.options.shardCount; x++) shards.add(x);
    for (const t of a.takeovers) {
      shards.add(t.shard);
      from.add(t.from);
    }
  }
  return { marks, shards, from };
}

/** The records of `readers` that go to an actor on one of `shards`: a rating to its user's or its title's, titles and tags to their title's. */
function onShards(readers: LoadReaders, shards: ReadonlySet<number>, S: number): SendReaders {
  const titleIn = (item: string) => shards.has(shardOf(Kind.Title, item, S));
  async function* only<T>(records: AsyncIterable<T>, keep: (r: T) => boolean): AsyncGenerator<T> {
    for await (const r of records) if (keep(r)) yield r;
  }
  return {
    ...(readers.titles && { titles: only(readers.titles, (t) => titleIn(t.id)) }),
    ...(readers.tags && { tags: only(readers.tags, (t) => titleIn(t.item)) }),
    ...(readers.ratings && { ratings: only(readers.ratings, (r) => titleIn(r.item) || shards.has(shardOf(Kind.User, r.user, S))) }),
  };
}

/** A title as the metadata its actor keeps (after `reel.v1.Title`). */
export function metadataOf(t: Title): TitleMetadataBody {
  const labels = { ...(t.imdbId && { imdbId: t.imdbId }), ...(t.tmdbId && { tmdbId: t.tmdbId }) };
  return {
    ...(t.title !== '' && { displayName: t.title }),
    ...(t.year !== undefined && { releaseYear: t.year }),
    genres: t.genres,
    ...(Object.keys(labels).length > 0 && { labels }),
  };
}

/** Tags grouped by title, a group per title per `TAG_GROUP_LINES` lines read; `lines` is how many lines each holds. */
async function* tagGroups(tags: AsyncIterable<Tag>): AsyncGenerator<{ item: string; tags: string[]; lines: number }> {
  let groups = new Map<string, { tags: Set<string>; lines: number }>();
  let lines = 0;
  const flush = () => [...groups].map(([item, g]) => ({ item, tags: [...g.tags], lines: g.lines }));
  for await (const t of tags) {
    const g = groups.get(t.item) ?? { tags: new Set<string>(), lines: 0 };
    groups.set(t.item, g);
    g.tags.add(t.tag);
    g.lines++;
    if (++lines < TAG_GROUP_LINES) continue;
    yield* flush();
    groups = new Map();
    lines = 0;
  }
  yield* flush();
}

/** Records of each reader, every line read once: a bad line throws (exit 2) before anything is sent, unless skipped. */
async function check(readers: LoadReaders, out: Output): Promise<{ titles: number; tags: number; ratings: number }> {
  const counts = { titles: 0, tags: 0, ratings: 0 };
  for (const kind of ['titles', 'tags', 'ratings'] as const) {
    const reader: DataReader<unknown> | undefined = readers[kind];
    if (!reader) continue;
    const bar = progress(out, `checking ${reader.file}`, 'records');
    let n = 0;
    for await (const _ of reader) if (++n % 65_536 === 0) bar.update(n);
    if (n >= 65_536) bar.done(n);
    counts[kind] = n;
  }
  return counts;
}

/** What `sendRecords` reads: each kind's records. */
export interface SendReaders {
  titles?: AsyncIterable<Title>;
  tags?: AsyncIterable<Tag>;
  ratings?: AsyncIterable<Rating>;
}

/** What `sendRecords` tallies: each kind's records sent, and what their actors answered. */
export type SendTally = Pick<LoadSummary, 'ratings' | 'titles' | 'tags'>;

/** A tally of nothing sent yet. */
export function emptyTally(): SendTally {
  return { ratings: { sent: 0, applied: 0, repeated: 0 }, titles: { sent: 0, changed: 0, unchanged: 0 }, tags: { sent: 0, titles: 0, changed: 0 } };
}

/**
 * Sends every record of `readers` as asks (titles, then tags, then ratings), tallying the
 * answers into `s`; `reel load`, and `reel start --nats`. `pass` tells the message ids of one
 * pass from another's (a record sent again must run again, not be answered from the first
 * send's remembered answer).
 */
export async function sendRecords(system: ActorSystem, readers: SendReaders, s: SendTally, bar: Pick<ProgressBar, 'update'>, pass = ''): Promise<void> {
  let done = 0;
  const idPrefix = `load.${system.incarnation}.${pass}`;
  const onBatch = () => bar.update(done);
  if (readers.titles) {
    await ingestAcked(system, readers.titles, {
      idPrefix: `${idPrefix}m`,
      messagesOf: (t) => [{ kind: Kind.Title, key: t.id, type: TitleMsg.Metadata, body: metadataOf(t) }],
      onAnswered: (_t, [changed]) => void (done++, s.titles.sent++, changed === true ? s.titles.changed++ : s.titles.unchanged++),
      onBatch,
    });
  }
  if (readers.tags) {
    const tagged = new Set<string>();
    await ingestAcked(system, tagGroups(readers.tags), {
      idPrefix: `${idPrefix}t`,
      messagesOf: (g) => [{ kind: Kind.Title, key: g.item, type: TitleMsg.Metadata, body: { tags: g.tags } }],
      onAnswered: (g, [changed]) => {
        done += g.lines;
        s.tags.sent += g.lines;
        tagged.add(g.item);
        if (changed === true) s.tags.changed++;
      },
      onBatch,
    });
    s.tags.titles = tagged.size;
  }
  if (readers.ratings) {
    const interactions = (async function* (ratings) {
      for await (const r of ratings) yield ratingToInteraction(r);
    })(readers.ratings);
    await ingestAcked(system, interactions, {
      idPrefix: `${idPrefix}r`,
      messagesOf: (it) => [
        { kind: Kind.User, key: it.userId, type: UserMsg.Interaction, body: it },
        { kind: Kind.Title, key: it.titleId, type: TitleMsg.Interaction, body: it },
      ],
      // Applied: new to its user or its title (an earlier load may have stopped between the two).
      onAnswered: (_it, [byUser, byTitle]) => void (done++, s.ratings.sent++, byUser === true || byTitle === true ? s.ratings.applied++ : s.ratings.repeated++),
      onBatch,
    });
  }
  bar.update(done);
}

function render(s: LoadSummary): string[] {
  const n = (x: number) => x.toLocaleString('en-US');
  const bad = s.bad_lines.count === 0 ? 'none' : `${n(s.bad_lines.count)} (${s.bad_lines.examples.join('; ')}${s.bad_lines.count > s.bad_lines.examples.length ? '; …' : ''})`;
  const rate = s.ratings.sent > 0 ? `: ${n(s.ratings_per_s)} ratings/s` : '';
  return [
    `ratings: ${s.ratings.sent === 0 ? 'none' : `${n(s.ratings.sent)} sent, ${n(s.ratings.applied)} applied, ${n(s.ratings.repeated)} repeated (already held)`}`,
    `titles:  ${s.titles.sent === 0 ? 'none' : `${n(s.titles.sent)} sent, ${n(s.titles.changed)} changed, ${n(s.titles.unchanged)} unchanged`}`,
    `tags:    ${s.tags.sent === 0 ? 'none' : `${n(s.tags.sent)} sent, on ${n(s.tags.titles)} titles; ${n(s.tags.changed)} messages changed a title`}`,
    ...(s.resent ? [`sent again: shards ${s.resent.shards.join(', ')} were taken over from ${s.resent.from.join(', ')} without a handoff; ${n(s.resent.ratings)} ratings sent again, ${n(s.resent.applied)} of them lost and applied again`] : []),
    `bad lines skipped: ${bad}`,
    `loaded in ${s.seconds.toFixed(2)} s (checking the data took ${s.check_seconds.toFixed(2)} s)${rate}`,
  ];
}

/**
 * Makes every node write every active actor's snapshot, so that what was sent survives a crash
 * of its node; resolves with how long it took, in seconds. A CliError when some could not be written.
 */
export async function flushActors(client: ClusterClient): Promise<number> {
  const t = performance.now();
  // A shard between two owners answers nobody's flush for a moment: its handoff writes its actors,
  // and its new owner answers the next round. Every shard must answer one round, and the last
  // round must leave nothing unwritten.
  const missing = new Set(Array.from({ length: client.system.options.shardCount }, (_, s) => s));
  let unwritten = 0;
  for (let round = 1; ; round++) {
    const g = await client.scatter.gather<{ unwritten: number }>('flush', undefined, { deadlineMs: 120_000 });
    const notNow = new Set(g.missingShards);
    for (const s of [...missing]) if (!notNow.has(s)) missing.delete(s);
    unwritten = g.answers.reduce((n, a) => n + a.value.unwritten, 0);
    if (missing.size === 0 && unwritten === 0) return (performance.now() - t) / 1000;
    if (round === FLUSH_ROUNDS) break;
    await new Promise((r) => setTimeout(r, FLUSH_ROUND_WAIT_MS));
  }
  throw new CliError(`loaded, but ${unwritten} actors' snapshots could not be written and ${missing.size} shards did not answer in ${FLUSH_ROUNDS} rounds: a crash of their nodes would lose what they hold; run reel load again`);
}

/** Rounds of the final flush at most, and the wait between two (shards moving settle meanwhile). */
const FLUSH_ROUNDS = 5;
const FLUSH_ROUND_WAIT_MS = 1_000;

/**
 * `reel load --data PATH`: checks every line of the data first (a bad line stops it, exit 2,
 * before anything is sent; with `--skip-bad` bad lines are counted instead), then sends titles,
 * tags and ratings to a running cluster's title and user actors as batched asks, and reports
 * what the actors applied. Loading the same data again changes nothing.
 */
export async function runLoad(flags: LoadFlags, out: Output): Promise<number> {
  const t0 = performance.now();
  const sources = await loadSources(flags.data);
  out.info(`reel: reading ${sources.describe}`);
  const bad = new BadLines();
  const counts = await check(sources.readers({ skipBad: Boolean(flags.skipBad), bad }), out).catch((err: unknown) => Promise.reject(asUsage(err)));
  const checkSeconds = (performance.now() - t0) / 1000;

  // Every record has an id: a frame that a node took with it when it stopped goes again to the shard's next owner.
  const { client, settings, close } = await operatorClient(flags, { askAttemptTimeoutMs: DEFAULT_CLUSTER_ASK_ATTEMPT_MS });
  const s: LoadSummary = {
    data: flags.data,
    found: sources.describe,
    ratings: { sent: 0, applied: 0, repeated: 0 },
    titles: { sent: 0, changed: 0, unchanged: 0 },
    tags: { sent: 0, titles: 0, changed: 0 },
    bad_lines: { count: bad.count, examples: bad.examples.map((e) => e.message) },
    seconds: 0,
    check_seconds: Number(checkSeconds.toFixed(3)),
    ratings_per_s: 0,
  };
  const t1 = performance.now();
  try {
    out.info(`reel: loading into cluster '${settings.prefix}' at ${settings.nats}`);
    // Actors acknowledge what they hold in memory; a shard taken over meanwhile loses it.
    let marks = (await takeoversSince(client, {})).marks;
    const bar = progressBar(out, 'load', counts.titles + counts.tags + counts.ratings, 'records');
    // Lines were checked (or are skipped, as counted above): the second pass only needs to skip the same ones.
    const again = new BadLines();
    try {
      await sendRecords(client.system, sources.readers({ skipBad: true, bad: again }), s, bar);
    } finally {
      bar.stop();
    }
    if (again.count !== bad.count || s.ratings.sent !== counts.ratings || s.titles.sent !== counts.titles || s.tags.sent !== counts.tags) {
      throw new CliError(`the data changed while it loaded (${again.count} bad lines now, ${bad.count} when checked): load it again`);
    }
    const flush = async () => {
      if (flags.flush === false) return;
      // Actors hold what they applied in memory: their snapshots make it survive a crash of their node.
      const took = await flushActors(client);
      s.flush_seconds = Number(((s.flush_seconds ?? 0) + took).toFixed(3));
    };
    await flush();
    // A shard claimed from an owner that had not released it (its lease ran out: a crash, a
    // pause, a lost connection) lost whatever its actors had not written: its records go again,
    // under new message ids, and each actor applies only what it lacks.
    for (let round = 1; ; round++) {
      const lost = await takeoversSince(client, marks);
      marks = lost.marks;
      if (lost.shards.size === 0) break;
      if (round > MAX_RESEND_ROUNDS) {
        throw new CliError(`shards ${[...lost.shards].sort((a, b) => a - b).join(', ')} were taken over again while their records were sent again (${MAX_RESEND_ROUNDS} rounds): what their actors held may be lost; run reel load again once the cluster is steady (reel status)`);
      }
      const r = (s.resent ??= { shards: [], from: [], rounds: 0, ratings: 0, applied: 0, titles: 0, tags: 0 });
      r.rounds = round;
      r.shards = [...new Set([...r.shards, ...lost.shards])].sort((a, b) => a - b);
      r.from = [...new Set([...r.from, ...lost.from])].sort();
      out.info(`reel: ${lost.shards.size} shards were taken over during the load from ${[...lost.from].sort().join(', ')} without a handoff: what their actors had not written is lost; sending their records again`);
      const tally = emptyTally();
      const again = progressBar(out, `again (${round})`, counts.titles + counts.tags + counts.ratings, 'records');
      try {
        await sendRecords(client.system, onShards(sources.readers({ skipBad: true, bad: new BadLines() }), lost.shards, client.system.options.shardCount), tally, again, `again${round}.`);
      } finally {
        again.stop();
      }
      r.ratings += tally.ratings.sent;
      r.applied += tally.ratings.applied;
      r.titles += tally.titles.sent;
      r.tags += tally.tags.sent;
      await flush();
    }
  } catch (err) {
    if (err instanceof NotAcknowledged) {
      throw new CliError(`load stopped: ${err.message}; what was acknowledged stays, and loading again applies each record once`);
    }
    throw err;
  } finally {
    await close();
  }
  const loadSeconds = (performance.now() - t1) / 1000;
  s.seconds = Number(((performance.now() - t0) / 1000).toFixed(3));
  s.ratings_per_s = Math.round(s.ratings.sent / Math.max(loadSeconds, 1e-3));
  if (flags.json) out.json(s);
  else for (const line of render(s)) out.line(line);
  return ExitCode.Ok;
}
