import { Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryBlobStore, MemoryModelRegistry } from '../actors/training/memory-stores.js';
import { UnknownModelVersion, type BlobStore, type ModelManifest, type ModelRegistry } from '../actors/training/stores.js';
import { jetstreamManager } from '@nats-io/jetstream';
import { Objm } from '@nats-io/obj';
import { checkpointsBucket, ObjBlobStore } from '../cluster/blob-store-obj.js';
import { KvModelRegistry, modelsBucket } from '../cluster/model-registry-kv.js';
import { InvalidArgument, Unavailable } from '../runtime/index.js';
import { natsPerFile } from './harness/nats-per-file.js';
import { uniquePrefix } from './harness/nats-server.js';

/** A manifest as a training job writes it when it starts. */
export function manifest(id: string, over: Partial<ModelManifest> = {}): ModelManifest {
  return {
    id,
    model: 'mf',
    factors: 4,
    hyperparameters: { lr: 0.01, reg: 0.05 },
    seed: 7,
    dataFingerprint: '0123456789abcdef',
    metrics: {},
    state: 'READY',
    createdAtMs: 1_700_000_000_000,
    updatedAtMs: 1_700_000_000_000,
    epochsDone: 0,
    epochs: 10,
    ...over,
  };
}

/** The stores under test, and a second handle on the same registry (another process, as far as CAS can tell). */
interface Stores {
  registry: ModelRegistry;
  other: ModelRegistry;
  blobs: BlobStore;
  /** The states as stored, before any reading through the active pointer (JetStream only). */
  storedStates?(): Promise<Record<string, string>>;
}

const nats = natsPerFile();
const extra: NatsConnection[] = [];
afterAll(async () => {
  for (const nc of extra) await nc.close();
});

const impls: Array<[string, () => Promise<Stores>]> = [
  [
    'memory',
    async () => {
      const registry = new MemoryModelRegistry();
      return { registry, other: registry, blobs: new MemoryBlobStore() };
    },
  ],
  [
    'jetstream',
    async () => {
      const prefix = uniquePrefix('stores');
      const nc2 = await connect({ servers: nats.nats.url, noAsyncTraces: true });
      extra.push(nc2);
      const registry = await KvModelRegistry.open(nats.nc, prefix);
      const other = await KvModelRegistry.open(nc2, prefix);
      const kv = await new Kvm(nats.nc).open(modelsBucket(prefix));
      return {
        registry,
        other,
        blobs: await ObjBlobStore.open(nats.nc, prefix),
        async storedStates() {
          const out: Record<string, string> = {};
          for await (const k of await kv.keys('versions.>')) out[k.slice('versions.'.length)] = (await kv.get(k))!.json<ModelManifest>().state;
          return out;
        },
      };
    },
  ],
];

const statesOf = async (r: ModelRegistry) => Object.fromEntries((await r.list()).map((m) => [m.id, m.state]));

