import { errors, type NatsConnection, type Subscription } from '@nats-io/transport-node';

/**
 * What a probe of a peer's subject says: `alive` (it answered), `gone` (the server says no
 * responders: nobody holds the subscription, so the peer's connection to NATS is closed), or
 * `unknown` (no answer in time, or this node cannot ask: a paused process and a half-open
 * connection look like this, and only the lease can judge them).
 */
export type ProbeResult = 'alive' | 'gone' | 'unknown';

/** Asks whether a peer is still connected to NATS. */
export interface PeerProbe {
  probe(node: string): Promise<ProbeResult>;
}

/** The subject each node answers probes on: `<prefix>.alive.<node>`. */
export function probeSubject(prefix: string, node: string): string {
  return `${prefix}.alive.${node}`;
}

const EMPTY = new Uint8Array(0);

/**
 * Probes over NATS. A node subscribes to its probe subject before it joins the membership, on the
 * connection that carries its shards' subscriptions: when that connection closes, the server drops
 * both at once and a probe comes back "no responders" at once.
 */
export class NatsPeerProbe implements PeerProbe {
  constructor(
    private readonly nc: NatsConnection,
    private readonly prefix: string,
    private readonly timeoutMs: number,
  ) {}

  async probe(node: string): Promise<ProbeResult> {
    if (this.nc.isClosed()) return 'unknown';
    try {
      await this.nc.request(probeSubject(this.prefix, node), EMPTY, { timeout: this.timeoutMs });
      return 'alive';
    } catch (err) {
      return isNoResponders(err) ? 'gone' : 'unknown';
    }
  }
}

/** Answers probes for `node` until the subscription is closed. */
export function answerProbes(nc: NatsConnection, prefix: string, node: string): Subscription {
  return nc.subscribe(probeSubject(prefix, node), {
    callback: (err, msg) => {
      if (err === null) msg.respond(EMPTY);
    },
  });
}

function isNoResponders(err: unknown): boolean {
  if (err instanceof errors.NoRespondersError) return true;
  const cause = (err as { cause?: unknown } | null)?.cause;
  return cause instanceof errors.NoRespondersError;
}
