import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { startNatsServer, uniquePrefix } from '../test/harness/nats-server.js';
import type { NatsServerHandle } from '../test/harness/nats-server.js';
import { Internal, InvalidArgument } from './errors.js';
import { KvSnapshotStore, snapshotKvKey } from './snapshot-store-kv.js';
import { connectNats } from './transport-nats.js';

describe('snapshot-store-kv', () => {
  let server: NatsServerHandle;
  let nc: NatsConnection;
  let store: KvSnapshotStore;
  let bucketPrefix: string;

  beforeAll(async () => {
    server = await startNatsServer();
    nc = await connectNats({ servers: server.url });
    bucketPrefix = uniquePrefix('snap');
    store = new KvSnapshotStore(nc, { bucketPrefix });
  });

  afterAll(async () => {
    await store?.close();
    await nc?.close();
    await server?.stop();
  });

  it('snapshot-store-kv - save then load round-trips typed arrays', async () => {
    const data = { emb: new Float32Array([0.5, -1.25]), hist: new Uint8Array([1, 2, 3]), w: new Float64Array([Math.E]), n: 4 };
    const rev = await store.save('user', '42', { data, epoch: 7, savedAt: 1_700_000_000_000 }, 0);
    const { snapshot: got, revision } = await store.load('user', '42');
    expect(revision).toBe(rev);
    expect(got).toBeDefined();
    expect(got!.epoch).toBe(7);
    expect(got!.savedAt).toBe(1_700_000_000_000);
    const d = got!.data as typeof data;
    expect(d.emb).toBeInstanceOf(Float32Array);
    expect(d.hist).toBeInstanceOf(Uint8Array);
    expect(d.w).toBeInstanceOf(Float64Array);
    expect(Array.from(d.emb)).toEqual([0.5, -1.25]);
    expect(Array.from(d.hist)).toEqual([1, 2, 3]);
    expect(Array.from(d.w)).toEqual([Math.E]);
    expect(d.n).toBe(4);
  });

  it('snapshot-store-kv - a missing key loads as undefined', async () => {
    expect(await store.load('user', 'never-saved')).toEqual({ snapshot: undefined, revision: 0 });
  });

  it('snapshot-store-kv - delete removes the snapshot and a later save works', async () => {
    await store.save('user', 'gone', { data: 1, epoch: 1, savedAt: 1 }, 0);
    await store.delete('user', 'gone');
    const after = await store.load('user', 'gone');
    expect(after.snapshot).toBeUndefined();
    expect(after.revision).toBeGreaterThan(0);
    await store.delete('user', 'never-there');
    await store.save('user', 'gone', { data: 2, epoch: 2, savedAt: 2 }, after.revision);
    expect((await store.load('user', 'gone')).snapshot?.data).toBe(2);
  });

  it('snapshot-store-kv - a write naming an old revision is fenced off and changes nothing', async () => {
    const r1 = await store.save('user', 'fenced', { data: 'old owner', epoch: 1, savedAt: 1 }, 0);
    const r2 = await store.save('user', 'fenced', { data: 'new owner', epoch: 2, savedAt: 2 }, r1);
    await expect(store.save('user', 'fenced', { data: 'late write', epoch: 1, savedAt: 3 }, r1)).rejects.toMatchObject({ code: 'Fenced' });
    await expect(store.save('user', 'fenced', { data: 'late create', epoch: 1, savedAt: 3 }, 0)).rejects.toMatchObject({ code: 'Fenced' });
    expect(await store.load('user', 'fenced')).toMatchObject({ snapshot: { data: 'new owner', epoch: 2, savedAt: 2 }, revision: r2 });
  });

  it('snapshot-store-kv - a load gives the bytes stored at its revision, the same that saveEncoded wrote, and decode reads them back', async () => {
    const saved = await store.saveEncoded!('user', 'bytes', { data: { n: 7, tags: ['a'] }, epoch: 3, savedAt: 9, applied: [['id-1', 7, 1000]] }, 0);
    const loaded = await store.load('user', 'bytes');
    expect(loaded.revision).toBe(saved.revision);
    expect(Buffer.from(loaded.bytes!).equals(Buffer.from(saved.bytes))).toBe(true);
    expect(store.decode!(loaded.bytes!)).toEqual(loaded.snapshot);
    expect(loaded.snapshot).toEqual({ data: { n: 7, tags: ['a'] }, epoch: 3, savedAt: 9, applied: [['id-1', 7, 1000]] });
  });

  it('snapshot-store-kv - odd keys round-trip and do not collide', async () => {
    const keys = ['a.b', 'ü', '', '_x', 'a/b c', 'a_b', 'x', '_b64_eA', '*', '>'];
    const encoded = keys.map(snapshotKvKey);
    expect(new Set(encoded).size).toBe(keys.length);
    await Promise.all(keys.map((k, i) => store.save('title', k, { data: { k, i }, epoch: i, savedAt: i }, 0)));
    for (const [i, k] of keys.entries()) {
      expect((await store.load('title', k)).snapshot).toEqual({ data: { k, i }, epoch: i, savedAt: i });
    }
    expect(snapshotKvKey('plain-key_1=')).toBe('plain-key_1=');
    expect(snapshotKvKey('')).toBe('_b64_');
  });

  it('snapshot-store-kv - keys lists every stored actor of a kind, odd keys decoded, deleted ones left out', async () => {
    const keys = ['k1', 'a.b', 'ü x', '_b64_eA'];
    await Promise.all(keys.map((k) => store.save('listed', k, { data: k, epoch: 1, savedAt: 1 }, 0)));
    await store.save('listed', 'gone', { data: 0, epoch: 1, savedAt: 1 }, 0);
    await store.delete('listed', 'gone');
    expect((await store.keys('listed')).sort()).toEqual([...keys].sort());
  });

  it('snapshot-store-kv - two kinds use two buckets, created once under concurrent first use', async () => {
    await Promise.all([
      store.save('alpha', 'k', { data: 'a', epoch: 1, savedAt: 1 }, 0),
      store.save('alpha', 'k2', { data: 'a2', epoch: 1, savedAt: 1 }, 0),
      store.save('beta', 'k', { data: 'b', epoch: 1, savedAt: 1 }, 0),
    ]);
    expect((await store.load('alpha', 'k')).snapshot?.data).toBe('a');
    expect((await store.load('beta', 'k')).snapshot?.data).toBe('b');
    const names: string[] = [];
    for await (const s of new Kvm(nc).list()) names.push(s.bucket);
    expect(names).toContain(`${bucketPrefix}_snap_alpha`);
    expect(names).toContain(`${bucketPrefix}_snap_beta`);
  });

  it('snapshot-store-kv - an undecodable value throws Internal naming bucket and key', async () => {
    await store.save('user', 'poisoned', { data: 0, epoch: 0, savedAt: 0 }, 0);
    const kv = await new Kvm(nc).open(`${bucketPrefix}_snap_user`);
    await kv.put('poisoned', new Uint8Array([0xc1]));
    const err = await store.load('user', 'poisoned').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(Internal);
    expect((err as Error).message).toContain(`${bucketPrefix}_snap_user/poisoned`);
  });

  it('snapshot-store-kv - kinds and options that cannot name a bucket are refused', async () => {
    await expect(store.load('a.b', 'k')).rejects.toBeInstanceOf(InvalidArgument);
    await expect(store.save('', 'k', { data: 0, epoch: 0, savedAt: 0 }, 0)).rejects.toBeInstanceOf(InvalidArgument);
    let caught: unknown;
    try {
      new KvSnapshotStore(nc, { bucketPrefix: 'a b', history: 0 });
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(InvalidArgument);
    expect((caught as InvalidArgument).fields).toEqual(['bucketPrefix', 'history']);
  });
});
