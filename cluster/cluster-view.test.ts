import type { KV } from '@nats-io/kv';
import { describe, expect, it } from 'vitest';
import { systemClock } from '../runtime/index.js';
import { natsPerFile } from '../test/harness/nats-per-file.js';
import { uniquePrefix } from '../test/harness/nats-server.js';
import { waitFor } from '../test/harness/wait.js';
import { json, openClusterKv } from './cluster-kv.js';
import { ClusterView } from './cluster-view.js';

describe('cluster view', () => {
  const broker = natsPerFile();

  it('cluster view - a fresh view\'s first read sees every entry while entries keep changing', async () => {
    const kv = await openClusterKv(broker.nc, uniquePrefix('view'));
    const S = 64;
    const members = ['n0', 'n1', 'n2', 'n3'];
    const write = (i: number, n: number) =>
      i < S ? kv.put(`shards.${i}`, json({ owner: members[i % members.length], epoch: n + 1 })) : kv.put(`members.${members[i - S]}`, json({ id: members[i - S], roles: ['node'], weight: 1, incarnation: 'x', codecVersion: 2, startedAt: 0, version: 'v', heartbeatAt: n }));
    for (let i = 0; i < S + members.length; i++) await write(i, 0);
    // Writers renew every entry over and over, as a busy cluster's nodes do.
    let stop = false;
    const writers = Array.from({ length: 4 }, async (_, w) => {
      for (let n = 1; !stop; n++) for (let i = w; i < S + members.length && !stop; i += 4) await write(i, n);
    });
    // A fresh view per read, as `reel status` has, and not opened: no watch fills in what the read misses.
    const missed: string[] = [];
    try {
      for (let r = 0; r < 60; r++) {
        const view = new ClusterView(kv, systemClock);
        await view.refresh();
        const shards = [...Array(S).keys()].filter((s) => view.shard(s).value === undefined);
        const gone = members.filter((m) => !view.members.has(m));
        if (shards.length > 0 || gone.length > 0) missed.push(`read ${r}: shards ${shards.join(',')} members ${gone.join(',')}`);
        view.close();
      }
    } finally {
      stop = true;
      await Promise.all(writers);
    }
    expect(missed).toEqual([]);
  });

  it('cluster view - with no watch to be had (consumers time out, as while a NATS cluster elects leaders after a server died) it opens and reads every entry key by key, delete markers too, and starts its watch once it can', async () => {
    const kv = await openClusterKv(broker.nc, uniquePrefix('nowatch'));
    await kv.put('members.n1', json({ id: 'n1', roles: ['node'], weight: 1, incarnation: 'x', codecVersion: 2, startedAt: 0, version: 'v', heartbeatAt: 0 }));
    for (let s = 0; s < 8; s++) await kv.put(`shards.${s}`, json({ owner: 'n1', epoch: s + 1 }));
    await kv.put('shards.8', json({ owner: 'n1', epoch: 1 }));
    await kv.delete('shards.8');
    // Creating a consumer times out, as nats.js reports it; everything else answers.
    let refuse = true;
    let watches = 0;
    const stalled = new Proxy(kv, {
      get(target, prop) {
        if (prop === 'watch') {
          return (...args: Parameters<KV['watch']>) => {
            if (refuse) return Promise.reject(Object.assign(new Error('timeout'), { name: 'TimeoutError' }));
            watches++;
            return target.watch(...args);
          };
        }
        const v: unknown = Reflect.get(target, prop, target);
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const logs: string[] = [];
    const view = new ClusterView(stalled, systemClock, { watchRetryMs: 50, log: (msg) => logs.push(msg) });
    try {
      await view.open();
      expect(view.members.has('n1')).toBe(true);
      expect([...Array(8).keys()].map((s) => view.shard(s).value)).toEqual([...Array(8).keys()].map((s) => ({ owner: 'n1', epoch: s + 1 })));
      // A delete marker is an entry with no owner, as by a watch.
      expect(view.shard(8).revision).toBeGreaterThan(0);
      expect(view.shard(8).value).toBeUndefined();
      expect(logs).toContain('cluster view read key by key: a watch could not be created');
      // Consumers answer again: the watch starts, and brings what changes from then on.
      refuse = false;
      await waitFor('the watch started', () => watches >= 1, { timeoutMs: 10_000, intervalMs: 20 });
      await kv.put('shards.0', json({ owner: 'n2', epoch: 9 }));
      await waitFor('the watch brings a change', () => view.shard(0).value?.owner === 'n2', { timeoutMs: 10_000, intervalMs: 20 });
    } finally {
      view.close();
    }
  });

  it('cluster view - a view ahead of the bucket (a NATS cluster that lost entries after its stream leader died) takes the stored entry once a compare-and-set fails', async () => {
    const kv = await openClusterKv(broker.nc, uniquePrefix('ahead'));
    const rev = await kv.put('shards.0', json({ owner: 'a', epoch: 1 }));
    const view = new ClusterView(kv, systemClock);
    await view.refresh();
    // The view saw a later entry the bucket no longer has: a release at rev + 3.
    view.noteShardWrite(0, { owner: '', epoch: 1 }, rev + 3);
    // Every compare-and-set from that revision fails, and a re-read alone does not correct it.
    await expect(kv.update('shards.0', json({ owner: 'b', epoch: 2 }), rev + 3)).rejects.toThrow(/wrong last sequence/);
    await view.refresh();
    expect(view.shard(0)).toMatchObject({ revision: rev + 3, value: { owner: '' } });
    await view.resync('shards.0');
    expect(view.shard(0)).toMatchObject({ revision: rev, value: { owner: 'a', epoch: 1 } });
    // From the stored revision the next compare-and-set lands.
    expect(await kv.update('shards.0', json({ owner: 'b', epoch: 2 }), view.shard(0).revision)).toBeGreaterThan(rev);
    view.close();
  });
});
