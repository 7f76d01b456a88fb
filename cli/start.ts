import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  IdentitySet, ingestInteractions, interactionHash, Kind, NodeParams, registerReelActors, TitleMsg, UserMsg, type InteractionBody, type TitleSummary, type UserSummary,
} from '../actors/index.js';
import { MemoryBlobStore, MemoryModelRegistry, NodeTraining, runTrainingJob, type EpochSummary, type TrainSpec } from '../actors/training/index.js';
import { NodeServing, type RecommendAnswer, type RecommendBody } from '../actors/serving/index.js';
import { catalogHandlers, Gateway, interactionHandlers, PopularLists, recommendationHandlers, type GatewayBackend } from '../gateway/index.js';
import { readUItem } from '../data/movielens-100k.js';
import { RATINGS_FILE_NAMES, ratingsFileAt, ratingsFormatOf, readRatings, type Rating } from '../data/movielens.js';
import type { Title } from '../data/types.js';
import { syntheticSet } from '../data/synthetic.js';
import { SoleOwnership } from '../cluster/index.js';
import { ActorSystem } from '../runtime/index.js';
import { log } from './process-log.js';
import { CliError, ExitCode } from './exit-codes.js';
import { progress, type Output } from './output.js';
import { asUsage, ratingToInteraction } from './ratings-input.js';
import { metadataOf } from './load.js';
import { epochLine } from './train.js';

export interface StartOptions {
  /** A ratings file of any name, or a MovieLens folder (see `ratingsFileAt`). */
  data?: string;
  /** Generated ratings instead; the command line refuses it together with `data`. */
  synthetic?: boolean;
  json?: boolean;
  /** The gateway's gRPC port (0: any free one). */
  port?: number;
  host?: string;
  /** Print the samples and exit, without serving. */
  once?: boolean;
}

/** A folder's titles (u.item), or none when it has no such file. */
async function readTitles(file: string): Promise<Map<string, Title>> {
  const out = new Map<string, Title>();
  if (!existsSync(file)) return out;
  for await (const t of readUItem(file)) out.set(t.id, t);
  return out;
}

