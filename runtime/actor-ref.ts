import type { AskOptions, Reply, ShardId, TellOptions } from './types.js';

/** What an `ActorRef` sends through: the actor system, with the shard already known. */
export interface RefSender {
  sendTell(kind: string, key: string, shard: ShardId, type: string, body: unknown, opts: TellOptions | undefined): void;
  sendAsk(kind: string, key: string, shard: ShardId, type: string, body: unknown, opts: AskOptions | undefined, full: boolean): Promise<unknown>;
}

/** An address with its shard computed once: the cheap way to send many messages. */
export class ActorRef {
  constructor(
    private readonly system: RefSender,
    readonly kind: string,
    readonly key: string,
    readonly shard: ShardId,
  ) {}

  tell(type: string, body?: unknown, opts?: TellOptions): void {
    this.system.sendTell(this.kind, this.key, this.shard, type, body, opts);
  }

  ask<R = unknown>(type: string, body?: unknown, opts?: AskOptions): Promise<R> {
    return this.system.sendAsk(this.kind, this.key, this.shard, type, body, opts, false) as Promise<R>;
  }

  /** Like `ask`, but resolves with the whole reply: value, answering node and epoch. */
  request<R = unknown>(type: string, body?: unknown, opts?: AskOptions): Promise<Reply<R>> {
    return this.system.sendAsk(this.kind, this.key, this.shard, type, body, opts, true) as Promise<Reply<R>>;
  }
}
