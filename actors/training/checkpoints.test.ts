import { describe, expect, it } from 'vitest';
import { InvalidArgument } from '../../runtime/index.js';
import { checkpointPrefix, encodePart, manifestName, partName } from './checkpoint.js';
import {
  commitCheckpoint, dropOtherGroups, groupOf, latestCheckpoint, listCheckpoints, pruneCheckpoints, readCheckpoint, writeCheckpoint, writeCheckpointGroup, writeCheckpointParts, type ShardPart,
} from './checkpoints.js';
import { MemoryBlobStore } from './memory-stores.js';
import type { ModelManifest } from './stores.js';

const K = 3;

function manifest(epochsDone: number, over: Partial<ModelManifest> = {}): ModelManifest {
  return {
    id: 'v1',
    model: 'mf',
    factors: K,
    hyperparameters: { lr: 0.01 },
    seed: 1,
    dataFingerprint: 'ff',
    metrics: { train_rmse: 1 / (epochsDone + 1) },
    state: 'TRAINING',
    createdAtMs: 1,
    updatedAtMs: 2,
    epochsDone,
    epochs: 5,
    ...over,
  };
}

/** `n` rows whose values say which part, row and column they are. */
function part(kind: string, shard: number, keys: string[], salt = 0): ShardPart {
  const rows = new Float32Array(keys.length * (K + 1)).map((_, i) => shard * 100 + i + salt + (kind === 'user' ? 0.5 : 0.25));
  return { kind, shard, part: { keys, factors: K, rows } };
}

const parts = (salt = 0) => [part('user', 1, ['u3', 'u7'], salt), part('user', 0, ['u1'], salt), part('title', 0, ['t1', 't2', 't9'], salt)];

/** A store that records the order of puts. */
class RecordingStore extends MemoryBlobStore {
  readonly puts: string[] = [];
  override async put(name: string, data: Uint8Array): Promise<void> {
    this.puts.push(name);
    await super.put(name, data);
  }
}

