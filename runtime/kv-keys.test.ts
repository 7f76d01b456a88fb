import type { KV } from '@nats-io/kv';
import { describe, expect, it } from 'vitest';
import { Unavailable } from './errors.js';
import { kvKeys } from './kv-keys.js';

/** A bucket whose key listings stall the first `stalls` times (as the client's listing can while the bucket is written), then list `keys`. */
function stallingKv(keys: string[], stalls: number, gapMs = 0): { kv: KV; listings: () => number; stopped: () => number } {
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
          for (const k of [...keys, keys[0]!]) {
            if (gapMs > 0) await new Promise((r) => setTimeout(r, gapMs));
            yield k;
          }
        },
      };
    },
  } as unknown as KV;
  return { kv, listings: () => listings, stopped: () => stopped };
}

describe('kv keys', () => {
  it('kv keys - a listing that stalls is stopped and started again; keys come back once each', async () => {
    const b = stallingKv(['versions.a', 'versions.b'], 2);
    expect(await kvKeys(b.kv, 'versions.>', 50)).toEqual(['versions.a', 'versions.b']);
    expect(b.listings()).toBe(3);
    expect(b.stopped()).toBe(2);
  });

  it('kv keys - a listing that keeps stalling fails as Unavailable instead of hanging its caller', async () => {
    const b = stallingKv(['versions.a'], 100);
    const err = await kvKeys(b.kv, 'versions.>', 20).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Unavailable);
    expect((err as Error).message).toMatch(/versions\.>/);
  });

  it('kv keys - a long listing that keeps bringing keys is not a stall, however long it takes in all', async () => {
    // 25 keys 20 ms apart (over 500 ms in all) under a 250 ms stall bound: listed in one go.
    const keys = Array.from({ length: 25 }, (_, i) => `k${i}`);
    const b = stallingKv(keys, 0, 20);
    expect(await kvKeys(b.kv, '>', 250)).toEqual(keys);
    expect(b.listings()).toBe(1);
    expect(b.stopped()).toBe(0);
  });
});
