import { describe, expect, it } from 'vitest';
import { systemClock } from '../runtime/index.js';
import { natsPerFile } from '../test/harness/nats-per-file.js';
import { uniquePrefix } from '../test/harness/nats-server.js';
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