describe('checkpoints', () => {
  it('checkpoints - writes parts, then global, then the manifest last, and reads the whole checkpoint back', async () => {
    const store = new RecordingStore();
    const written = await writeCheckpoint(store, manifest(2), { mean: 3.5 }, parts());
    const prefix = checkpointPrefix('v1', 2);
    expect(written.checkpoint).toEqual({ epoch: 2, prefix, parts: 3 });
    expect(store.puts.at(-1)).toBe(manifestName(prefix));
    expect(store.puts.at(-2)).toBe(`${prefix}/global`);
    expect(store.puts.slice(0, 3).sort()).toEqual([partName(prefix, 'title', 0), partName(prefix, 'user', 0), partName(prefix, 'user', 1)].sort());
    const back = (await readCheckpoint(store, prefix))!;
    expect(back.manifest).toEqual(written);
    expect(back.global).toEqual({ mean: 3.5 });
    expect(back.parts.map((p) => `${p.kind}/${p.shard}`)).toEqual(['title/0', 'user/0', 'user/1']);
    expect(back.parts[2]).toEqual(parts()[0]);
  });

  it('checkpoints - a checkpoint without its manifest is not read; the latest complete one is', async () => {
    const store = new MemoryBlobStore();
    expect(await latestCheckpoint(store, 'v1')).toBeUndefined();
    await writeCheckpoint(store, manifest(1), { mean: 3 }, parts(1));
    await writeCheckpoint(store, manifest(2), { mean: 3 }, parts(2));
    // Epoch 3 died after its parts: no manifest.
    await writeCheckpointParts(store, checkpointPrefix('v1', 3), parts(3));
    expect(await readCheckpoint(store, checkpointPrefix('v1', 3))).toBeUndefined();
    expect(await listCheckpoints(store, 'v1')).toEqual([
      { epoch: 1, prefix: checkpointPrefix('v1', 1), complete: true },
      { epoch: 2, prefix: checkpointPrefix('v1', 2), complete: true },
      { epoch: 3, prefix: checkpointPrefix('v1', 3), complete: false },
    ]);
    const latest = (await latestCheckpoint(store, 'v1'))!;
    expect(latest.manifest.epochsDone).toBe(2);
    expect(latest.parts[0]!.part.rows[0]).toBe(2.25);
    // Another version's checkpoints, and a version whose id starts alike, are not mixed in.
    await writeCheckpoint(store, manifest(9, { id: 'v10' }), { mean: 1 }, parts());
    expect((await latestCheckpoint(store, 'v1'))!.manifest.epochsDone).toBe(2);
  });

  it('checkpoints - a manifest whose parts are missing, malformed or of other factors is damage, named', async () => {
    const store = new MemoryBlobStore();
    await writeCheckpoint(store, manifest(1), { mean: 3 }, parts());
    const prefix = checkpointPrefix('v1', 1);
    await store.deletePrefix(partName(prefix, 'user', 1));
    await expect(readCheckpoint(store, prefix)).rejects.toThrow(`checkpoint ${prefix} is damaged: its manifest counts 3 parts, the store holds 2`);
    await store.put(partName(prefix, 'user', 1), new Uint8Array([1, 2, 3]));
    await expect(readCheckpoint(store, prefix)).rejects.toThrow(`checkpoint part ${partName(prefix, 'user', 1)} is malformed`);
    await store.put(partName(prefix, 'user', 1), encodePart({ keys: ['u'], factors: 2, rows: new Float32Array(3) }));
    await expect(readCheckpoint(store, prefix)).rejects.toThrow(/has 2 factors, its manifest 3/);
    await store.deletePrefix(`${prefix}/global`);
    await expect(readCheckpoint(store, prefix)).rejects.toThrow(/has a manifest but no/);
  });

  it('checkpoints - two parts for one shard and kind, or a bad epoch, are refused before anything is written', async () => {
    const store = new MemoryBlobStore();
    await expect(writeCheckpoint(store, manifest(1), { mean: 3 }, [...parts(), part('user', 0, ['x'])])).rejects.toThrow(/two parts for user shard 0/);
    await expect(writeCheckpoint(store, manifest(-1), { mean: 3 }, parts())).rejects.toBeInstanceOf(InvalidArgument);
    expect(await store.list('')).toEqual([]);
  });

  it('checkpoints - prune keeps the newest complete ones and one being written; abandoned incomplete ones go', async () => {
    const store = new MemoryBlobStore();
    for (const e of [1, 2, 4, 5]) await writeCheckpoint(store, manifest(e), { mean: 3 }, parts());
    await writeCheckpointParts(store, checkpointPrefix('v1', 3), parts()); // abandoned
    await writeCheckpointParts(store, checkpointPrefix('v1', 6), parts()); // in progress
    await writeCheckpoint(store, manifest(1, { id: 'v2' }), { mean: 3 }, parts());
    expect(await pruneCheckpoints(store, 'v1', 2)).toEqual([1, 2, 3]);
    expect((await listCheckpoints(store, 'v1')).map((c) => [c.epoch, c.complete])).toEqual([
      [4, true],
      [5, true],
      [6, false],
    ]);
    expect(await store.list(`${checkpointPrefix('v1', 2)}/`)).toEqual([]);
    expect((await listCheckpoints(store, 'v2')).length).toBe(1);
    expect(await pruneCheckpoints(store, 'v1', 5)).toEqual([]);
    await expect(pruneCheckpoints(store, 'v1', 0)).rejects.toThrow(/keep must be/);
  });

  it('checkpoints - a node writes its parts as one group blob per kind; readers see every shard, and a group of an earlier attempt is dropped before the commit', async () => {
    const store = new RecordingStore();
    const prefix = checkpointPrefix('v1', 2);
    await writeCheckpointGroup(store, prefix, groupOf(1, 'n2'), [part('user', 1, ['stale'])]);
    await writeCheckpointGroup(store, prefix, groupOf(2, 'n1'), [part('user', 0, ['u1']), part('title', 0, ['t1', 't2', 't9'])]);
    await writeCheckpointGroup(store, prefix, groupOf(2, 'n2'), [part('user', 1, ['u3', 'u7'])]);
    expect(store.puts.filter((n) => n.includes('/g-a2-'))).toHaveLength(3);
    expect(await dropOtherGroups(store, prefix, 'a2-')).toBe(1);
    await commitCheckpoint(store, manifest(2), { mean: 3.5 }, 3);
    const cp = (await readCheckpoint(store, prefix))!;
    expect(cp.parts.map((p) => `${p.kind}/${p.shard}:${p.part.keys.join(',')}`)).toEqual(['title/0:t1,t2,t9', 'user/0:u1', 'user/1:u3,u7']);
    expect(cp.parts[2]!.part.rows).toEqual(part('user', 1, ['u3', 'u7']).part.rows);
  });
});
