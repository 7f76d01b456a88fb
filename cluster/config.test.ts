import { describe, expect, it } from 'vitest';
import { ENVELOPE_VERSION } from '../runtime/index.js';
import { uniquePrefix } from '../test/harness/nats-server.js';
import { natsPerFile } from '../test/harness/nats-per-file.js';
import { json, openClusterKv, readJson } from './cluster-kv.js';
import { joinClusterConfig, type ClusterConfig } from './config.js';

describe('cluster config', () => {
  const broker = natsPerFile();

  it('config - a cluster of the previous envelope version is moved to this one once none of its nodes is live, and refused while one is (finding 10)', async () => {
    const kv = await openClusterKv(broker.nc, uniquePrefix('codec'));
    await kv.create('config', json({ shardCount: 64, codecVersion: 2, createdAt: 1 }));
    const live = { liveMembersSpeaking: async (v: number) => (v === 2 ? ['old-1', 'old-2'] : []) };
    await expect(joinClusterConfig(kv, { shardCount: 64 }, 5, live)).rejects.toThrow(/live nodes old-1, old-2 speak 2: stop every node of the older version first/);
    await expect(joinClusterConfig(kv, { shardCount: 64 }, 5)).rejects.toThrow(/speaks envelope version 4 but the cluster speaks 2/);
    const none = { liveMembersSpeaking: async () => [] };
    const c = await joinClusterConfig(kv, {}, 5, none);
    // The old config had no ask cap and no replica count: the default every node used, and the one replica its buckets had.
    expect(c).toEqual({ shardCount: 64, codecVersion: ENVELOPE_VERSION, maxAskDeadlineMs: 30_000, replicas: 1, createdAt: 1 });
    expect(readJson<ClusterConfig>(await kv.get('config'))?.codecVersion).toBe(ENVELOPE_VERSION);
  });

  it('config - a node that wants another ask cap than the cluster has refuses to join', async () => {
    const kv = await openClusterKv(broker.nc, uniquePrefix('cap'));
    await joinClusterConfig(kv, { maxAskDeadlineMs: 10_000 }, 1);
    expect((await joinClusterConfig(kv, {}, 2)).maxAskDeadlineMs).toBe(10_000);
    await expect(joinClusterConfig(kv, { maxAskDeadlineMs: 30_000 }, 3)).rejects.toThrow(/maxAskDeadlineMs 30000 but the cluster has 10000/);
  });

  it('config - the replica count of a new cluster is stored; a node that asks for another refuses to join, one that asks for none takes it', async () => {
    const kv = await openClusterKv(broker.nc, uniquePrefix('repl'));
    expect((await joinClusterConfig(kv, { defaultReplicas: 3 }, 1)).replicas).toBe(3);
    expect(readJson<ClusterConfig>(await kv.get('config'))?.replicas).toBe(3);
    expect((await joinClusterConfig(kv, { defaultReplicas: 1 }, 2)).replicas).toBe(3);
    await expect(joinClusterConfig(kv, { replicas: 1 }, 3)).rejects.toThrow(/started with 1 replica\(s\) but the cluster keeps 3/);
  });
});
