import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type ConnectionOptions } from '@nats-io/transport-node';

/** How often a server that is not ready yet is asked again, in ms. */
const POLL_MS = 100;
/** One attempt's connect and request timeout, in ms. */
const ATTEMPT_TIMEOUT_MS = 1_000;

/**
 * Resolves once the server at `url` answers JetStream requests and knows `servers` servers in its
 * cluster (its client URLs list them all): servers started together elect a JetStream leader and
 * find each other first, and a bucket of 3 replicas cannot be placed before the third is known.
 * Until then requests time out or answer "temporarily unavailable". Throws after `timeoutMs`, or
 * as soon as `stopped()` returns a reason (the server exited).
 */
export async function jetStreamReady(url: string, opts: ConnectionOptions, servers: number, timeoutMs: number, stopped: () => string | undefined = () => undefined): Promise<void> {
  const until = Date.now() + timeoutMs;
  let last = 'no answer yet';
  for (;;) {
    const why = stopped();
    if (why !== undefined) throw new Error(why);
    const nc = await connect({ ...opts, servers: url, timeout: ATTEMPT_TIMEOUT_MS, reconnect: false }).catch((err: unknown) => {
      last = (err as Error).message;
      return undefined;
    });
    if (nc !== undefined) {
      try {
        await (await jetstreamManager(nc, { timeout: ATTEMPT_TIMEOUT_MS })).getAccountInfo();
        const known = new Set(nc.info?.connect_urls ?? []).size;
        if (servers === 1 || known >= servers) return;
        last = `it knows ${known} of ${servers} servers`;
      } catch (err) {
        last = (err as Error).message;
      } finally {
        await nc.close();
      }
    }
    if (Date.now() >= until) throw new Error(`JetStream on ${url} not ready after ${timeoutMs / 1000} s (${last})`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}