describe.each(impls)('model registry contract (%s)', (_name, make) => {
  it('registry - creates, gets and lists versions oldest first; a copy read is not the stored one', async () => {
    const { registry } = await make();
    expect(await registry.list()).toEqual([]);
    await registry.create(manifest('b', { createdAtMs: 2 }));
    await registry.create(manifest('a', { createdAtMs: 3 }));
    await registry.create(manifest('c', { createdAtMs: 1, state: 'TRAINING' }));
    expect((await registry.list()).map((m) => m.id)).toEqual(['c', 'b', 'a']);
    const got = (await registry.get('a'))!;
    expect(got).toEqual(manifest('a', { createdAtMs: 3 }));
    got.metrics.rmse = 1;
    expect((await registry.get('a'))!.metrics).toEqual({});
    expect(await registry.get('nope')).toBeUndefined();
    expect(await registry.get('not.a.key')).toBeUndefined();
    expect(await registry.active()).toBeUndefined();
  });

  it('registry - refuses a duplicate id, a bad id and a version created ACTIVE', async () => {
    const { registry } = await make();
    await registry.create(manifest('v1'));
    await expect(registry.create(manifest('v1'))).rejects.toThrow(/v1 already exists/);
    await expect(registry.create(manifest('v.1'))).rejects.toBeInstanceOf(InvalidArgument);
    await expect(registry.create(manifest('v2', { state: 'ACTIVE' }))).rejects.toThrow(/cannot be created ACTIVE/);
  });

  it('registry - update writes the change and returns it; an unknown id, an id change or a move to ACTIVE are refused', async () => {
    const { registry } = await make();
    await registry.create(manifest('v1', { state: 'TRAINING' }));
    const written = await registry.update('v1', (m) => ({ ...m, epochsDone: 3, metrics: { rmse: 0.9 } }));
    expect(written).toMatchObject({ epochsDone: 3, metrics: { rmse: 0.9 } });
    expect(await registry.get('v1')).toEqual(written);
    await expect(registry.update('v9', (m) => m)).rejects.toBeInstanceOf(UnknownModelVersion);
    await expect(registry.update('v1', (m) => ({ ...m, id: 'v2' }))).rejects.toThrow(/may not change the id/);
    await expect(registry.update('v1', (m) => ({ ...m, state: 'ACTIVE' }))).rejects.toThrow(/from TRAINING to ACTIVE/);
    expect((await registry.get('v1'))!.state).toBe('TRAINING');
  });

  it('registry - concurrent updates from two handles all land (compare-and-set, retried)', async () => {
    const { registry, other } = await make();
    await registry.create(manifest('v1', { state: 'TRAINING' }));
    const bump = (r: ModelRegistry, i: number) => r.update('v1', (m) => ({ ...m, epochsDone: m.epochsDone + 1, metrics: { ...m.metrics, [`m${i}`]: i } }));
    await Promise.all(Array.from({ length: 12 }, (_, i) => bump(i % 2 ? registry : other, i)));
    const m = (await registry.get('v1'))!;
    expect(m.epochsDone).toBe(12);
    expect(Object.keys(m.metrics)).toHaveLength(12);
  });

  it('registry - activate makes the target ACTIVE and the previous one RETIRED; RETIRED and ACTIVE may be activated again', async () => {
    const { registry, storedStates } = await make();
    await registry.create(manifest('a'));
    await registry.create(manifest('b', { createdAtMs: 1_700_000_000_001 }));
    expect((await registry.activate('a')).state).toBe('ACTIVE');
    expect(await registry.active()).toBe('a');
    expect((await registry.activate('b')).state).toBe('ACTIVE');
    expect(await statesOf(registry)).toEqual({ a: 'RETIRED', b: 'ACTIVE' });
    expect((await registry.activate('a')).state).toBe('ACTIVE');
    expect((await registry.activate('a')).state).toBe('ACTIVE');
    expect(await statesOf(registry)).toEqual({ a: 'ACTIVE', b: 'RETIRED' });
    expect(await registry.active()).toBe('a');
    if (storedStates) expect(await storedStates()).toEqual({ a: 'ACTIVE', b: 'RETIRED' });
    // The ACTIVE version keeps its state through updates.
    await expect(registry.update('a', (m) => ({ ...m, state: 'RETIRED' }))).rejects.toThrow(/from ACTIVE to RETIRED/);
  });

  it('registry - a TRAINING or FAILED version cannot be activated, and nothing changes', async () => {
    const { registry } = await make();
    await registry.create(manifest('ok'));
    await registry.activate('ok');
    await registry.create(manifest('t', { state: 'TRAINING' }));
    await registry.create(manifest('f', { state: 'FAILED', error: 'worker n2 died' }));
    const err = await registry.activate('t').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidArgument);
    expect((err as Error).message).toBe('model version t is TRAINING and cannot be activated (its training has not finished); only a READY, RETIRED or ACTIVE version can');
    await expect(registry.activate('f')).rejects.toThrow('model version f is FAILED and cannot be activated (its training failed: worker n2 died)');
    await expect(registry.activate('zz')).rejects.toBeInstanceOf(UnknownModelVersion);
    expect(await registry.active()).toBe('ok');
    expect(await statesOf(registry)).toEqual({ ok: 'ACTIVE', t: 'TRAINING', f: 'FAILED' });
  });

  it('registry - two handles activating different versions at once leave exactly one ACTIVE, the one the pointer names', async () => {
    const { registry, other, storedStates } = await make();
    const ids = ['a', 'b', 'c', 'd'];
    for (const [i, id] of ids.entries()) await registry.create(manifest(id, { createdAtMs: i }));
    for (let round = 0; round < 6; round++) {
      const x = ids[round % 4]!;
      const y = ids[(round + 1 + (round % 3)) % 4]!;
      await Promise.all([registry.activate(x), other.activate(y), other.activate(x === 'a' ? 'c' : 'a')]);
      const active = await registry.active();
      const states = await statesOf(registry);
      expect(Object.values(states).filter((s) => s === 'ACTIVE')).toHaveLength(1);
      expect(states[active!]).toBe('ACTIVE');
      expect(Object.values(states).every((s) => s === 'ACTIVE' || s === 'RETIRED' || s === 'READY')).toBe(true);
      if (storedStates) expect(await storedStates()).toEqual(states);
    }
  });
});

