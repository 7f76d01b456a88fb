import type { KV } from '@nats-io/kv';
import { Unavailable } from './errors.js';

/** How long a listing may go without a new entry before it is started again. */
export const LISTING_STALL_MS = 5_000;
const LISTING_ATTEMPTS = 3;

/** A listing the client can stop: a bucket's keys, an object store's infos. */
export type Listing<T> = AsyncIterable<T> & { stop(): void };

/**
 * Every entry of a listing that `open` starts. The client's listings (an ordered consumer that
 * stops when it has seen as many messages as were pending, or at an idle heartbeat) can stall
 * while the stream is being written, as concurrent activations, handoffs and checkpoint writes
 * do: a listing that goes `stallMs` without a new entry is stopped and started again, and one
 * that keeps stalling fails as Unavailable (naming `what`) rather than hanging its caller. A
 * stall is measured from the last entry, not from the start, so a bucket of a million keys
 * lists for as long as they keep coming.
 */
export async function listWithin<T>(open: () => Promise<Listing<T>>, what: string, stallMs = LISTING_STALL_MS): Promise<T[]> {
  for (let attempt = 1; ; attempt++) {
    const it = await open();
    const out: T[] = [];
    let timer: NodeJS.Timeout | undefined;
    let stalled!: () => void;
    const stall = new Promise<false>((r) => (stalled = () => r(false)));
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(stalled, stallMs);
    };
    arm();
    const listed = (async () => {
      for await (const x of it) {
        out.push(x);
        arm();
      }
      return true;
    })();
    const done = await Promise.race([listed, stall]);
    clearTimeout(timer);
    if (done) return out;
    it.stop();
    if (attempt === LISTING_ATTEMPTS) throw new Unavailable(`listing ${what}: stalled ${attempt} times (nothing new for ${stallMs} ms)`);
  }
}

/** The keys of `kv` matching `filter`, each once (a listing racing writes can give a key twice); see `listWithin`. */
export async function kvKeys(kv: KV, filter = '>', stallMs = LISTING_STALL_MS, what = `the keys ${filter}`): Promise<string[]> {
  return [...new Set(await listWithin(() => kv.keys(filter), what, stallMs))];
}
