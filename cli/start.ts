import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  IdentitySet, ingestInteractions, interactionHash, Kind, registerReelActors, TitleMsg, UserMsg, type InteractionBody, type TitleSummary, type UserSummary,
} from '../actors/index.js';
import { RATINGS_FILE_NAMES, ratingsFileAt, ratingsFormatOf, readItemTitles, readRatings, type Rating } from '../data/movielens.js';
import { syntheticRatings } from '../data/synthetic.js';
import { SoleOwnership } from '../cluster/index.js';
import { ActorSystem } from '../runtime/index.js';
import { CliError, ExitCode } from './exit-codes.js';
import { progress, type Output } from './output.js';
import { asUsage, ratingToInteraction } from './ratings-input.js';

export interface StartOptions {
  /** A ratings file of any name, or a MovieLens folder (see `ratingsFileAt`). */
  data?: string;
  /** Generated ratings instead; the command line refuses it together with `data`. */
  synthetic?: boolean;
  json?: boolean;
}

/** Where the MovieLens data is looked for when `--data` is not given. */
function defaultDataDirs(): string[] {
  const pkgRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
  return [join(process.cwd(), '..', 'shared', 'datasets', 'ml-100k'), join(pkgRoot, '..', 'shared', 'datasets', 'ml-100k')];
}

/**
 * The ratings file to load: the one `--data` names (a bad path is a usage error), else the
 * first default folder that has one, else undefined (synthetic ratings).
 */
function ratingsFile(data: string | undefined): string | undefined {
  if (data === undefined) return defaultDataDirs().map(ratingsFileAt).find((f) => f !== undefined);
  if (!existsSync(data)) throw new CliError(`--data ${data}: no such file or folder`, ExitCode.Usage);
  const file = ratingsFileAt(data);
  if (!file) throw new CliError(`--data ${data}: the folder holds no ratings file (${RATINGS_FILE_NAMES.slice(0, -1).join(', ')} or ${RATINGS_FILE_NAMES.at(-1)})`, ExitCode.Usage);
  return file;
}

/** What was sent, to verify afterwards: every user and title, and the distinct interactions. */
interface Sent {
  users: Set<string>;
  titles: Set<string>;
  /**
   * Identity hashes, as the actors keep them. Over the whole input a false repeat has
   * probability about n²/2^54 (6e-7 for ml-100k, 6e-5 for ml-1m): negligible here.
   */
  identities: IdentitySet;
}

/** The ratings as interactions, noting what was sent. */
async function* noting(src: AsyncIterable<Rating> | Iterable<Rating>, sent: Sent): AsyncGenerator<InteractionBody> {
  for await (const r of src) {
    const it = ratingToInteraction(r);
    sent.users.add(it.userId);
    sent.titles.add(it.titleId);
    sent.identities.add(interactionHash(it));
    yield it;
  }
}

/**
 * `reel start`: the main job on the in-process transport. Loads ratings into user and
 * title actors, verifies every one arrived, and prints what the actors hold.
 */
export async function runStart(opts: StartOptions, out: Output): Promise<void> {
  const file = opts.synthetic ? undefined : ratingsFile(opts.data);
  // Refuse a file that is not a ratings file before starting anything, and say what it reads as.
  const format = file === undefined ? undefined : await ratingsFormatOf(file).catch((err: unknown) => Promise.reject(asUsage(err)));
  const titles = file ? await readItemTitles(join(dirname(file), 'u.item')).catch(() => new Map<string, string>()) : new Map<string, string>();
  const name = (id: string) => titles.get(id) ?? `title ${id}`;

  // The broker-less default: a cluster of one node owning every shard, through the same seam.
  await using system = registerReelActors(new ActorSystem({ nodeId: 'local', ownership: new SoleOwnership() }));
  await system.start();
  out.info(`reel: one in-process node hosting all ${system.options.shardCount} shards (no NATS configured)`);
  out.info(`reel: loading ${format ? `${file} (${format.name})` : opts.synthetic ? 'synthetic ratings' : 'synthetic ratings (no MovieLens folder found; pass --data PATH)'}`);

  const t0 = performance.now();
  const bar = progress(out, 'ingest', 'ratings');
  const sent: Sent = { users: new Set(), titles: new Set(), identities: new IdentitySet() };
  // A bad line deep in a large file shows only now; `await using` stops the system then.
  const n = await ingestInteractions(system, noting(file ? readRatings(file) : syntheticRatings(), sent), { onProgress: bar.update }).catch((err: unknown) =>
    Promise.reject(asUsage(err)),
  );
  const unique = sent.identities.size;
  const users = system.kindStats(Kind.User).active;
  const titleCount = system.kindStats(Kind.Title).active;
  bar.done(n);
  const secs = (performance.now() - t0) / 1000;

  // Every distinct interaction must have reached its user and title actors, once: sum what they hold.
  const userSums = await Promise.all([...sent.users].map((k) => system.ask<UserSummary>(Kind.User, k, UserMsg.Summary)));
  const titleSums = await Promise.all([...sent.titles].map((k) => system.ask<TitleSummary>(Kind.Title, k, TitleMsg.Summary)));
  const heldByUsers = userSums.reduce((a, s) => a + s.interactionCount, 0);
  const heldByTitles = titleSums.reduce((a, s) => a + s.interactionCount, 0);

  const top = titleSums.filter((s) => s.interactionCount >= 50).sort((a, b) => b.interactionCount - a.interactionCount).slice(0, 5);
  const first = userSums.sort((a, b) => Number(a.userId) - Number(b.userId))[0];
  const result = {
    ratings: n,
    /** Ratings that repeat an earlier one (same user, title, time and type): applied once. */
    duplicates: n - unique,
    seconds: Number(secs.toFixed(3)),
    messages_per_s: Math.round((2 * n) / secs),
    user_actors: users,
    title_actors: titleCount,
    interactions_held_by_users: heldByUsers,
    interactions_held_by_titles: heldByTitles,
    lost: 2 * unique - heldByUsers - heldByTitles,
    most_rated: top.map((t) => ({ title: name(t.titleId), ratings: t.interactionCount, mean: Number(t.meanRating.toFixed(2)) })),
    example_user: first && { user: first.userId, ratings: first.interactionCount, mean: Number(first.meanRating.toFixed(2)), recent: first.recentTitleIds.slice(0, 3).map(name) },
  };
  await system.stop();

  if (opts.json) {
    out.json(result);
  } else {
    out.line(`ingested ${n.toLocaleString('en-US')} ratings into ${users} user and ${titleCount} title actors in ${secs.toFixed(2)} s (${result.messages_per_s.toLocaleString('en-US')} actor messages/s)`);
    out.line(
      `verified: user actors hold ${heldByUsers.toLocaleString('en-US')} interactions, title actors ${heldByTitles.toLocaleString('en-US')}; ` +
        `lost ${result.lost}; duplicates in the input ${result.duplicates.toLocaleString('en-US')} (applied once)`,
    );
    out.line('most rated titles:');
    for (const [i, t] of result.most_rated.entries()) out.line(`  ${i + 1}. ${t.title}: ${t.ratings} ratings, mean ${t.mean.toFixed(2)}`);
    if (result.example_user) {
      const u = result.example_user;
      out.line(`user ${u.user}: ${u.ratings} ratings, mean ${u.mean.toFixed(2)}, most recent: ${u.recent.join('; ')}`);
    }
  }
  if (result.lost !== 0) throw new Error(`${result.lost} interactions were not applied`);
}