describe.each(impls)('blob store contract (%s)', (_name, make) => {
  it('blobs - put, get and replace; an absent name is undefined', async () => {
    const { blobs } = await make();
    expect(await blobs.get('models/v1/e0001/manifest')).toBeUndefined();
    await blobs.put('models/v1/e0001/manifest', new Uint8Array([1, 2, 3]));
    expect(await blobs.get('models/v1/e0001/manifest')).toEqual(new Uint8Array([1, 2, 3]));
    await blobs.put('models/v1/e0001/manifest', new Uint8Array([9]));
    expect(await blobs.get('models/v1/e0001/manifest')).toEqual(new Uint8Array([9]));
    await blobs.put('empty', new Uint8Array(0));
    expect(await blobs.get('empty')).toEqual(new Uint8Array(0));
  });

  it('blobs - a blob larger than a chunk comes back byte for byte', async () => {
    const { blobs } = await make();
    const big = new Uint8Array(1_000_003).map((_, i) => (i * 31 + (i >> 8)) & 255);
    await blobs.put('models/v1/e0001/user/s0', big);
    const back = (await blobs.get('models/v1/e0001/user/s0'))!;
    expect(back.length).toBe(big.length);
    expect(Buffer.from(back).equals(Buffer.from(big))).toBe(true);
  });

  it('blobs - list gives the names under a prefix, sorted; deletePrefix removes exactly those', async () => {
    const { blobs } = await make();
    const names = ['models/v1/e0002/user/s1', 'models/v1/e0001/user/s0', 'models/v1/e0001/title/s3', 'models/v10/e0001/manifest', 'other'];
    for (const n of names) await blobs.put(n, new TextEncoder().encode(n));
    expect(await blobs.list('models/v1/')).toEqual(['models/v1/e0001/title/s3', 'models/v1/e0001/user/s0', 'models/v1/e0002/user/s1']);
    expect(await blobs.list('models/v1/e0001/')).toEqual(['models/v1/e0001/title/s3', 'models/v1/e0001/user/s0']);
    expect(await blobs.deletePrefix('models/v1/e0001/')).toBe(2);
    expect(await blobs.get('models/v1/e0001/user/s0')).toBeUndefined();
    expect(await blobs.list('models/')).toEqual(['models/v1/e0002/user/s1', 'models/v10/e0001/manifest']);
    expect(await blobs.deletePrefix('nothing/')).toBe(0);
  });

  it('blobs - a name outside the contract is refused before anything is written', async () => {
    const { blobs } = await make();
    for (const bad of ['', 'a//b', '/a', 'a/', 'a b', 'a/ü', 'a*b']) await expect(blobs.put(bad, new Uint8Array(1))).rejects.toBeInstanceOf(InvalidArgument);
    expect(await blobs.list('')).toEqual([]);
  });
});

