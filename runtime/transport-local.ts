import { EnvelopeBatch } from './envelope-batch.js';
import { newEnvelope } from './envelope.js';
import { Closed, NoRoute } from './errors.js';
import type { Envelope, InboundSink, Reply, ShardId, Transport } from './types.js';

/** Where an in-process ask's answer goes. */
interface LocalReplyTo {
  sink: InboundSink;
  askId: number;
}

/**
 * The in-process broker: which node's sink hosts each shard. One hub can join several
 * in-process nodes; by default each transport has its own.
 */
export class LocalHub {
  readonly owners = new Map<ShardId, InboundSink>();
  readonly nodes = new Map<string, InboundSink>();
}

/**
 * In-process transport: envelopes are passed by reference, with no codec. The embedded
 * default, in which one node hosts every shard. Nodes sharing a hub normally share the
 * machine's clock; one with a clock of its own (a test's) gets a copy whose deadline is moved
 * onto its clock, as the wire would do.
 */
export class LocalTransport implements Transport {
  readonly name = 'local';
  private sink: InboundSink | null = null;
  private readonly mine = new Set<ShardId>();
  private isClosed = false;
  private resolveClosed!: (v: void | Error) => void;
  readonly closed = new Promise<void | Error>((r) => (this.resolveClosed = r));

  constructor(private readonly hub: LocalHub = new LocalHub()) {}

  private nodeId = '';

  async attach(nodeId: string, sink: InboundSink): Promise<void> {
    this.sink = sink;
    this.nodeId = nodeId;
    this.hub.nodes.set(nodeId, sink);
  }

  sendToNode(node: string, env: Envelope, askId: number): void {
    if (this.isClosed) throw new Closed('transport is closed');
    const sink = this.requireSink();
    const target = this.hub.nodes.get(node);
    if (target === undefined) {
      sink.settle(askId, { node: '', epoch: 0, error: new NoRoute(`no node '${node}' in this process`, { node }) });
      return;
    }
    const out = this.onClockOf(target, env);
    out.replyTo = { sink, askId } satisfies LocalReplyTo;
    target.deliver(out);
  }

  async host(shards: readonly ShardId[]): Promise<void> {
    const sink = this.requireSink();
    for (const s of shards) {
      this.hub.owners.set(s, sink);
      this.mine.add(s);
    }
  }

  async unhost(shards: readonly ShardId[]): Promise<void> {
    for (const s of shards) {
      if (this.hub.owners.get(s) === this.sink) this.hub.owners.delete(s);
      this.mine.delete(s);
    }
  }

  send(env: Envelope, askId?: number): void {
    if (this.isClosed) throw new Closed('transport is closed');
    const target = this.hub.owners.get(env.shard);
    if (askId === undefined) {
      if (target === undefined) throw noRoute(env);
      const refused = target.deliver(this.onClockOf(target, env));
      if (refused !== undefined) throw refused;
      return;
    }
    const sink = this.requireSink();
    if (target === undefined) {
      sink.settle(askId, { node: '', epoch: 0, error: noRoute(env) });
      return;
    }
    const to: LocalReplyTo = { sink, askId };
    const out = this.onClockOf(target, env);
    out.replyTo = to;
    target.deliver(out);
  }

  /** `env` as `target` reads it: itself, or a copy with its deadline on the target's clock. */
  private onClockOf(target: InboundSink, env: Envelope): Envelope {
    const sink = this.sink;
    if (env.deadline === 0 || sink === null || sink.clock === target.clock) return env;
    const deadline = env.deadline - sink.clock.monoMs() + target.clock.monoMs();
    return newEnvelope(env.id, env.kind, env.key, env.shard, env.epoch, env.type, deadline, env.trace, env.body);
  }

  sendBatch(shard: ShardId, batch: EnvelopeBatch | readonly Envelope[], askId?: number): void {
    if (askId === undefined) {
      const envs = batch instanceof EnvelopeBatch ? batch.envelopes() : batch;
      for (const env of envs) this.send(env);
      return;
    }
    if (this.isClosed) throw new Closed('transport is closed');
    const sink = this.requireSink();
    // Fresh envelopes: the receiver sets each one's replyTo, and the sender may resend the batch.
    const envs = (batch instanceof EnvelopeBatch ? batch : EnvelopeBatch.of(shard, batch)).envelopes();
    const target = this.hub.owners.get(shard);
    if (target === undefined) {
      sink.settle(askId, { node: '', epoch: 0, error: new NoRoute(`no node hosts shard ${shard}`, { shard }) });
      return;
    }
    target.deliverAsks(
      envs.map((e) => this.onClockOf(target, e)),
      { sink, askId } satisfies LocalReplyTo,
    );
  }

  reply(to: unknown, reply: Reply): void {
    const r = to as LocalReplyTo;
    r.sink.settle(r.askId, reply);
  }

  async flush(): Promise<void> {}

  async close(): Promise<void> {
    if (this.isClosed) return;
    await this.unhost([...this.mine]);
    if (this.hub.nodes.get(this.nodeId) === this.sink) this.hub.nodes.delete(this.nodeId);
    this.isClosed = true;
    this.resolveClosed();
  }

  private requireSink(): InboundSink {
    if (this.sink === null) throw new Closed('transport is not attached to a node');
    return this.sink;
  }
}

function noRoute(env: Envelope): NoRoute {
  return new NoRoute(`no node hosts shard ${env.shard} (${env.kind}/${env.key})`, { kind: env.kind, key: env.key, shard: env.shard });
}
