import type { KV } from '@nats-io/kv';
import { describe, expect, it } from 'vitest';
import { Unavailable } from '../runtime/index.js';
import { listKeys } from './cluster-kv.js';

/** A bucket whose key listings stall the first `stalls` times (as the client's listing can while the bucket is written), then list `keys`. */
function stallingKv(keys: string[], stalls: number): { kv: KV; listings: () => number; stopped: () => number } {
  let listings = 0;
  let stopped = 0;
  const kv = {
    async keys() {
      const stall = listings++ < stalls;
      let stop = () => undefined as void;
      const done = new Promise<void>((r) => (stop = r));
      return {
        stop() {
          stopped++;
          stop();
        },
        async *[Symbol.asyncIterator]() {
          if (stall) {
            yield keys[0]!;
            await done;
            return;
          }
          // A listing racing writes can give a key twice.
          yield* [...keys, keys[0]!];
        },
      };
    },
  } as unknown as KV;
  return { kv, listings: () => listings, stopped: () => stopped };
}

describe('cluster kv', () => {
  it('list keys - a listing that stalls is stopped and started again; keys come back once each', async () => {
    const b = stallingKv(['versions.a', 'versions.b'], 2);
    expect(await listKeys(b.kv, 'versions.>', 50)).toEqual(['versions.a', 'versions.b']);
    expect(b.listings()).toBe(3);
    expect(b.stopped()).toBe(2);
  });

  it('list keys - a listing that keeps stalling fails as Unavailable instead of hanging its caller', async () => {
    const b = stallingKv(['versions.a'], 100);
    const err = await listKeys(b.kv, 'versions.>', 20).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Unavailable);
    expect((err as Error).message).toMatch(/versions\.>/);
  });
});
