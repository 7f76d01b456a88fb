import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkpointPrefix, writeCheckpoint, writeCheckpointParts, type BlobStore, type ModelManifest, type ModelRegistry, type ShardPart } from '../actors/training/index.js';
import { joinClusterConfig, openCheckpointStore, openClusterKv, openModelRegistry } from '../cluster/index.js';
import { decodeNpy } from '../models/index.js';
import { natsPerFile } from './harness/nats-per-file.js';
import { uniquePrefix } from './harness/nats-server.js';
import { runReel } from './harness/processes.js';

const nats = natsPerFile();
const prefix = uniquePrefix('models');
const dir = mkdtempSync(join(tmpdir(), 'reel-models-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const reel = (...args: string[]) => runReel([...args, '--nats', nats.nats.url, '--prefix', prefix]);
const parseJson = <T>(s: string) => JSON.parse(s) as T;

/** Created 2026-11-30 11:05 UTC. */
const CREATED_MS = Date.UTC(2026, 10, 30, 11, 5);

function manifest(id: string, over: Partial<ModelManifest> = {}): ModelManifest {
  return {
    id,
    model: 'mf',
    factors: 2,
    hyperparameters: { lr: 0.01, reg: 0.05 },
    seed: 42,
    dataFingerprint: '00112233aabbccdd',
    metrics: { train_rmse: 0.81234, validation_rmse: 0.91777 },
    state: 'READY',
    createdAtMs: CREATED_MS,
    updatedAtMs: CREATED_MS + 60_000,
    epochsDone: 0,
    epochs: 3,
    ...over,
  };
}

/** Rows of factors then bias, as a checkpoint part holds them. */
function part(kind: string, shard: number, rows: Array<[string, number, number, number]>): ShardPart {
  return { kind, shard, part: { keys: rows.map((r) => r[0]), factors: 2, rows: new Float32Array(rows.flatMap(([, f0, f1, bias]) => [f0, f1, bias])) } };
}

/** Users over two shards, out of key order; titles in one. */
const PARTS = [
  part('user', 1, [['10', 0.5, -1.25, 0.1], ['2', 1, 2, -0.3]]),
  part('user', 0, [['1', 0.25, 0.75, 0]]),
  part('title', 0, [['t2', -2, 3.5, 0.2], ['t1', 0.1, 0.2, 0.3]]),
];

let registry: ModelRegistry;
let blobs: BlobStore;

beforeAll(async () => {
  // A cluster exists once its config does: what operator commands look for.
  await joinClusterConfig(await openClusterKv(nats.nc, prefix), { shardCount: 8 }, CREATED_MS);
  registry = await openModelRegistry(nats.nc, prefix);
  blobs = await openCheckpointStore(nats.nc, prefix);
  await registry.create(manifest('mf-a', { epochsDone: 2 }));
  await registry.create(manifest('mf-b', { createdAtMs: CREATED_MS + 1, epochsDone: 3 }));
  await registry.create(manifest('mf-train', { createdAtMs: CREATED_MS + 2, state: 'TRAINING', metrics: {} }));
  await registry.create(manifest('mf-failed', { createdAtMs: CREATED_MS + 3, state: 'FAILED', error: 'node n2 died' }));
  // mf-a: epoch 1 with other values, epoch 2 complete, epoch 3 parts only (incomplete, never read).
  await writeCheckpoint(blobs, manifest('mf-a', { epochsDone: 1 }), { mean: 3 }, [part('user', 0, [['1', 9, 9, 9]])]);
  await writeCheckpoint(blobs, manifest('mf-a', { epochsDone: 2, metrics: { train_rmse: 0.8 } }), { mean: 3.5 }, PARTS);
  await writeCheckpointParts(blobs, checkpointPrefix('mf-a', 3), [part('user', 0, [['1', 7, 7, 7]])]);
});

describe('reel models against a real nats-server', () => {
  it('models - lists versions as a table, oldest first, and as JSON', async () => {
    const r = await reel('models');
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^VERSION\s+MODEL\s+STATE\s+FACTORS\s+EPOCHS\s+METRICS\s+CREATED$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/).slice(0, 5))).toEqual([
      ['mf-a', 'mf', 'READY', '2', '2/3'],
      ['mf-b', 'mf', 'READY', '2', '3/3'],
      ['mf-train', 'mf', 'TRAINING', '2', '0/3'],
      ['mf-failed', 'mf', 'FAILED', '2', '0/3'],
    ]);
    expect(lines[1]).toContain('validation_rmse=0.9178 train_rmse=0.8123');
    expect(lines[1]).toContain('2026-11-30 11:05Z');
    const j = parseJson<{ active: string | null; versions: ModelManifest[] }>((await reel('models', 'list', '--json')).stdout);
    expect(j.active).toBeNull();
    expect(j.versions.map((v) => v.id)).toEqual(['mf-a', 'mf-b', 'mf-train', 'mf-failed']);
    expect(j.versions[0]).toEqual(manifest('mf-a', { epochsDone: 2 }));
  });

  it('models - show prints the manifest and the complete checkpoints', async () => {
    const r = await reel('models', 'show', 'mf-a');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('model version mf-a: READY');
    expect(r.stdout).toMatch(/hyperparameters\s+lr=0.01 reg=0.05/);
    expect(r.stdout).toMatch(/data\s+fingerprint 00112233aabbccdd/);
    expect(r.stdout).toMatch(/stored\s+complete checkpoints of epochs 1, 2/);
    const j = parseJson<{ manifest: ModelManifest; checkpoints: Array<{ epoch: number; complete: boolean }> }>((await reel('models', 'show', 'mf-a', '--json')).stdout);
    expect(j.manifest.id).toBe('mf-a');
    expect(j.checkpoints.map((c) => [c.epoch, c.complete])).toEqual([
      [1, true],
      [2, true],
      [3, false],
    ]);
  });

  it('models - export writes CSV rows of the latest complete checkpoint, sorted by key, and the manifest', async () => {
    const out = join(dir, 'csv');
    const r = await reel('models', 'export', 'mf-a', '--out', out);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('exported mf-a (epoch 2: 3 users, 2 titles)');
    expect(readFileSync(join(out, 'users.csv'), 'utf8')).toBe('key,bias,f0,f1\n1,0,0.25,0.75\n2,-0.3,1,2\n10,0.1,0.5,-1.25\n');
    expect(readFileSync(join(out, 'titles.csv'), 'utf8')).toBe('key,bias,f0,f1\nt1,0.3,0.1,0.2\nt2,0.2,-2,3.5\n');
    const m = parseJson<ModelManifest & { export: Record<string, unknown> }>(readFileSync(join(out, 'manifest.json'), 'utf8'));
    expect(m.id).toBe('mf-a');
    expect(m.export).toMatchObject({
      checkpoint: { epoch: 2, prefix: checkpointPrefix('mf-a', 2), metrics: { train_rmse: 0.8 } },
      globalMean: 3.5,
      format: 'csv',
      columns: ['bias', 'f0', 'f1'],
      rows: { user: 3, title: 2 },
      files: ['users.csv', 'titles.csv', 'manifest.json'],
    });
  });

  it('models - export --format npy writes float32 matrices with the CSV columns and the keys beside them', async () => {
    const out = join(dir, 'npy');
    const r = await reel('models', 'export', 'mf-a', '--out', out, '--format', 'npy', '--json');
    expect(r.code).toBe(0);
    expect(parseJson<{ files: string[] }>(r.stdout).files).toEqual(['users.npy', 'users.keys.txt', 'titles.npy', 'titles.keys.txt', 'manifest.json']);
    const users = decodeNpy(readFileSync(join(out, 'users.npy')));
    expect([users.rows, users.cols]).toEqual([3, 3]);
    expect([...users.data]).toEqual([0, 0.25, 0.75, Math.fround(-0.3), 1, 2, Math.fround(0.1), 0.5, -1.25]);
    expect(readFileSync(join(out, 'users.keys.txt'), 'utf8')).toBe('1\n2\n10\n');
    expect(readFileSync(join(out, 'titles.keys.txt'), 'utf8')).toBe('t1\nt2\n');
  });

  it('models - activate switches the active version and retires the previous one', async () => {
    let r = await reel('models', 'activate', 'mf-a');
    expect(r.code).toBe(0);
    // This cluster has no nodes: the registry switches, and the command says no node serves it yet.
    expect(r.stdout.trim().split('\n')).toEqual(['mf-a is now the active version', expect.stringMatching(/^serving it now: no node answered; \d+ shards unanswered/)]);
    r = await reel('models', 'activate', 'mf-b', '--json');
    expect(r.code).toBe(0);
    expect(parseJson<{ active: string; previous: string }>(r.stdout)).toMatchObject({ active: 'mf-b', previous: 'mf-a', manifest: { id: 'mf-b', state: 'ACTIVE' } });
    expect(await registry.active()).toBe('mf-b');
    expect((await registry.get('mf-a'))!.state).toBe('RETIRED');
    r = await reel('models', 'activate', 'mf-b');
    expect(r.stdout.trim().split('\n')[0]).toBe('mf-b was already the active version');
  });

  it('models - errors: an unknown version (exit 4), a TRAINING or FAILED one, no checkpoint, a malformed id (exit 2)', async () => {
    let r = await reel('models', 'show', 'nope');
    expect(r.code).toBe(4);
    expect(r.stderr).toContain(`no model version 'nope' in cluster '${prefix}'`);
    r = await reel('models', 'export', 'nope', '--out', join(dir, 'x'), '--json');
    expect(r.code).toBe(4);
    expect(parseJson<{ error: { code: string } }>(r.stdout).error.code).toBe('NotFound');
    r = await reel('models', 'activate', 'nope');
    expect(r.code).toBe(4);
    r = await reel('models', 'activate', 'mf-train', '--json');
    expect(r.code).toBe(1);
    expect(parseJson<{ error: { code: string; message: string } }>(r.stdout).error).toEqual({
      code: 'FailedPrecondition',
      message: 'model version mf-train is TRAINING and cannot be activated (its training has not finished); only a READY, RETIRED or ACTIVE version can',
      exitCode: 1,
    });
    r = await reel('models', 'activate', 'mf-failed');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('its training failed: node n2 died');
    r = await reel('models', 'export', 'mf-b', '--out', join(dir, 'none'));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('model version mf-b has no complete checkpoint yet (ACTIVE, 3 of 3 epochs done)');
    r = await reel('models', 'show', 'a.b');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('expected a model version id');
    r = await reel('models', 'export', 'mf-a', '--out', join(dir, 'y'), '--format', 'parquet');
    expect(r.code).toBe(2);
  });

  it('models - a cluster with no versions yet lists none; a prefix with no cluster is an error naming it; neither gets a bucket', async () => {
    const empty = uniquePrefix('empty');
    const jsm = await jetstreamManager(nats.nc);
    const streamsOf = async (p: string) => {
      const found: string[] = [];
      for await (const name of jsm.streams.names()) if (name.includes(p)) found.push(name);
      return found.sort();
    };
    await joinClusterConfig(await openClusterKv(nats.nc, empty), { shardCount: 8 }, CREATED_MS);
    let r = await runReel(['models', '--nats', nats.nats.url, '--prefix', empty]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(`no model versions in cluster '${empty}' yet ('reel train' makes one)`);
    r = await runReel(['models', 'show', 'mf-a', '--nats', nats.nats.url, '--prefix', empty]);
    expect(r.code).toBe(4);
    r = await runReel(['models', 'activate', 'mf-a', '--nats', nats.nats.url, '--prefix', empty]);
    expect(r.code).toBe(4);
    expect(await streamsOf(empty)).toEqual([`KV_${empty}_cluster`]);
    const none = uniquePrefix('none');
    r = await runReel(['models', '--nats', nats.nats.url, '--prefix', none]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`no reel cluster with prefix '${none}'`);
    expect(await streamsOf(none)).toEqual([]);
  });
});
