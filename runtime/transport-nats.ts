import { connect } from '@nats-io/transport-node';
import type { ConnectionOptions, Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import { decodeFrame, encodeBatch, encodeMessage, encodeReply } from './envelope.js';
import { EnvelopeBatch } from './envelope-batch.js';
import { systemClock } from './clock.js';
import { Closed, InvalidArgument, NoRoute, ReelError } from './errors.js';
import type { Clock, Envelope, InboundSink, Reply, ShardId, Transport } from './types.js';

/** Subject prefix of every reel subject. */
export const DEFAULT_SUBJECT_PREFIX = 'reel';

/** Options of a `NatsTransport`. */
export interface NatsTransportOptions {
  /** First token(s) of every subject, so that clusters can share one NATS deployment. @default 'reel' */
  prefix?: string;
}

/** How to reach NATS: the client's own options, with `servers` required. */
export type NatsConnectOptions = ConnectionOptions & { servers: string | string[] };

/** Traffic counters of one transport, in frames and payload bytes. */
export interface NatsTransportStats {
  framesIn: number;
  framesOut: number;
  bytesIn: number;
  bytesOut: number;
  /** Inbound frames refused: undecodable, unknown version, or the wrong frame type. */
  malformed: number;
}

/**
 * Connects to NATS. Async stack traces are off: they cost an `Error` per publish and
 * request, and reel's hot path publishes a lot.
 */
export function connectNats(opts: NatsConnectOptions): Promise<NatsConnection> {
  return connect({ ...opts, noAsyncTraces: true });
}

// A single subject token: no separators, wildcards or whitespace.
const TOKEN_RE = /^[^.*>\s]+$/;

/**
 * The NATS transport: messages for shard S go to `<prefix>.s.<S>`, the answer to node N's
 * ask #k to `<prefix>.r.<N>.<incarnation>.<k>`, so one wildcard subscription per node receives
 * every answer and the ask id travels in the subject rather than in a correlation table. The
 * incarnation (unique to each run of a node) keeps a namesake process, say a node restarted
 * while its old self is cut off, from receiving answers meant for the other.
 * Deadlines travel as remaining ms, read against the node's monotonic clock on each side.
 * An ask to a shard nobody subscribes to comes back at once as the server's "no responders"
 * status, which becomes `NoRoute`.
 */
export class NatsTransport implements Transport {
  readonly name = 'nats';
  /** Counters, updated in place. */
  readonly stats: Readonly<NatsTransportStats>;
  /** Resolves when the transport or its connection closes; never rejects. */
  readonly closed: Promise<void | Error>;

  readonly #nc: NatsConnection;
  readonly #ownsConnection: boolean;
  readonly #prefix: string;
  readonly #stats: NatsTransportStats = { framesIn: 0, framesOut: 0, bytesIn: 0, bytesOut: 0, malformed: 0 };
  readonly #shards = new Map<ShardId, Subscription>();
  #sink: InboundSink | undefined;
  #replySub: Subscription | undefined;
  #nodeSub: Subscription | undefined;
  #replyPrefix = '';
  #clock: Clock = systemClock;
  #isClosed = false;
  #resolveClosed!: (v: void | Error) => void;

  /**
   * Wraps a connection. Unless `ownsConnection` (set by `NatsTransport.connect`), the caller
   * keeps owning it and `close()` leaves it open.
   */
  constructor(nc: NatsConnection, opts: NatsTransportOptions = {}, ownsConnection = false) {
    const prefix = opts.prefix ?? DEFAULT_SUBJECT_PREFIX;
    if (prefix === '' || !prefix.split('.').every((t) => TOKEN_RE.test(t))) {
      throw new InvalidArgument(`transport prefix '${prefix}' is not a valid subject prefix`, { fields: ['prefix'] });
    }
    this.#nc = nc;
    this.#ownsConnection = ownsConnection;
    this.#prefix = prefix;
    this.stats = this.#stats;
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));
    // The connection closing (by its owner, or after reconnects give up) closes the transport.
    nc.closed().then(
      (err) => this.#markClosed(err ?? undefined),
      (err: unknown) => this.#markClosed(err instanceof Error ? err : new Error(String(err))),
    );
  }

  /** Connects, and returns a transport that owns the connection and closes it on `close()`. */
  static async connect(connectOpts: NatsConnectOptions, opts: NatsTransportOptions = {}): Promise<NatsTransport> {
    const nc = await connectNats(connectOpts);
    try {
      return new NatsTransport(nc, opts, true);
    } catch (err) {
      await nc.close();
      throw err;
    }
  }

  async attach(nodeId: string, sink: InboundSink): Promise<void> {
    this.#checkOpen();
    if (!TOKEN_RE.test(nodeId)) {
      throw new InvalidArgument(`node id '${nodeId}' is not a single subject token`, { fields: ['nodeId'] });
    }
    if (this.#sink) throw new InvalidArgument('transport is already attached to a node', { node: nodeId });
    if (!TOKEN_RE.test(sink.incarnation)) throw new InvalidArgument(`incarnation '${sink.incarnation}' is not a single subject token`);
    this.#sink = sink;
    this.#clock = sink.clock;
    this.#replyPrefix = `${this.#prefix}.r.${nodeId}.${sink.incarnation}.`;
    // A callback, not an iterator: no queue and no extra microtask per answer.
    this.#replySub = this.#nc.subscribe(`${this.#replyPrefix}>`, { callback: (err, msg) => (err ? this.#subError(err) : this.#onReply(msg)) });
    // Messages to this node as a whole (scatter-gather, control) come on its node subject.
    this.#nodeSub = this.#nc.subscribe(this.#nodeSubject(nodeId), { callback: (err, msg) => (err ? this.#subError(err) : this.#onMessage(msg)) });
    await this.#nc.flush();
  }

  async host(shards: readonly ShardId[]): Promise<void> {
    this.#checkOpen();
    for (const shard of shards) {
      if (this.#shards.has(shard)) continue;
      const sub = this.#nc.subscribe(this.#shardSubject(shard), { callback: (err, msg) => (err ? this.#subError(err) : this.#onMessage(msg)) });
      this.#shards.set(shard, sub);
    }
    // Once flushed the server has the subscriptions: an ask sent after host() returns finds them.
    await this.#nc.flush();
  }

  async unhost(shards: readonly ShardId[]): Promise<void> {
    this.#checkOpen();
    for (const shard of shards) {
      this.#shards.get(shard)?.unsubscribe();
      this.#shards.delete(shard);
    }
    await this.#nc.flush();
  }

  sendToNode(node: string, env: Envelope, askId: number): void {
    if (!this.#sink) throw new InvalidArgument('an ask needs an attached transport');
    if (!TOKEN_RE.test(node)) throw new InvalidArgument(`node id '${node}' is not a single subject token`, { fields: ['node'] });
    this.#publish(this.#nodeSubject(node), encodeMessage(env, this.#clock.monoMs()), this.#replyPrefix + askId);
  }

  send(env: Envelope, askId?: number): void {
    const data = encodeMessage(env, this.#clock.monoMs());
    if (askId === undefined) {
      this.#publish(this.#shardSubject(env.shard), data);
    } else {
      if (!this.#sink) throw new InvalidArgument('an ask needs an attached transport');
      this.#publish(this.#shardSubject(env.shard), data, this.#replyPrefix + askId);
    }
  }

  sendBatch(shard: ShardId, batch: EnvelopeBatch | readonly Envelope[], askId?: number): void {
    const b = batch instanceof EnvelopeBatch ? batch : EnvelopeBatch.of(shard, batch);
    if (askId === undefined) {
      if (b.size > 0) this.#publish(this.#shardSubject(shard), encodeBatch(b, this.#clock.monoMs()));
      return;
    }
    if (!this.#sink) throw new InvalidArgument('an ask needs an attached transport');
    this.#publish(this.#shardSubject(shard), encodeBatch(b, this.#clock.monoMs()), this.#replyPrefix + askId);
  }

  reply(to: unknown, reply: Reply): void {
    if (typeof to !== 'string' || to === '') return;
    this.#publish(to, encodeReply(reply));
  }

  async flush(): Promise<void> {
    this.#checkOpen();
    await this.#nc.flush();
  }

  async close(): Promise<void> {
    if (this.#isClosed) return;
    for (const sub of this.#shards.values()) sub.unsubscribe();
    this.#shards.clear();
    this.#replySub?.unsubscribe();
    this.#replySub = undefined;
    this.#nodeSub?.unsubscribe();
    this.#nodeSub = undefined;
    if (this.#ownsConnection) {
      // drain delivers what is in flight and then closes; nc.closed() then marks us closed.
      await this.#nc.drain().catch(() => this.#nc.close());
    } else if (!this.#nc.isClosed()) {
      await this.#nc.flush().catch(() => {});
    }
    this.#markClosed(undefined);
  }

  #nodeSubject(node: string): string {
    return `${this.#prefix}.n.${node}`;
  }

  #shardSubject(shard: ShardId): string {
    return `${this.#prefix}.s.${shard}`;
  }

  #publish(subject: string, data: Uint8Array, reply?: string): void {
    this.#checkOpen();
    try {
      // A fresh options object each time: the client writes into it.
      this.#nc.publish(subject, data, reply === undefined ? undefined : { reply });
    } catch (err) {
      if (this.#nc.isClosed() || this.#nc.isDraining()) throw new Closed('NATS connection is closed', { cause: err });
      if (err instanceof ReelError) throw err;
      throw new InvalidArgument(`cannot publish to '${subject}': ${(err as Error).message}`, { cause: err });
    }
    this.#stats.framesOut++;
    this.#stats.bytesOut += data.length;
  }

  #onReply(msg: Msg): void {
    const sink = this.#sink;
    if (!sink) return;
    const subject = msg.subject;
    const token = subject.slice(subject.lastIndexOf('.') + 1);
    const askId = Number(token);
    this.#stats.framesIn++;
    this.#stats.bytesIn += msg.data.length;
    if (token === '' || !Number.isSafeInteger(askId)) return this.#malformed(`reply subject '${subject}' has no ask id`);
    let reply: Reply;
    // The server answers a publish whose subject has no subscriber with an empty message
    // carrying status 503 on the reply subject (nats.js asks for it in CONNECT: no_responders).
    if (msg.data.length === 0 && msg.headers?.code === 503) {
      reply = { node: '', epoch: 0, error: new NoRoute('no node hosts the shard (no responders)') };
    } else {
      let frame;
      try {
        frame = decodeFrame(msg.data, this.#clock.monoMs());
      } catch (err) {
        return this.#malformed(`reply ${askId}: ${(err as Error).message}`);
      }
      if (frame.type !== 'reply') return this.#malformed(`reply ${askId}: unexpected ${frame.type} frame`);
      reply = frame.reply;
    }
    // The sink must not throw; if it does, the NATS client's read loop must survive it.
    try {
      sink.settle(askId, reply);
    } catch (err) {
      this.#sinkThrew(err);
    }
  }

  #onMessage(msg: Msg): void {
    const sink = this.#sink;
    const data = msg.data;
    this.#stats.framesIn++;
    this.#stats.bytesIn += data.length;
    if (!sink) return;
    let frame;
    try {
      frame = decodeFrame(data, this.#clock.monoMs());
    } catch (err) {
      return this.#malformed(`on ${msg.subject}: ${(err as Error).message}`);
    }
    if (frame.type === 'message') {
      const reply = msg.reply;
      if (reply) frame.env.replyTo = reply;
      this.#deliver(sink, frame.env);
    } else if (frame.type === 'batch' && msg.reply) {
      try {
        sink.deliverAsks(frame.envs, msg.reply);
      } catch (err) {
        this.#sinkThrew(err);
      }
    } else if (frame.type === 'batch') {
      for (const env of frame.envs) this.#deliver(sink, env);
    } else {
      this.#malformed(`on ${msg.subject}: unexpected reply frame`);
    }
  }

  #deliver(sink: InboundSink, env: Envelope): void {
    try {
      // A refused tell has no one to tell over NATS (at-most-once); an ask's refusal goes via replyTo.
      sink.deliver(env);
    } catch (err) {
      this.#sinkThrew(err);
    }
  }

  #sinkThrew(err: unknown): void {
    // Not the peer's fault, but the only channel to report it on; the rest of a batch still goes through.
    this.#malformed(`inbound sink threw: ${err instanceof Error ? err.message : String(err)}`);
  }

  #subError(err: Error): void {
    // A subscription error (a permissions violation) comes with no message; report it, don't crash.
    this.#malformed(`subscription error: ${err.message}`);
  }

  #malformed(reason: string): void {
    this.#stats.malformed++;
    try {
      this.#sink?.malformed(reason);
    } catch {
      // the count above is kept; a throwing sink must not break the read loop
    }
  }

  #checkOpen(): void {
    if (this.#isClosed || this.#nc.isClosed()) throw new Closed('NATS transport is closed');
  }

  #markClosed(err: Error | undefined): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    this.#resolveClosed(err);
  }
}