describe('jetstream stores', () => {
  it('stores - operator handles open nothing on a server where no version or checkpoint was written', async () => {
    const prefix = uniquePrefix('none');
    expect(await KvModelRegistry.openExisting(nats.nc, prefix)).toBeUndefined();
    expect(await ObjBlobStore.openExisting(nats.nc, prefix)).toBeUndefined();
    await (await KvModelRegistry.open(nats.nc, prefix)).create(manifest('v1'));
    await (await ObjBlobStore.open(nats.nc, prefix)).put('x', new Uint8Array([1]));
    expect((await (await KvModelRegistry.openExisting(nats.nc, prefix))!.list()).map((m) => m.id)).toEqual(['v1']);
    expect(await (await ObjBlobStore.openExisting(nats.nc, prefix))!.get('x')).toEqual(new Uint8Array([1]));
  });

  it('blobs - a read whose chunks are gone (an object pruned while it is read) stops with a typed, transient error instead of waiting for ever', { timeout: 60_000 }, async () => {
    const prefix = uniquePrefix('stall');
    // A short stall limit: the chunks are purged, so waiting longer proves nothing more.
    const blobs = await ObjBlobStore.open(nats.nc, prefix, { readStallMs: 500 });
    const big = new Uint8Array(1 << 20).map((_, i) => i % 251);
    await blobs.put('big', big);
    expect(await blobs.get('big')).toEqual(big);
    // What a delete racing a read leaves the reader: the object's info, its chunks purged.
    const bucket = checkpointsBucket(prefix);
    const info = await (await new Objm(nats.nc).open(bucket)).info('big');
    await (await jetstreamManager(nats.nc)).streams.purge(`OBJ_${bucket}`, { filter: `$O.${bucket}.C.${info!.nuid}` });
    const err = await blobs.get('big').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Unavailable);
    expect((err as Error).message).toBe('reading blob big: no data for 500 ms');
  });

  it('registry - an activation that stopped after writing the pointer reads as done, and the next activation repairs the manifests', async () => {
    const prefix = uniquePrefix('crash');
    const registry = await KvModelRegistry.open(nats.nc, prefix);
    await registry.create(manifest('a'));
    await registry.create(manifest('b', { createdAtMs: 1_700_000_000_001 }));
    await registry.activate('a');
    // What a process killed between the pointer's CAS and the manifests leaves behind.
    const kv = await new Kvm(nats.nc).open(modelsBucket(prefix));
    await kv.put('active', JSON.stringify({ id: 'b', previous: 'a' }));
    expect(await registry.active()).toBe('b');
    expect(await statesOf(registry)).toEqual({ a: 'RETIRED', b: 'ACTIVE' });
    expect((await registry.get('a'))!.state).toBe('RETIRED');
    expect((await kv.get('versions.a'))!.json<ModelManifest>().state).toBe('ACTIVE');
    await registry.activate('b');
    expect((await kv.get('versions.a'))!.json<ModelManifest>().state).toBe('RETIRED');
    expect((await kv.get('versions.b'))!.json<ModelManifest>().state).toBe('ACTIVE');
  });
});

describe('buckets created by many processes at once', () => {
  it('stores - nodes starting together all create the cluster, models and checkpoints buckets: every creation succeeds and opens the one stream', async () => {
    const prefix = uniquePrefix('together');
    const conns = await Promise.all(Array.from({ length: 6 }, () => connect({ servers: nats.nats.url })));
    try {
      const { openClusterKv } = await import('../cluster/cluster-kv.js');
      const opened = await Promise.all(conns.flatMap((nc) => [openClusterKv(nc, prefix), KvModelRegistry.open(nc, prefix), ObjBlobStore.open(nc, prefix)]));
      expect(opened).toHaveLength(18);
      const kv = opened[0] as Awaited<ReturnType<typeof openClusterKv>>;
      await kv.put('k', 'v');
      expect((await (opened[3] as typeof kv).get('k'))?.string()).toBe('v');
    } finally {
      await Promise.all(conns.map((nc) => nc.close()));
    }
  });
});
