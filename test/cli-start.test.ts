import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readRatings, readUItem } from '../data/index.js';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { credentials, makeClientConstructor, type Client, type ServiceError } from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
import { apiProtos } from '../gateway/index.js';
import { startNatsServer, uniquePrefix, type NatsServerHandle } from './harness/nats-server.js';
import { builtCli, runReel, startNodeProcess, startServing, type NodeProcess } from './harness/processes.js';
import { waitFor } from './harness/wait.js';

const run = promisify(execFile);
const cli = builtCli();
const ml100k = join(import.meta.dirname, '..', '..', 'shared', 'datasets', 'ml-100k');
const dir = mkdtempSync(join(tmpdir(), 'reel-start-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `reel` expecting it to fail; its exit code and stderr. */
async function failing(args: string[]): Promise<{ code: number; stderr: string }> {
  const err = (await run(process.execPath, [cli, ...args]).then(
    (r) => ({ ...r, code: 0 }),
    (e: unknown) => e,
  )) as { code: number; stderr: string };
  expect(err.code, `reel ${args.join(' ')} should fail`).not.toBe(0);
  return err;
}

describe('reel start', () => {
  it('cli - start loads MovieLens into actors and loses nothing', async () => {
    const { stdout } = await run(process.execPath, [cli, 'start', '--once', '--json', '--data', ml100k]);
    const r = JSON.parse(stdout) as Record<string, unknown>;
    expect(r).toMatchObject({ ratings: 100_000, user_actors: 943, title_actors: 1682, lost: 0 });
    expect((r.most_rated as Array<{ title: string }>)[0]!.title).toBe('Star Wars (1977)');
  });

  it('cli - start trains a quick model on what the actors hold and shows three users\' top titles, with genres, none of them already rated', async () => {
    const { stdout } = await run(process.execPath, [cli, 'start', '--once', '--json', '--data', ml100k]);
    const r = JSON.parse(stdout) as { training: { train_rmse: number; validation_rmse: number }; recommendations: Array<{ user: string; titles: Array<{ title: string; genres: string[] }> }> };
    expect(r.training.validation_rmse).toBeGreaterThan(0.5);
    expect(r.training.validation_rmse).toBeLessThan(0.95);
    expect(r.recommendations.map((x) => x.user)).toEqual(['1', '2', '3']);
    const names = new Map<string, string>();
    for await (const t of readUItem(join(ml100k, 'u.item'))) names.set(t.id, t.title);
    const rated = new Map<string, Set<string>>();
    for await (const x of readRatings(join(ml100k, 'u.data'))) (rated.get(x.user) ?? rated.set(x.user, new Set()).get(x.user)!).add(names.get(x.item)!);
    for (const u of r.recommendations) {
      expect(u.titles).toHaveLength(5);
      for (const t of u.titles) {
        expect(rated.get(u.user)!.has(t.title), `${t.title} was rated by user ${u.user}`).toBe(false);
        expect(t.genres.length).toBeGreaterThan(0);
      }
    }
  });

  it('cli - start --data takes a ratings file of any name: u1.base, and a CSV with a header', async () => {
    const base = await run(process.execPath, [cli, 'start', '--once', '--json', '--data', join(ml100k, 'u1.base')]);
    expect(JSON.parse(base.stdout)).toMatchObject({ ratings: 80_000, lost: 0 });
    expect(base.stderr).toContain(`loading ${join(ml100k, 'u1.base')} (tab-separated)`);

    const csv = join(dir, 'ratings.csv');
    writeFileSync(csv, 'userId,movieId,rating,timestamp\r\n1,31,2.5,1260759144\r\n1,1029,3.0,1260759179\r\n2,31,4.0,1260759185\r\n');
    const r = await run(process.execPath, [cli, 'start', '--once', '--json', '--data', csv]);
    expect(JSON.parse(r.stdout)).toMatchObject({ ratings: 3, user_actors: 2, title_actors: 2, lost: 0 });
    expect(r.stderr).toContain(`loading ${csv} (comma-separated with a header: userId, movieId, rating, timestamp)`);
  });

  it('cli - start with a missing data path exits 2 naming it', async () => {
    const err = await failing(['start', '--once', '--data', '/nonexistent/ml']);
    expect(err.code).toBe(2);
    expect(err.stderr).toContain('--data /nonexistent/ml: no such file or folder');
  });

  it('cli - start --data with a folder holding no ratings file exits 2 naming the folder and the names looked for', async () => {
    const empty = join(dir, 'no-ratings');
    mkdirSync(empty);
    const err = await failing(['start', '--once', '--data', empty]);
    expect(err.code).toBe(2);
    expect(err.stderr).toContain(`--data ${empty}: the folder holds no ratings file (u.data, ratings.dat or ratings.csv)`);
  });

  it('cli - start --data with a file that is not a ratings file exits 2 naming it and the accepted formats, before loading', async () => {
    const err = await failing(['start', '--once', '--data', join(ml100k, 'u.item')]);
    expect(err.code).toBe(2);
    expect(err.stderr).toContain(`${join(ml100k, 'u.item')}:1: not a ratings file`);
    expect(err.stderr).toContain('accepted: one rating per line');
    expect(err.stderr).not.toContain('reel: loading');
  });

  it('cli - start --data with a bad line exits 2 naming the file and the line', async () => {
    const f = join(dir, 'bad.dat');
    writeFileSync(f, '1::10::4::978300760\n1::11::4::978300761\n2::10::x::978300762\n');
    const err = await failing(['start', '--once', '--data', f]);
    expect(err.code).toBe(2);
    expect(err.stderr).toContain(`reel: ${f}:3: rating 'x' is not a number`);
  });

  it('cli - start --synthetic --data is a usage error naming both flags', async () => {
    const err = await failing(['start', '--once', '--synthetic', '--data', ml100k]);
    expect(err.code).toBe(2);
    expect(err.stderr).toMatch(/--synthetic.*--data|--data.*--synthetic/);
  });

  it('cli - start --interaction-weights is checked before anything runs: a bad entry exits 2 naming the flag and the entry', async () => {
    const r = await runReel(['start', '--synthetic', '--once', '--interaction-weights', 'PLAY=0.5,NOPE=1']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--interaction-weights');
    expect(r.stderr).toContain('NOPE=1');
    expect(r.stdout).not.toContain('ingest');
  });

  it('cli - start --help says which ratings files --data takes', async () => {
    const help = (await run(process.execPath, [cli, 'start', '--help'])).stdout.replace(/\s+/g, ' ');
    expect(help).toContain('ratings file of any name');
    expect(help).toContain('u.data, ratings.dat or ratings.csv');
    expect(help).toContain("separated by tabs, '::', commas or spaces");
    expect(help).toContain('a first line of column names (userId/user_id/user, movieId/item_id/title_id/item, rating, timestamp/time) may give them in any order');
  });

  it('cli - every command has --help', async () => {
    for (const args of [['--help'], ['start', '--help']]) {
      const { stdout } = await run(process.execPath, [cli, ...args]);
      expect(stdout).toContain('Usage: reel');
    }
  });

  it('cli - start serves the reel.v1 gRPC API after the samples (the printed grpcurl line names its address), until SIGTERM', async () => {
    const { child, exited, address, stdout } = await startServing(['--synthetic', '--port', '0']);
    try {
      expect(stdout()).toMatch(new RegExp(`grpcurl -plaintext -d '.*' ${address.replace(/\./g, '\\.')} reel\\.v1\\.RecommendationService/Recommend`));
      const rec = new (apiProtos().api.reel.v1.RecommendationService)(address, credentials.createInsecure()) as unknown as Client & Record<string, (req: unknown, cb: (e: ServiceError | null, r: Record<string, any>) => void) => void>;
      const res = await new Promise<Record<string, any>>((resolve, reject) => rec.Recommend!({ userId: '1', pageSize: 5 }, (e, r) => (e ? reject(e) : resolve(r))));
      expect(res).toMatchObject({ modelVersion: 'start', fallback: false });
      expect(res.titles).toHaveLength(5);
      // Recorded in the process (no stream): applied to the user at once, so the title leaves its answers.
      const first = res.titles[0].titleId as string;
      const recorded = await new Promise<Record<string, any>>((resolve, reject) =>
        rec.RecordInteractions!({ interactions: [{ eventId: 'e1', userId: '1', titleId: first, type: 'INTERACTION_TYPE_THUMBS_DOWN' }] }, (e, r) => (e ? reject(e) : resolve(r))),
      );
      expect(recorded).toMatchObject({ recordedCount: 1, duplicateCount: 0 });
      const again = await new Promise<Record<string, any>>((resolve, reject) => rec.Recommend!({ userId: '1', pageSize: 5 }, (e, r) => (e ? reject(e) : resolve(r))));
      expect((again.titles as Array<{ titleId: string }>).map((t) => t.titleId)).not.toContain(first);
      rec.close();
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 150_000);
});

type RecommendationClient = Client & Record<string, (req: unknown, cb: (e: ServiceError | null, r: Record<string, any>) => void) => void>;

/** A Recommend through the gateway at `address`. */
async function recommend(address: string, userId: string): Promise<Record<string, any>> {
  const rec = new (apiProtos().api.reel.v1.RecommendationService)(address, credentials.createInsecure()) as unknown as RecommendationClient;
  try {
    return await new Promise<Record<string, any>>((resolve, reject) => rec.Recommend!({ userId, pageSize: 5 }, (e, r) => (e ? reject(e) : resolve(r))));
  } finally {
    rec.close();
  }
}

/** The health status of RecommendationService at `address` (`grpc.health.v1`). */
async function servingStatus(address: string): Promise<string> {
  const Health = makeClientConstructor(healthService as never, 'grpc.health.v1.Health');
  const health = new Health(address, credentials.createInsecure()) as unknown as RecommendationClient;
  try {
    return await new Promise<string>((resolve) => health.Check!({ service: 'reel.v1.RecommendationService' }, (e, r) => resolve(e ? 'UNREACHABLE' : (r.status as string))));
  } finally {
    health.close();
  }
}

/** A port nothing listens on (the OS gave it, and it was closed again). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('reel start --nats', () => {
  let nats: NatsServerHandle;
  beforeAll(async () => {
    nats = await startNatsServer();
  });
  afterAll(async () => {
    await nats?.stop();
  });

  it('cli - start --nats runs the job on a real cluster its node creates; with --once its model stays active there and its node leaves', async () => {
    const prefix = uniquePrefix('start_once');
    const r = await runReel(['start', '--nats', nats.url, '--prefix', prefix, '--synthetic', '--once', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as {
      cluster: { nats: string; prefix: string; node: string };
      ratings: number;
      lost: number;
      interactions_held_by_users: number;
      training: { version: string };
      recommendations: Array<{ user: string; titles: unknown[] }>;
    };
    expect(out).toMatchObject({ cluster: { nats: nats.url, prefix }, ratings: 50_000, lost: 0, interactions_held_by_users: 50_000 });
    expect(out.cluster.node).toMatch(/^start-\d+$/);
    expect(out.recommendations.map((x) => x.user)).toEqual(['1', '2', '3']);
    for (const u of out.recommendations) expect(u.titles).toHaveLength(5);
    expect(r.stderr).toContain(`reel: node ${out.cluster.node} in cluster '${prefix}' at ${nats.url}: ${out.cluster.node} owns its 128 shards`);

    // The cluster outlives the job: its registry holds the version, active; its node has handed its shards off.
    const models = await runReel(['models', '--nats', nats.url, '--prefix', prefix, '--json']);
    expect(models.code, models.stderr).toBe(0);
    const m = JSON.parse(models.stdout) as { active: string; versions: Array<{ id: string; state: string }> };
    expect(m.active).toBe(out.training.version);
    expect(m.versions).toEqual([expect.objectContaining({ id: out.training.version, state: 'ACTIVE' })]);
    const status = await runReel(['status', '--nats', nats.url, '--prefix', prefix, '--json']);
    const st = JSON.parse(status.stdout) as { shardCount: number; nodes: Array<{ id: string; health: string }> };
    expect(st.shardCount).toBe(128);
    expect(st.nodes.filter((n) => n.health === 'live')).toEqual([]);
  }, 120_000);

  it('cli - start --nats serves the cluster until SIGTERM: reel status shows its node, its gateway and a reel gateway answer from it, and it hands its shards off', async () => {
    const prefix = uniquePrefix('start_serve');
    const { child, exited, address, stderr } = await startServing(['--nats', nats.url, '--prefix', prefix, '--synthetic', '--port', '0']);
    let gateway: NodeProcess | undefined;
    try {
      const node = /reel: node (start-\d+) in cluster/.exec(stderr())![1]!;
      const version = /training mf version (\S+)/.exec(stderr())![1]!;
      const status = await runReel(['status', '--nats', nats.url, '--prefix', prefix, '--json']);
      expect(status.code, status.stdout + status.stderr).toBe(0);
      const st = JSON.parse(status.stdout) as { nodes: Array<{ id: string; health: string; shards: number }> };
      expect(st.nodes).toEqual([expect.objectContaining({ id: node, health: 'live', shards: 128 })]);

      const own = await recommend(address, '1');
      expect(own).toMatchObject({ modelVersion: version, fallback: false });
      expect(own.titles).toHaveLength(5);
      // A stateless `reel gateway` started on its own serves the same cluster.
      gateway = startNodeProcess(['gateway', '--nats', nats.url, '--prefix', prefix, '--port', '0']);
      const ready = await gateway.ready;
      // As a client would: once health says it can answer (its fallback list exists).
      await waitFor('the new gateway serving recommendations', async () => (await servingStatus(`127.0.0.1:${String(ready.port)}`)) === 'SERVING', { timeoutMs: 30_000, intervalMs: 50 });
      const other = await recommend(`127.0.0.1:${String(ready.port)}`, '1');
      expect(other).toMatchObject({ modelVersion: version, fallback: false });
      expect((other.titles as Array<{ titleId: string }>).map((t) => t.titleId)).toEqual((own.titles as Array<{ titleId: string }>).map((t) => t.titleId));

      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(stderr()).toContain('reel: drained; exiting');
      const after = JSON.parse((await runReel(['status', '--nats', nats.url, '--prefix', prefix, '--json'])).stdout) as { nodes: Array<{ id: string; health: string }> };
      expect(after.nodes.filter((n) => n.health === 'live')).toEqual([]);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      gateway?.kill('SIGKILL');
      await gateway?.exited;
    }
  }, 120_000);

  it('cli - start with an unreachable NATS URL (--nats or REEL_NATS_URL) exits 1 with one line naming it', async () => {
    const url = `nats://127.0.0.1:${await closedPort()}`;
    const flag = await runReel(['start', '--nats', url, '--synthetic', '--once']);
    expect(flag.code).toBe(1);
    expect(flag.stderr.trimEnd().split('\n')).toEqual([expect.stringMatching(new RegExp(`^reel: cannot connect to NATS at ${url.replace(/\./g, '\\.')}: `))]);
    expect(flag.stdout).toBe('');
    const env = await runReel(['start', '--synthetic', '--once'], { env: { ...process.env, REEL_NATS_URL: url } });
    expect(env.code).toBe(1);
    expect(env.stderr.trimEnd().split('\n')).toEqual([expect.stringContaining(`reel: cannot connect to NATS at ${url} (from REEL_NATS_URL): `)]);
  });
});

