import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { decodeValue, encodeValue, HandedOverStore, type ActorSystem, type HandOverSource, type ShardId } from '../runtime/index.js';

/**
 * How long a new owner waits for an actor's state from the node that handed its shard off, in ms,
 * before reading the store instead (the old owner answers from memory: a slow answer means it is
 * busy or gone).
 */
export const HANDOVER_FETCH_MS = 500;

/** Where node `node` answers for what its cuts left. */
export function handOverSubject(prefix: string, node: string): string {
  return `${prefix}.handover.${node}`;
}

interface FetchBody {
  shard: number;
  epoch: number;
  kind: string;
  key: string;
}

/**
 * Both sides of a warm handoff over NATS, on the node's snapshot connection (state never queues in
 * front of the claims, renewals and asks of its main connection). As the old owner: keeps what each
 * cut left (`keep`, the `ShardHost.handOver` of the ownership) and answers for it by key, once per
 * actor, for `HANDED_OVER_TTL_MS`. As the new owner: `source` fetches an actor's state at its first
 * activation in a shard claimed right after a release (the runtime decides when).
 */
export class HandOver {
  private readonly kept = new HandedOverStore();
  private readonly sub: Subscription;

  constructor(
    private readonly nc: NatsConnection,
    private readonly prefix: string,
    private readonly system: () => ActorSystem,
    nodeId: string,
  ) {
    this.sub = nc.subscribe(handOverSubject(prefix, nodeId), {
      callback: (err, msg) => {
        if (err !== null) return;
        let answer: unknown = null;
        try {
          const b = decodeValue(msg.data) as Partial<FetchBody> | null;
          if (b !== null && typeof b === 'object' && typeof b.shard === 'number' && typeof b.epoch === 'number' && typeof b.kind === 'string' && typeof b.key === 'string') {
            const a = this.kept.take(b.shard, b.epoch, b.kind, b.key, this.system().clock.monoMs());
            if (a !== undefined) answer = [a.revision, a.bytes];
          }
        } catch {
          answer = null; // garbled: the asker reads the store
        }
        msg.respond(encodeValue(answer));
      },
    });
  }

  /** After a cut of `shard` under `epoch` wrote every actor: keeps their stored state; how many. */
  keep(shard: ShardId, epoch: number): number {
    const actors = this.system().takeHandedOver(shard) ?? [];
    this.kept.keep(shard, epoch, actors, this.system().clock.monoMs());
    return actors.length;
  }

  /** Actors kept, and actors given to next owners. */
  get stats(): { kept: number; served: number } {
    return { kept: this.kept.size, served: this.kept.served };
  }

  readonly source: HandOverSource = async (from, shard, epoch, kind, key) => {
    try {
      const m = await this.nc.request(handOverSubject(this.prefix, from), encodeValue({ shard, epoch, kind, key } satisfies FetchBody), { timeout: HANDOVER_FETCH_MS });
      const a = decodeValue(m.data);
      if (Array.isArray(a) && typeof a[0] === 'number' && a[1] instanceof Uint8Array) return { revision: a[0], bytes: a[1] };
    } catch {
      // Gone, busy past the wait, or no responders: the store has it.
    }
    return undefined;
  };

  close(): void {
    this.sub.unsubscribe();
  }
}