const round4 = (x: number) => Number(x.toFixed(4));

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
  const synthetic = file ? undefined : syntheticSet();
  const titles = file ? await readTitles(join(dirname(file), 'u.item')) : new Map(synthetic!.titles.map((t) => [t.id, t]));
  const name = (id: string) => titles.get(id)?.title ?? `title ${id}`;

  // The broker-less default: a cluster of one node owning every shard, through the same seam.
  const params = new NodeParams();
  const system = new ActorSystem({ nodeId: 'local', ownership: new SoleOwnership() });
  await using _stops = system;
  const registry = new MemoryModelRegistry();
  const blobs = new MemoryBlobStore();
  const directory = { ownerOf: () => 'local' };
  const serving = new NodeServing(system, { params, registry, blobs, directory });
  registerReelActors(system, params, serving);
  const training = new NodeTraining(system, { params, registry, blobs, directory, serving });
  await system.start();
  serving.start();
  for (const t of titles.values()) await system.ask(Kind.Title, t.id, TitleMsg.Metadata, metadataOf(t));
  out.info(`reel: one in-process node hosting all ${system.options.shardCount} shards (no NATS configured)`);
  out.info(`reel: loading ${format ? `${file} (${format.name})` : opts.synthetic ? 'synthetic ratings' : 'synthetic ratings (no MovieLens folder found; pass --data PATH)'}`);

  const t0 = performance.now();
  const bar = progress(out, 'ingest', 'ratings');
  const sent: Sent = { users: new Set(), titles: new Set(), identities: new IdentitySet() };
  // A bad line deep in a large file shows only now; `await using` stops the system then.
  const n = await ingestInteractions(system, noting(file ? readRatings(file) : synthetic!.ratings(), sent), { onProgress: bar.update }).catch((err: unknown) =>
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
    training: undefined as undefined | { version: string; epochs: number; train_rmse: number; validation_rmse: number | null; seconds: number },
    recommendations: [] as Array<{ user: string; titles: Array<{ title: string; genres: string[]; score: number; reason: string }> }>,
    grpc: undefined as undefined | { address: string; try: string },
  };

  // A quick model, trained by the same job a cluster runs (one worker here), then a few users'
  // recommendations, asked of their actors as the gateway asks them.
  const spec: TrainSpec = {
    version: 'start', model: 'mf', factors: 32, epochs: 15, lr: 0.02, lrDecay: 0.93, regFactor: 0.05, regBias: 0.01, initStd: 0.05, seed: 1,
    clocksPerEpoch: 1, consistency: { kind: 'bsp' }, validationFraction: 0.02, workerTimeoutMs: 60_000, keepCheckpoints: 1, kernel: 'wasm', negatives: 'uniform', popularityExponent: 0,
  };
  out.info(`reel: training ${spec.model} (${spec.factors} factors, ${spec.epochs} epochs) on what the user actors hold`);
  const t1 = performance.now();
  let last: EpochSummary | undefined;
  const st = await runTrainingJob(system, registry, spec, {
    workers: ['local'],
    startWorkers: async (v) => void training.startWorker(v),
    onEpoch: (e) => {
      last = e;
      out.info(epochLine(e, spec.epochs));
    },
    pollMs: 20,
  });
  if (st.state !== 'done' || last === undefined) throw new Error(`training failed: ${st.error ?? st.state}`);
  await training.activate(spec.version);
  result.training = { version: spec.version, epochs: spec.epochs, train_rmse: round4(last.loss), validation_rmse: last.validation === null ? null : round4(last.validation), seconds: Number(((performance.now() - t1) / 1000).toFixed(2)) };
  await serving.refresh();
  for (const u of userSums.slice(0, 3)) {
    const body: RecommendBody = { pageSize: 5, includeTitleDetails: true };
    const a = await system.ask<RecommendAnswer>(Kind.User, u.userId, UserMsg.Recommend, body);
    result.recommendations.push({ user: u.userId, titles: a.titles.map((t) => ({ title: name(t.titleId), genres: t.details?.genres ?? [], score: round4(t.score), reason: t.reason.text })) });
  }
  if (result.lost !== 0) throw new Error(`${result.lost} interactions were not applied`);

  let gateway: Gateway | undefined;
  let popular: PopularLists | undefined;
  if (!opts.once) {
    // The gateway in this process: RecommendationService and CatalogService over the one node.
    const local = { system, owners: () => ['local'] };
    popular = new PopularLists(local);
    popular.start();
    // No stream in one process: an interaction is made durable by its actors (here: memory) before the answer.
    const record = async (items: readonly InteractionBody[]) => {
      const applied = await Promise.all(items.map(async (it) => (await Promise.all([system.ask<boolean>(Kind.User, it.userId, UserMsg.Record, it), system.ask<boolean>(Kind.Title, it.titleId, TitleMsg.Record, it)]))[0]));
      return new Set(items.filter((_, i) => !applied[i]).map((it) => it.eventId));
    };
    const backend: GatewayBackend = {
      admin: {},
      catalog: catalogHandlers(local),
      recommendation: { ...recommendationHandlers(local, popular), ...interactionHandlers(record) },
      connected: () => true,
      canRecommend: () => popular!.ready,
    };
    gateway = new Gateway({ backend, log });
    const host = opts.host ?? '127.0.0.1';
    let port: number;
    try {
      port = await gateway.listen(host, opts.port ?? 50051);
    } catch (err) {
      popular.stop();
      throw new CliError(`cannot serve gRPC on ${host}:${opts.port ?? 50051}: ${(err as Error).message} (pick another with --port, or --once to exit after the samples)`);
    }
    const address = `${host}:${port}`;
    result.grpc = { address, try: `grpcurl -plaintext -d '{"user_id": "${userSums[0]?.userId ?? '1'}", "page_size": 5}' ${address} reel.v1.RecommendationService/Recommend` };
  }

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
    const tr = result.training!;
    out.line(`trained ${spec.model} in ${tr.seconds.toFixed(1)} s: train RMSE ${tr.train_rmse.toFixed(4)}${tr.validation_rmse !== null ? `, validation RMSE ${tr.validation_rmse.toFixed(4)}` : ''}`);
    for (const r of result.recommendations) {
      out.line(`recommended for user ${r.user} (not yet rated):`);
      for (const [i, t] of r.titles.entries()) out.line(`  ${i + 1}. ${t.title}${t.genres.length > 0 ? ` [${t.genres.join(', ')}]` : ''}${t.reason ? ` (${t.reason})` : ''}`);
    }
    if (result.grpc) {
      out.line(`serving reel.v1 gRPC on ${result.grpc.address} (reflection on; Ctrl-C stops). Try:`);
      out.line(`  ${result.grpc.try}`);
    }
  }
  if (gateway === undefined) return;
  // Serves until SIGINT or SIGTERM: calls in flight finish, then the node stops.
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  out.info('reel: stopping');
  await gateway.stop();
  popular?.stop();
}
