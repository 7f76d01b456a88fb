import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { IdentitySet, interactionHash, Kind, UserMsg, TitleMsg, type TitleSummary, type UserSummary } from '../actors/index.js';
import type { EpochSummary, TrainSpec } from '../actors/training/index.js';
import type { RecommendAnswer, RecommendBody } from '../actors/serving/index.js';
import { readUItem } from '../data/movielens-100k.js';
import { RATINGS_FILE_NAMES, ratingsFileAt, ratingsFormatOf, readRatings, type Rating } from '../data/movielens.js';
import type { Title } from '../data/types.js';
import { syntheticSet } from '../data/synthetic.js';
import { settingsFrom } from './cluster-connect.js';
import { CliError, ExitCode } from './exit-codes.js';
import { progress, type Output } from './output.js';
import { asUsage, ratingToInteraction } from './ratings-input.js';
import type { StartCluster } from './start-cluster.js';
import { interactionWeightsFrom } from './interaction-weights.js';
import { openLocalStart } from './start-local.js';
import { openNatsStart } from './start-nats.js';
import { epochLine } from './train.js';

/** `reel start`'s flags, and the cluster settings' (`--nats`, `--prefix`, credentials, `--config`). */
export interface StartOptions extends Record<string, unknown> {
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

/** What was sent, to verify afterwards: every user and title with its distinct interactions. */
interface Sent {
  /** Distinct interactions sent to each user actor. */
  users: Map<string, number>;
  /** Distinct interactions sent to each title actor. */
  titles: Map<string, number>;
  /**
   * Identity hashes, as the actors keep them. Over the whole input a false repeat has
   * probability about n²/2^54 (6e-7 for ml-100k, 6e-5 for ml-1m): negligible here.
   */
  identities: IdentitySet;
}

/** The ratings, noting what is sent. */
async function* noting(src: AsyncIterable<Rating> | Iterable<Rating>, sent: Sent): AsyncGenerator<Rating> {
  for await (const r of src) {
    const it = ratingToInteraction(r);
    // A repeat (same user, title, time and type) is applied once, so it adds nothing an actor holds.
    const fresh = sent.identities.add(interactionHash(it)) ? 1 : 0;
    sent.users.set(it.userId, (sent.users.get(it.userId) ?? 0) + fresh);
    sent.titles.set(it.titleId, (sent.titles.get(it.titleId) ?? 0) + fresh);
    yield r;
  }
}

/**
 * Where the job runs: on the cluster that `--nats`, REEL_NATS_URL or a `--config` file names
 * (`.reel/cluster.json` does not count: without a named server the job needs no broker), else
 * in this process.
 */
async function openStartCluster(opts: StartOptions, out: Output): Promise<StartCluster> {
  const s = settingsFrom(opts, { clusterFile: false });
  return s.natsFrom === 'default' ? openLocalStart(out, interactionWeightsFrom(s)) : openNatsStart(opts, s, out);
}

/**
 * `reel start`: the main job. Loads ratings into user and title actors, verifies every one
 * arrived, trains a quick model, prints what the actors hold and recommend, then serves the
 * reel.v1 API until SIGINT or SIGTERM (`--once`: exits after the samples). In this process
 * without a broker, or on a real cluster with `--nats URL` (`openStartCluster`).
 */
export async function runStart(opts: StartOptions, out: Output): Promise<void> {
  const file = opts.synthetic ? undefined : ratingsFile(opts.data);
  // Refuse a file that is not a ratings file before starting anything, and say what it reads as.
  const format = file === undefined ? undefined : await ratingsFormatOf(file).catch((err: unknown) => Promise.reject(asUsage(err)));
  const synthetic = file ? undefined : syntheticSet();
  const titles = file ? await readTitles(join(dirname(file), 'u.item')) : new Map(synthetic!.titles.map((t) => [t.id, t]));
  const name = (id: string) => titles.get(id)?.title ?? `title ${id}`;

  const cluster = await openStartCluster(opts, out);
  let serving = false;
  try {
    await runJob(cluster, opts, out, { file, format: format?.name, synthetic: synthetic?.ratings(), titles, name });
    serving = !opts.once;
  } finally {
    // Serving, the cluster stops when told to; otherwise (done, or failed) now.
    if (!serving) await cluster.close();
  }
  if (serving) await cluster.serveUntilStopped();
}

/** The job's steps on `cluster`, up to the samples printed (and the API served, unless `--once`). */
async function runJob(
  cluster: StartCluster,
  opts: StartOptions,
  out: Output,
  data: { file: string | undefined; format: string | undefined; synthetic: Iterable<Rating> | undefined; titles: Map<string, Title>; name: (id: string) => string },
): Promise<void> {
  const { file, name } = data;
  const system = cluster.system;
  out.info(`reel: ${cluster.where}`);
  out.info(`reel: loading ${data.format ? `${file} (${data.format})` : opts.synthetic ? 'synthetic ratings' : 'synthetic ratings (no MovieLens folder found; pass --data PATH)'}`);

  const t0 = performance.now();
  const bar = progress(out, 'ingest', 'ratings');
  const sent: Sent = { users: new Map(), titles: new Map(), identities: new IdentitySet() };
  // A bad line deep in a large file shows only now; the cluster stops then.
  const n = await cluster.load(data.titles.values(), noting(file ? readRatings(file) : data.synthetic!, sent), bar.update).catch((err: unknown) => Promise.reject(asUsage(err)));
  const unique = sent.identities.size;
  const users = sent.users.size;
  const titleCount = sent.titles.size;
  bar.done(n);
  const secs = (performance.now() - t0) / 1000;

  // Every distinct interaction must have reached its user and title actors, once: ask what they hold.
  // An actor may hold more than was sent here (a cluster that held data already), never less.
  const userSums = await Promise.all([...sent.users.keys()].map((k) => system.ask<UserSummary>(Kind.User, k, UserMsg.Summary)));
  const titleSums = await Promise.all([...sent.titles.keys()].map((k) => system.ask<TitleSummary>(Kind.Title, k, TitleMsg.Summary)));
  const heldByUsers = userSums.reduce((a, s) => a + s.interactionCount, 0);
  const heldByTitles = titleSums.reduce((a, s) => a + s.interactionCount, 0);
  const missing = (sums: Array<{ interactionCount: number }>, keys: Iterable<string>, want: Map<string, number>) => {
    let lost = 0;
    let i = 0;
    for (const k of keys) lost += Math.max(0, want.get(k)! - sums[i++]!.interactionCount);
    return lost;
  };
  const lost = missing(userSums, sent.users.keys(), sent.users) + missing(titleSums, sent.titles.keys(), sent.titles);

  const top = titleSums.filter((s) => s.interactionCount >= 50).sort((a, b) => b.interactionCount - a.interactionCount).slice(0, 5);
  const byId = [...userSums].sort((a, b) => Number(a.userId) - Number(b.userId));
  const first = byId[0];
  const result = {
    ...(cluster.summary.nats !== null ? { cluster: cluster.summary } : {}),
    ratings: n,
    /** Ratings that repeat an earlier one (same user, title, time and type): applied once. */
    duplicates: n - unique,
    seconds: Number(secs.toFixed(3)),
    messages_per_s: Math.round((2 * n) / secs),
    user_actors: users,
    title_actors: titleCount,
    interactions_held_by_users: heldByUsers,
    interactions_held_by_titles: heldByTitles,
    lost,
    most_rated: top.map((t) => ({ title: name(t.titleId), ratings: t.interactionCount, mean: Number(t.meanRating.toFixed(2)) })),
    example_user: first && { user: first.userId, ratings: first.interactionCount, mean: Number(first.meanRating.toFixed(2)), recent: first.recentTitleIds.slice(0, 3).map(name) },
    training: undefined as undefined | { version: string; epochs: number; train_rmse: number; validation_rmse: number | null; seconds: number },
    recommendations: [] as Array<{ user: string; titles: Array<{ title: string; genres: string[]; score: number; reason: string }> }>,
    grpc: undefined as undefined | { address: string; try: string },
  };
  if (lost !== 0) throw new Error(`${lost} interactions were not applied`);

  // A quick model, trained by the same job a cluster runs, then a few users' recommendations,
  // asked of their actors as the gateway asks them.
  const spec: TrainSpec = {
    version: cluster.version, model: 'mf', factors: 32, epochs: 15, lr: 0.02, lrDecay: 0.93, regFactor: 0.05, regBias: 0.01, initStd: 0.05, seed: 1,
    clocksPerEpoch: 1, consistency: { kind: 'bsp' }, validationFraction: 0.02, workerTimeoutMs: 60_000, keepCheckpoints: 1, kernel: 'wasm', negatives: 'uniform', popularityExponent: 0,
  };
  out.info(`reel: training ${spec.model} version ${spec.version} (${spec.factors} factors, ${spec.epochs} epochs) on what the user actors hold`);
  const t1 = performance.now();
  let last: EpochSummary | undefined;
  const st = await cluster.train(
    spec,
    (e) => {
      last = e;
      out.info(epochLine(e, spec.epochs));
    },
    (why) => out.info(`reel: ${why}; resuming from the last checkpoint`),
  );
  if (st.state !== 'done' || last === undefined) throw new Error(`training failed: ${st.error ?? st.state}`);
  result.training = { version: spec.version, epochs: spec.epochs, train_rmse: round4(last.loss), validation_rmse: last.validation === null ? null : round4(last.validation), seconds: Number(((performance.now() - t1) / 1000).toFixed(2)) };
  for (const u of byId.slice(0, 3)) {
    const body: RecommendBody = { pageSize: 5, includeTitleDetails: true };
    const a = await system.ask<RecommendAnswer>(Kind.User, u.userId, UserMsg.Recommend, body);
    result.recommendations.push({ user: u.userId, titles: a.titles.map((t) => ({ title: name(t.titleId), genres: t.details?.genres ?? [], score: round4(t.score), reason: t.reason.text })) });
  }

  if (!opts.once) {
    const host = opts.host ?? '127.0.0.1';
    let port: number;
    try {
      port = await cluster.serve(host, opts.port ?? 50051);
    } catch (err) {
      throw new CliError(`cannot serve gRPC on ${host}:${opts.port ?? 50051}: ${(err as Error).message} (pick another with --port, or --once to exit after the samples)`);
    }
    const address = `${host}:${port}`;
    result.grpc = { address, try: `grpcurl -plaintext -d '{"user_id": "${byId[0]?.userId ?? '1'}", "page_size": 5}' ${address} reel.v1.RecommendationService/Recommend` };
  }

  if (opts.json) {
    out.json(result);
    return;
  }
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
  const tr = result.training;
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
