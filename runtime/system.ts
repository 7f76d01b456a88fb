import { randomBytes } from 'node:crypto';
import { Activation, type ActivationHost, type ActivationLimits } from './activation.js';
import { ActivationOrder } from './activation-order.js';
import { ActorRef } from './actor-ref.js';
import { AppliedWindow } from './applied-window.js';
import { AskRegistry, type PendingAsk } from './asks.js';
import { BatchReplies, BatchSlot, decodeOutcomes, failedOutcomes, type BatchAskMessage, type BatchOutcome } from './batch-ask.js';
import { Dispatcher } from './dispatcher.js';
import { Limiter } from './limiter.js';
import { Closed, errorToWire, InvalidArgument, isRetryable, NoRoute, StaleEpoch, toReelError, UnknownKind, type ReelError } from './errors.js';
import { newEnvelope } from './envelope.js';
import { EnvelopeBatch } from './envelope-batch.js';
import { IdSequence } from './id-sequence.js';
import { parseSystemOptions, type ResolvedSystemOptions, type SystemOptions } from './options.js';
import { allShards, shardOf } from './shard.js';
import { MemorySnapshotStore } from './snapshot-store-memory.js';
import { DurationHistogram, KindStats, SystemStats } from './stats.js';
import { LocalTransport } from './transport-local.js';
import { NODE_KIND } from './types.js';
import { FreshShards, type HandedOverActor, type HandOverSource } from './warm-handoff.js';
import type {
  ActivationEndReason, ActorFactory, AskOptions, Clock, Envelope, InboundSink, NodeAnswer, NodeHandler, Reply, RuntimeEvent, ShardId, ShardOwnership, Snapshot, SnapshotStore,
  StoredSnapshot, TellOptions, Transport,
} from './types.js';

/** Snapshot writes in flight at once during a handoff's pre-copy (`ActorSystem.precopy`). */
export const PRECOPY_IN_FLIGHT = 256;

/** A shard's set of parked asks is swept of ended ones when it reaches this size, then at each doubling. */
const PARKED_SWEEP_AT = 1024;

/** An actor system: options plus the transport and snapshot store it runs on. */
export interface ActorSystemConfig extends SystemOptions {
  /** How messages travel. @default a new in-process `LocalTransport` */
  transport?: Transport;
  /** Where snapshots live. @default a new in-memory store */
  store?: SnapshotStore;
  /** Who may serve which shard under which epoch (the cluster). @default every hosted shard, epoch 0 */
  ownership?: ShardOwnership;
  /** Receives activation and snapshot facts, as they happen. */
  onEvent?: (e: RuntimeEvent) => void;
  /** Test hooks: fault injection, never set in production. */
  hooks?: SystemHooks;
  /** With `warmHandoff`: where the first activations of a shard just claimed from a release fetch their state. */
  handOverSource?: HandOverSource;
}

/** Fault injection for tests. */
export interface SystemHooks {
  /** Return true to drop the answer to this ask after its handler ran (a lost reply). */
  dropReply?(env: Envelope): boolean;
}

/** One message of a `tellBatch`. */
export interface BatchMessage {
  kind: string;
  key: string;
  type: string;
  body?: unknown;
}

interface KindEntry {
  factory: ActorFactory;
  acts: Map<string, Activation>;
  stats: KindStats;
  /** Message types whose asks are not remembered (`register`'s `reads`). */
  reads: ReadonlySet<string>;
  /** `register`'s `persistsLast`. */
  persistsLast: boolean;
}

/**
 * The actors of one node: it hosts some shards, activates actors on demand when a
 * message reaches one of them, and sends tells and asks through its transport.
 */
export class ActorSystem implements InboundSink, ActivationHost {
  readonly options: ResolvedSystemOptions;
  readonly nodeId: string;
  /** Unique to this run of the node: in reply subjects, message ids and activation ids. */
  readonly incarnation: string;
  readonly clock: Clock;
  readonly transport: Transport;
  readonly store: SnapshotStore;
  readonly dispatcher: Dispatcher;
  readonly stats = new SystemStats();
  readonly ownership: ShardOwnership | undefined;
  private readonly onEvent: ((e: RuntimeEvent) => void) | undefined;
  private readonly hooks: SystemHooks | undefined;
  private readonly ownsStore: boolean;
  private readonly kinds = new Map<string, KindEntry>();
  private readonly nodeHandlers = new Map<string, NodeHandler>();
  /** Every activation, least recently used first. */
  private readonly order: ActivationOrder;
  private readonly limits: ActivationLimits;
  private readonly asks: AskRegistry;
  private readonly snapshotWrites: Limiter;
  private readonly hosted: Uint8Array;
  /** The highest owner epoch seen in a reply, per shard: an answer from an older owner is stale. */
  private readonly repliedEpochs: Float64Array;
  /** Refused asks waiting to be sent again, by shard: sent at once when the shard's new owner is known. */
  private readonly parked = new Map<ShardId, Set<number>>();
  /** The owner epoch last announced per shard (`ownerKnown`): a different one is a new owner. */
  private readonly knownRoutes: Float64Array;
  /** Shards claimed right after a release, whose actors' first activations may fetch what the old owner's cut left. */
  readonly fresh = new FreshShards();
  /** Where those are fetched (the cluster's `HandOverSource`); none: every activation reads the store. */
  private readonly handOverSource: HandOverSource | undefined;
  /** Whether this node keeps its actors' stored snapshots and hands them over (`warmHandoff`, and a store that can). */
  readonly keepsStored: boolean;
  /** Shards being cut here: the stored state of each actor that passivates cleanly, for the next owner. */
  private readonly handing = new Map<ShardId, HandedOverActor[]>();
  /** Activations that ended while a handler still ran, by `kind NUL key`: their successor waits. */
  private readonly lingering = new Map<string, Activation>();
  private activeCount = 0;
  private activationSeq = 0;
  readonly recencySlack: number;
  private readonly ids: IdSequence;
  private idleTimer: NodeJS.Timeout | null = null;
  private state: 'new' | 'running' | 'stopping' | 'stopped' = 'new';

  constructor(config: ActorSystemConfig = {}) {
    const { transport, store, ownership, onEvent, hooks, handOverSource, ...opts } = config;
    this.options = parseSystemOptions(opts);
    this.clock = this.options.clock;
    this.ownership = ownership;
    this.onEvent = onEvent;
    this.hooks = hooks;
    this.nodeId = this.options.nodeId;
    this.incarnation = randomBytes(6).toString('base64url').replace(/[-_]/g, 'x');
    this.transport = transport ?? new LocalTransport();
    this.ownsStore = store === undefined;
    this.store = store ?? new MemorySnapshotStore();
    this.keepsStored = this.options.warmHandoff && this.store.saveEncoded !== undefined && this.store.decode !== undefined;
    this.handOverSource = this.keepsStored ? handOverSource : undefined;
    this.dispatcher = new Dispatcher(this.options.throughputPerTurn);
    this.limits = { mailboxCapacity: this.options.mailboxCapacity, maxConsecutiveFailures: this.options.maxConsecutiveFailures };
    this.asks = new AskRegistry(this.clock, this.options.askSweepMs, (id, p) => this.resend(id, p));
    this.hosted = new Uint8Array(this.options.shardCount);
    this.repliedEpochs = new Float64Array(this.options.shardCount);
    this.knownRoutes = new Float64Array(this.options.shardCount);
    this.snapshotWrites = new Limiter(this.options.maxConcurrentSnapshotWrites);
    this.recencySlack = Math.max(1, Math.floor(this.options.maxActiveActors / 8));
    this.order = new ActivationOrder();
    this.ids = new IdSequence(`${this.nodeId}.${this.incarnation}.`);
    ownership?.onShardOwned?.((shard) => this.ownerKnown(shard));
  }

  /**
   * Registers an actor kind. `reads` names message types that change nothing: their asks are
   * not remembered for deduplication (a copy of one simply runs again), so that a hot read path
   * (a recommendation) keeps no answers in memory, and they leave nothing for a handoff to write.
   * `persistsLast` promises that a handler which calls `persist` changes nothing after its last
   * call: its state is then known to be written, and a handoff does not write it again. Without
   * it, a handler's changes count as unwritten until the next write that starts after it ends.
   */
  register(kind: string, factory: ActorFactory, opts: { reads?: readonly string[]; persistsLast?: boolean } = {}): this {
    if (!kind) throw new InvalidArgument('actor kind must be a non-empty string', { fields: ['kind'] });
    if (this.kinds.has(kind)) throw new InvalidArgument(`actor kind '${kind}' is already registered`, { fields: ['kind'] });
    const stats = new KindStats();
    if (this.options.recordDurations) stats.durations = new DurationHistogram();
    this.kinds.set(kind, { factory, acts: new Map(), stats, reads: new Set(opts.reads ?? []), persistsLast: opts.persistsLast === true });
    return this;
  }

  /** Registers how this node answers a scatter-gather of `type`, for the shards it serves. */
  registerNodeHandler(type: string, handler: NodeHandler): this {
    if (this.nodeHandlers.has(type)) throw new InvalidArgument(`node handler '${type}' is already registered`, { fields: ['type'] });
    this.nodeHandlers.set(type, handler);
    return this;
  }

  /**
   * Asks one node as a whole; it answers with the shards it served and its handler's value.
   * Sent once, never resent: node handlers are not deduplicated.
   */
  askNode<R = unknown>(node: string, type: string, body?: unknown, opts?: AskOptions): Promise<NodeAnswer<R>> {
    return this.sendAsk(NODE_KIND, node, 0, type, body, opts, false) as Promise<NodeAnswer<R>>;
  }

  /** Shards this node hosts and may serve now. */
  servedShards(): ShardId[] {
    const own = this.ownership;
    if (own === undefined) return this.hostedShards();
    const now = this.clock.monoMs();
    return this.hostedShards().filter((s) => own.servingEpoch(s, now) > 0);
  }

  /** Attaches the transport and hosts `shards` (default: every shard). */
  async start(shards: readonly ShardId[] = allShards(this.options.shardCount)): Promise<this> {
    if (this.state !== 'new') throw new InvalidArgument(`actor system ${this.nodeId} was already started`);
    this.state = 'running';
    await this.transport.attach(this.nodeId, this);
    await this.host(shards);
    if (this.options.idlePassivateMs > 0 || this.options.dedupMaxEntries > 0) {
      this.idleTimer = setInterval(() => this.sweepIdle(), this.options.idleSweepMs);
      this.idleTimer.unref();
    }
    return this;
  }

  /** Starts receiving messages for these shards. */
  async host(shards: readonly ShardId[]): Promise<void> {
    for (const s of shards) {
      if (!Number.isInteger(s) || s < 0 || s >= this.options.shardCount) {
        throw new InvalidArgument(`shard ${s} is outside 0-${this.options.shardCount - 1}`, { fields: ['shards'] });
      }
    }
    for (const s of shards) this.hosted[s] = 1;
    if (this.handOverSource !== undefined) {
      const now = this.clock.monoMs();
      for (const s of shards) this.fresh.hosted(s, this.ownership?.claimedFromRelease?.(s), now);
    }
    await this.transport.host(shards);
  }

  /**
   * Planned handoff of these shards: stops receiving their messages, passivates their actors and
   * waits until every snapshot is written or `timeoutMs` passes. Returns how many actors could not
   * be written (a store error, a snapshot too large): the caller must not give the shards away then.
   */
  async unhost(shards: readonly ShardId[], timeoutMs?: number): Promise<number> {
    for (const s of shards) {
      this.hosted[s] = 0;
      this.fresh.drop(s);
      if (this.keepsStored) this.handing.set(s, []);
    }
    // What arrives before the server drops the subscriptions is refused (the shards are no longer
    // hosted), so the actors passivate while the unsubscribe goes out, not after its round trip.
    // A release written after this on the same connection reaches the server after the unsubscribe.
    const unsubscribed = this.transport.unhost(shards).catch(() => undefined); // a cut-off connection has dropped them anyway
    const gone = new Set(shards);
    const left = await this.passivateWhere((a) => gone.has(a.shard), timeoutMs);
    await unsubscribed;
    // Not every actor written: the shard stays (rolled back), and nothing is handed over.
    if (left !== 0) for (const s of shards) this.handing.delete(s);
    return left;
  }

  /**
   * After `unhost` of `shard` (every actor written): the stored state of each actor that ended in
   * the cut, for the shard's next owner (its `HandOverSource` fetches them). Once; undefined when
   * this node keeps no stored snapshots (`warmHandoff`) or the cut did not complete.
   */
  takeHandedOver(shard: ShardId): HandedOverActor[] | undefined {
    const h = this.handing.get(shard);
    this.handing.delete(shard);
    return h;
  }
  /**
   * A handoff's pre-copy: writes the state of every actor of these shards that changed since its
   * last write, between its handlers, while the shards keep serving, at most `inFlight` writes at a
   * time. The cut that follows (`unhost`) then writes only what changed meanwhile. Never throws;
   * resolves with how many were written.
   */
  async precopy(shards: readonly ShardId[], inFlight = PRECOPY_IN_FLIGHT): Promise<number> {
    const wanted = new Set(shards);
    const acts: Activation[] = [];
    for (const act of this.order) if (wanted.has(act.shard) && act.changed) acts.push(act);
    // Bounded here, not only by the store's limiter: a queued save holds its actor's mailbox.
    const limit = new Limiter(inFlight);
    const saved = await Promise.all(acts.map((act) => limit.run(() => new Promise<boolean>((done) => act.requestSave(done)))));
    return saved.filter(Boolean).length;
  }

  /**
   * Stops receiving messages for these shards and drops their activations without writing
   * anything: this node lost them (lease ran out, or another node took over). Never throws.
   */
  async abandonShards(shards: readonly ShardId[]): Promise<void> {
    await this.stopReceiving(shards, true);
  }

  private async stopReceiving(shards: readonly ShardId[], abandon: boolean): Promise<void> {
    for (const s of shards) {
      this.hosted[s] = 0;
      this.handing.delete(s);
      this.fresh.drop(s);
    }
    // After the shards stop being hosted: what an abandoned activation leaves is refused, not redelivered here.
    if (abandon) {
      const gone = new Set(shards);
      for (const act of [...this.order]) if (gone.has(act.shard)) act.abandonNow();
    }
    await this.transport.unhost(shards).catch(() => undefined);
  }

  /**
   * Stops receiving messages for these shards but keeps their activations, idle: the node was cut
   * off from NATS and may take the shards back unchanged (`carryOn`). Until then they may do
   * nothing (every act checks the lease first, and one that runs ends without a write). Never throws.
   */
  async parkShards(shards: readonly ShardId[]): Promise<void> {
    await this.stopReceiving(shards, false);
  }

  /**
   * A parked shard taken back from the entry this node had written, under `epoch`: its activations
   * go on under that epoch (see `Activation.carryOn`). Returns how many did; host the shard after.
   */
  carryOn(shard: ShardId, epoch: number): number {
    let n = 0;
    for (const act of this.order) if (act.shard === shard && act.carryOn(epoch)) n++;
    return n;
  }

  /** Shards this node hosts. */
  hostedShards(): ShardId[] {
    const out: ShardId[] = [];
    for (let s = 0; s < this.hosted.length; s++) if (this.hosted[s]) out.push(s);
    return out;
  }

  ref(kind: string, key: string): ActorRef {
    return new ActorRef(this, kind, key, shardOf(kind, key, this.options.shardCount));
  }

  /** Fire-and-forget, at most once. In process, a full mailbox or unhosted shard throws at once. */
  tell(kind: string, key: string, type: string, body?: unknown, opts?: TellOptions): void {
    this.sendTell(kind, key, shardOf(kind, key, this.options.shardCount), type, body, opts);
  }

  /** Request/reply: the handler's answer, or a typed error (`NoRoute`, `DeadlineExceeded`, `Overloaded`, the handler's own). */
  ask<R = unknown>(kind: string, key: string, type: string, body?: unknown, opts?: AskOptions): Promise<R> {
    return this.sendAsk(kind, key, shardOf(kind, key, this.options.shardCount), type, body, opts, false) as Promise<R>;
  }

  /** Like `ask`, but resolves with the whole reply: value, answering node and epoch. */
  request<R = unknown>(kind: string, key: string, type: string, body?: unknown, opts?: AskOptions): Promise<Reply<R>> {
    return this.sendAsk(kind, key, shardOf(kind, key, this.options.shardCount), type, body, opts, true) as Promise<Reply<R>>;
  }

  /** Many tells, one frame per shard (training pushes, ingestion), each stamped with its shard's owner epoch. */
  tellBatch(msgs: readonly BatchMessage[], opts?: TellOptions): void {
    const deadline = this.tellDeadline(opts);
    const trace = opts?.trace ?? '';
    const shardCount = this.options.shardCount;
    const own = this.ownership;
    const byShard = new Map<ShardId, EnvelopeBatch>();
    for (const m of msgs) {
      const shard = shardOf(m.kind, m.key, shardCount);
      let b = byShard.get(shard);
      if (b === undefined) byShard.set(shard, (b = new EnvelopeBatch(shard, deadline, trace, own?.routeEpoch(shard) ?? 0)));
      b.add(m.kind, m.key, m.type, m.body);
    }
    this.stats.tellsSent += msgs.length;
    // Each shard's messages take a range of ids, which its frame carries as one number.
    for (const b of byShard.values()) {
      b.numberIds(this.ids.prefix, this.ids.take(b.size));
      this.transport.sendBatch(b.shard, b);
    }
  }

  /**
   * Many asks, one frame per shard, each frame answered by one reply: for loads that must not
   * lose what they send, without an ask per message. Resolves with one outcome per message, in
   * order, and never rejects. A frame is resent as an ask is (same message ids: each message is
   * applied once); a message refused on its own (its shard moved meanwhile, a full mailbox)
   * fails alone, and the caller may send it again with its `id`.
   */
  async askBatch<R = unknown>(msgs: readonly BatchAskMessage[], opts?: Omit<AskOptions, 'id'>): Promise<BatchOutcome<R>[]> {
    if (this.state !== 'running') return failedOutcomes(msgs.length, new Closed(`actor system ${this.nodeId} is not running`));
    let deadline: number;
    try {
      deadline = this.clock.monoMs() + this.askDeadlineMs(opts?.deadlineMs);
    } catch (err) {
      return failedOutcomes(msgs.length, err as ReelError);
    }
    const trace = opts?.trace ?? '';
    const shardCount = this.options.shardCount;
    const byShard = new Map<ShardId, { batch: EnvelopeBatch; ids: string[]; at: number[] }>();
    for (let i = 0; i < msgs.length; i++) {
      const m = msgs[i]!;
      const shard = shardOf(m.kind, m.key, shardCount);
      let g = byShard.get(shard);
      if (g === undefined) byShard.set(shard, (g = { batch: new EnvelopeBatch(shard, deadline, trace), ids: [], at: [] }));
      g.batch.add(m.kind, m.key, m.type, m.body);
      g.ids.push(m.id ?? this.ids.next());
      g.at.push(i);
    }
    const out = new Array<BatchOutcome<R>>(msgs.length);
    await Promise.all(
      [...byShard.values()].map(async ({ batch, ids, at }) => {
        batch.idSuffixes = ids;
        const outcomes = await this.sendBatchAsk<R>(batch, deadline).catch((err: unknown) => failedOutcomes<R>(at.length, toReelError(err)));
        for (let j = 0; j < at.length; j++) out[at[j]!] = outcomes[j]!;
      }),
    );
    return out;
  }

  /** One frame of an `askBatch`, registered as one ask whose answer is the list of outcomes. */
  private sendBatchAsk<R>(batch: EnvelopeBatch, deadline: number): Promise<BatchOutcome<R>[]> {
    const n = batch.size;
    const ids = batch.idSuffixes as string[];
    // Stands for the whole frame in the registry and in its errors: "ask batch of 64 to user/42 (shard 3)".
    const kind = typeof batch.kinds === 'string' ? batch.kinds : batch.kinds[0]!;
    const head = this.envelope(kind, batch.keys[0]!, batch.shard, `batch of ${n}`, undefined, ids[0]!, deadline, batch.traces as string);
    const attempt = this.options.askAttemptTimeoutMs;
    const { id, promise } = this.asks.open<BatchOutcome<R>[]>(head, deadline, false, attempt > 0 ? this.clock.monoMs() + attempt : deadline, batch);
    this.stats.asksSent += n;
    this.sendAttempt(id, head, batch);
    return promise;
  }

  /** @internal used by `ActorRef`. */
  sendTell(kind: string, key: string, shard: ShardId, type: string, body: unknown, opts: TellOptions | undefined): void {
    this.requireRunning();
    const env = this.envelope(kind, key, shard, type, body, opts?.id ?? this.ids.next(), this.tellDeadline(opts), opts?.trace ?? '');
    this.stats.tellsSent++;
    this.transport.send(env);
  }

  /** @internal used by `ActorRef`. */
  sendAsk(kind: string, key: string, shard: ShardId, type: string, body: unknown, opts: AskOptions | undefined, full: boolean): Promise<unknown> {
    if (this.state !== 'running') return Promise.reject(new Closed(`actor system ${this.nodeId} is not running`));
    const now = this.clock.monoMs();
    let deadline: number;
    try {
      deadline = now + this.askDeadlineMs(opts?.deadlineMs);
    } catch (err) {
      return Promise.reject(err);
    }
    const env = this.envelope(kind, key, shard, type, body, opts?.id ?? this.ids.next(), deadline, opts?.trace ?? '');
    // Node handlers are not deduplicated: a node-addressed ask is sent once.
    const attempt = kind === NODE_KIND ? 0 : this.options.askAttemptTimeoutMs;
    const { id, promise } = this.asks.open(env, deadline, full, attempt > 0 ? now + attempt : deadline);
    this.stats.asksSent++;
    this.sendAttempt(id, env);
    return promise;
  }

  /** An ask's deadline in ms from now: capped by `maxAskDeadlineMs`, which 0 asks for. */
  private askDeadlineMs(ms: number | undefined): number {
    const max = this.options.maxAskDeadlineMs;
    if (ms === undefined) return Math.min(this.options.askTimeoutMs, max);
    if (!(ms >= 0)) throw new InvalidArgument(`deadlineMs must be >= 0 (got ${ms})`, { fields: ['deadlineMs'] });
    return ms === 0 ? max : Math.min(ms, max);
  }

  private tellDeadline(opts: TellOptions | undefined): number {
    const ms = opts?.deadlineMs ?? 0;
    return ms > 0 ? this.clock.monoMs() + ms : 0;
  }

  /** Sends one attempt of an ask (or of a batch of asks), stamped with the owner epoch this node knows now. */
  private sendAttempt(id: number, env: Envelope, batch?: EnvelopeBatch): void {
    try {
      if (env.kind === NODE_KIND) {
        this.transport.sendToNode(env.key, env, id);
        return;
      }
      if (this.ownership !== undefined) env.epoch = this.ownership.routeEpoch(env.shard);
      if (batch !== undefined) {
        batch.epochs = env.epoch;
        this.transport.sendBatch(env.shard, batch, id);
        return;
      }
      this.transport.send(env, id);
    } catch (err) {
      this.settle(id, { node: '', epoch: 0, error: err as ReelError });
    }
  }

  /** An ask woken before its deadline: no answer within the attempt timeout, or a retry after backoff. */
  private resend(id: number, p: PendingAsk): void {
    if (this.state !== 'running' || p.env.kind === NODE_KIND) return;
    if (p.parked) {
      p.parked = false;
      this.parked.get(p.env.shard)?.delete(id);
    }
    p.attempts++;
    this.stats.askRetries++;
    const attempt = this.options.askAttemptTimeoutMs;
    this.asks.wakeAt(id, p, attempt > 0 ? this.clock.monoMs() + attempt : p.deadline);
    this.sendAttempt(id, p.env, p.batch);
  }

  private envelope(kind: string, key: string, shard: ShardId, type: string, body: unknown, id: string, deadline: number, trace: string): Envelope {
    return newEnvelope(id, kind, key, shard, this.ownership?.routeEpoch(shard) ?? 0, type, deadline, trace, body);
  }

  private requireRunning(): void {
    if (this.state !== 'running') throw new Closed(`actor system ${this.nodeId} is not running`);
  }

  // ---- InboundSink ----

  deliver(env: Envelope): ReelError | undefined {
    const entry = this.kinds.get(env.kind);
    if (entry === undefined) {
      if (env.kind === NODE_KIND) return this.deliverToNode(env);
      this.stats.unknownKind++;
      return this.refuse(env, new UnknownKind(`node ${this.nodeId} has no actor kind '${env.kind}'`, { kind: env.kind, key: env.key, node: this.nodeId }));
    }
    const shard = env.shard;
    let act = entry.acts.get(env.key);
    // A live activation's shard was checked against the hash when it was created, so
    // comparing with it is the same check as hashing the address again, and cheaper.
    if (this.hosted[shard] !== 1 || (act !== undefined ? act.shard : shardOf(env.kind, env.key, this.options.shardCount)) !== shard) {
      return this.refuse(env, new NoRoute(`node ${this.nodeId} does not host shard ${shard} (${env.kind}/${env.key})`, { kind: env.kind, key: env.key, shard, node: this.nodeId }));
    }
    const own = this.ownership;
    if (own !== undefined) {
      const epoch = own.servingEpoch(shard, this.clock.monoMs());
      if (epoch === 0) {
        return this.refuse(env, new NoRoute(`node ${this.nodeId} does not serve shard ${shard} now (${env.kind}/${env.key})`, { kind: env.kind, key: env.key, shard, node: this.nodeId }));
      }
      // Every message names the owner epoch its sender routed by (0: it knew of no owner).
      if (env.epoch !== epoch) {
        this.stats.staleEpochs++;
        return this.refuse(env, new StaleEpoch(`message for shard ${shard} names epoch ${env.epoch}; node ${this.nodeId} serves epoch ${epoch}`, { kind: env.kind, key: env.key, shard, node: this.nodeId }));
      }
      if (act !== undefined && act.epoch !== epoch) {
        // Left from an earlier epoch of this node's: it must not run under the new one.
        act.abandonNow();
        act = entry.acts.get(env.key);
      }
      act ??= this.activate(entry, env.kind, env.key, shard, epoch);
    } else if (act === undefined) {
      act = this.activate(entry, env.kind, env.key, shard, 0);
    }
    const refused = act.accept(env);
    return refused === undefined ? undefined : this.refuse(env, refused);
  }

  private deliverToNode(env: Envelope): ReelError | undefined {
    const handler = this.nodeHandlers.get(env.type);
    if (handler === undefined) {
      return this.refuse(env, new InvalidArgument(`node ${this.nodeId} has no node handler '${env.type}'`, { node: this.nodeId }));
    }
    const shards = this.servedShards();
    void (async () => {
      try {
        const value = await handler(shards, env.body);
        if (env.replyTo !== undefined) this.answer(env, { node: this.nodeId, shards, value } satisfies NodeAnswer, undefined, 0);
      } catch (err) {
        if (env.replyTo !== undefined) this.answer(env, undefined, toReelError(err, { node: this.nodeId }), 0);
      }
    })();
    return undefined;
  }

  deliverAsks(envs: Envelope[], replyTo: unknown): void {
    const replies = new BatchReplies(envs.length, (value, epoch) => this.transport.reply(replyTo, { node: this.nodeId, epoch, value }));
    for (let i = 0; i < envs.length; i++) {
      const env = envs[i]!;
      env.replyTo = new BatchSlot(replies, i);
      this.deliver(env);
    }
  }

  settle(askId: number, reply: Reply): void {
    const p = this.asks.get(askId);
    if (p === undefined) return;
    const own = this.ownership;
    const shard = p.env.shard;
    if (own !== undefined && p.env.kind !== NODE_KIND && reply.epoch > 0) {
      // An answer from an owner older than one already seen (or now routed to) may rest on state
      // the newer owner does not have: drop it, and ask the current owner.
      const newest = Math.max(this.repliedEpochs[shard]!, own.routeEpoch(shard));
      if (reply.epoch < newest) {
        this.stats.staleReplies++;
        this.retryLater(askId, p);
        return;
      }
      if (reply.epoch > this.repliedEpochs[shard]!) this.repliedEpochs[shard] = reply.epoch;
    }
    const err = reply.error;
    if (err !== undefined) {
      // Only a cluster moves shards; with a static placement NoRoute is final at once.
      if (own !== undefined && isRetryable(err.code) && this.state === 'running' && p.env.kind !== NODE_KIND && this.retryLater(askId, p)) return;
      this.stats.asksFailed++;
      if (err.code === 'NoRoute' && err.shard === undefined) {
        const e = p.env;
        reply = { ...reply, error: new NoRoute(`no node hosts shard ${e.shard} (${e.kind}/${e.key})`, { kind: e.kind, key: e.key, shard: e.shard, cause: err }) };
      }
    } else if (p.batch !== undefined) {
      try {
        reply = { ...reply, value: decodeOutcomes(reply.value, p.batch.size) };
      } catch (e) {
        reply = { ...reply, error: toReelError(e) };
      }
    }
    this.asks.settle(askId, reply);
  }

  /**
   * Sends the ask again after a backoff that doubles per attempt, or as soon as this node learns a
   * new owner of its shard (`ownerKnown`), whichever comes first; false when its deadline comes first.
   * A shard dark while it moves is served again the moment its new owner claims it: its asks go
   * then, not up to a whole backoff later.
   */
  private retryLater(askId: number, p: PendingAsk): boolean {
    const backoff = Math.min(this.options.retryBackoffMaxMs, this.options.retryBackoffMs * 2 ** Math.min(p.attempts - 1, 16));
    const now = this.clock.monoMs();
    const at = now + backoff;
    if (at >= p.deadline) return false;
    const routed = this.ownership?.routeEpoch(p.env.shard) ?? 0;
    if (routed !== 0 && routed !== p.env.epoch) {
      // The owner changed since this attempt went out: the next one goes now, to it.
      p.attempts = 0;
      this.stats.askRetriesOnOwner++;
      this.asks.wakeAt(askId, p, now);
      return true;
    }
    this.asks.wakeAt(askId, p, at);
    if (this.ownership?.onShardOwned !== undefined) {
      p.parked = true;
      let ids = this.parked.get(p.env.shard);
      if (ids === undefined) this.parked.set(p.env.shard, (ids = new Set()));
      ids.add(askId);
      // Asks that ended while parked (their deadline, a late answer) leave their id: a shard with
      // no owner for long would keep them all, so they are swept out as the set doubles.
      if (ids.size >= PARKED_SWEEP_AT && (ids.size & (ids.size - 1)) === 0) {
        for (const id of ids) if (this.asks.get(id)?.parked !== true) ids.delete(id);
      }
    }
    return true;
  }

  /**
   * A shard's owner is known (a claim, or a renewal): when it is a new owner, the asks refused while
   * the shard moved go to it now, their backoff reset, and so do the asks whose last attempt went to
   * an earlier owner and is still unanswered: sent while the old owner's subscription was going
   * away, such an attempt reached nobody and would wait out the attempt timeout.
   */
  private ownerKnown(shard: ShardId): void {
    const route = this.ownership?.routeEpoch(shard) ?? 0;
    const changed = route !== 0 && route !== this.knownRoutes[shard];
    if (changed) this.knownRoutes[shard] = route;
    const ids = this.parked.get(shard);
    if (ids === undefined && !changed) return;
    this.parked.delete(shard);
    if (this.state !== 'running') return;
    for (const id of ids ?? []) {
      const p = this.asks.get(id);
      // Ended meanwhile (answered, past its deadline).
      if (p === undefined || !p.parked) continue;
      p.attempts = 0;
      this.stats.askRetriesOnOwner++;
      this.resend(id, p);
    }
    if (!changed || this.options.askAttemptTimeoutMs === 0) return;
    const stale: Array<[number, PendingAsk]> = [];
    for (const [id, p] of this.asks.entries()) {
      if (p.env.shard === shard && !p.parked && p.env.kind !== NODE_KIND && p.env.epoch !== route) stale.push([id, p]);
    }
    for (const [id, p] of stale) {
      p.attempts = 0;
      this.stats.askRetriesOnOwner++;
      this.resend(id, p);
    }
  }

  malformed(reason: string): void {
    this.stats.malformed++;
    this.onEvent?.({ type: 'malformed', node: this.nodeId, reason, mono: this.clock.monoMs() });
  }

  private refuse(env: Envelope, err: ReelError): ReelError | undefined {
    if (env.replyTo === undefined) return err;
    this.answer(env, undefined, err, 0);
    return undefined;
  }

  // ---- ActivationHost ----

  nextUse(): number {
    return this.order.nextUse();
  }

  newWindow(): AppliedWindow | null {
    const o = this.options;
    return o.dedupMaxEntries > 0 ? new AppliedWindow(o.dedupMaxEntries, o.dedupMarginMs, o.maxAskDeadlineMs) : null;
  }

  nextActivationSeq(): number {
    return ++this.activationSeq;
  }

  activationId(seq: number): string {
    return `${this.nodeId}.${this.incarnation}.${seq}`;
  }

  loadSnapshot(kind: string, key: string): Promise<StoredSnapshot> {
    if (!this.fresh.empty) {
      const shard = shardOf(kind, key, this.options.shardCount);
      const at = this.fresh.firstLoad(shard, kind, key, this.clock.monoMs());
      if (at !== undefined) return this.loadHandedOver(at.from, shard, at.epoch, kind, key);
    }
    return this.store.load(kind, key);
  }

  /** An actor's first activation in a shard just claimed from a release: what the old owner's cut left, else the store. */
  private async loadHandedOver(from: string, shard: ShardId, epoch: number, kind: string, key: string): Promise<StoredSnapshot> {
    const got = await this.handOverSource!(from, shard, epoch, kind, key);
    if (got !== undefined) {
      try {
        const snapshot = this.store.decode!(got.bytes);
        this.fresh.loads++;
        return { snapshot, revision: got.revision, bytes: got.bytes };
      } catch {
        // Garbled on the way: the store has it.
      }
    }
    return this.store.load(kind, key);
  }

  saveSnapshot(kind: string, key: string, snap: Snapshot, expectedRevision: number): Promise<{ revision: number; bytes?: Uint8Array }> {
    if (this.keepsStored) return this.snapshotWrites.run(() => this.store.saveEncoded!(kind, key, snap, expectedRevision));
    return this.snapshotWrites.run(async () => ({ revision: await this.store.save(kind, key, snap, expectedRevision) }));
  }

  reroute(env: Envelope): void {
    this.deliver(env);
  }

  event(e: RuntimeEvent): void {
    this.onEvent?.(e);
  }

  answer(env: Envelope, value: unknown, error: ReelError | undefined, epoch: number): void {
    if (this.hooks?.dropReply?.(env)) return;
    const to = env.replyTo;
    if (to instanceof BatchSlot) {
      to.replies.put(to.index, value, error && errorToWire(error, this.nodeId), epoch);
      return;
    }
    const reply: Reply = error === undefined ? { node: this.nodeId, epoch, value } : { node: this.nodeId, epoch, error };
    this.transport.reply(env.replyTo, reply);
  }

  ended(act: Activation, leftover: Envelope[], reason: ActivationEndReason): void {
    const handing = reason === 'passivated' && this.handing.size > 0 ? this.handing.get(act.shard) : undefined;
    if (handing !== undefined) {
      const st = act.handOverState();
      if (st !== undefined) handing.push({ kind: act.kind, key: act.key, revision: st.revision, bytes: st.bytes });
    }
    const entry = this.kinds.get(act.kind)!;
    if (entry.acts.get(act.key) === act) entry.acts.delete(act.key);
    this.activeCount--;
    entry.stats.active--;
    this.order.remove(act);
    if (act.mailbox.busy) {
      // Its handler still runs (it lost the shard while awaiting): the next activation of the key waits.
      const k = `${act.kind}\u0000${act.key}`;
      this.lingering.set(k, act);
      void act.quiesced().then(() => {
        if (this.lingering.get(k) === act) this.lingering.delete(k);
      });
    }
    // Messages that queued up behind the end go to a fresh activation.
    for (const env of leftover) this.deliver(env);
  }

  // ---- activation bookkeeping ----

  private activate(entry: KindEntry, kind: string, key: string, shard: ShardId, epoch: number): Activation {
    if (this.activeCount >= this.options.maxActiveActors) this.order.evictOne();
    const predecessor = this.lingering.size > 0 ? this.lingering.get(`${kind}\u0000${key}`) : undefined;
    const act = new Activation(this, entry.factory, entry.stats, this.limits, kind, key, shard, epoch, predecessor, entry.reads, entry.persistsLast);
    act.idleSince = this.clock.monoMs();
    entry.acts.set(key, act);
    this.order.add(act);
    this.activeCount++;
    entry.stats.active++;
    return act;
  }

  /** Moves an activation to the recent end of the eviction order. */
  touch(act: Activation): void {
    this.order.touch(act);
  }

  /**
   * Passivates activations idle for `idlePassivateMs` (when it is set) and forgets the asks
   * they remember that can no longer be retried. Runs on a timer; callable by tests.
   */
  sweepIdle(): number {
    const now = this.clock.monoMs();
    return this.order.sweepIdle(this.options.idlePassivateMs > 0 ? now - this.options.idlePassivateMs : -Infinity, now);
  }

  /** Passivates every matching activation and waits until they have ended (or `timeoutMs`); returns how many remain. */
  passivateWhere(match: (a: Activation) => boolean, timeoutMs = 30_000): Promise<number> {
    return this.order.passivateWhere(match, timeoutMs);
  }

  // ---- inspection ----

  /** Activations alive on this node (any kind). */
  get activeActors(): number {
    return this.activeCount;
  }

  /** Asks the activations of this node remember (applied, or in progress) for deduplication. */
  get rememberedAsks(): number {
    let n = 0;
    for (const kind of this.kinds.values()) for (const act of kind.acts.values()) n += act.rememberedAsks;
    return n;
  }

  /** Asks of this node still waiting for an answer. */
  get pendingAsks(): number {
    return this.asks.size;
  }

  /** Whether `(kind, key)` is active here now. */
  isActive(kind: string, key: string): boolean {
    return this.kinds.get(kind)?.acts.has(key) ?? false;
  }

  /** Counters of one actor kind. */
  kindStats(kind: string): KindStats {
    const e = this.kinds.get(kind);
    if (!e) throw new UnknownKind(`actor kind '${kind}' is not registered`, { kind });
    return e.stats;
  }

  /** The deepest mailbox on this node now (a scan: for scrapes, not hot paths). */
  maxMailboxDepth(): number {
    return this.order.maxMailboxDepth();
  }

  /** Registered kinds. */
  kindNames(): string[] {
    return [...this.kinds.keys()];
  }

  /**
   * Stops the node: stops receiving, passivates every actor (writing its snapshot),
   * fails the asks still pending with `Closed`, and closes the transport.
   */
  async stop(): Promise<void> {
    if (this.state === 'stopping' || this.state === 'stopped') return;
    const wasRunning = this.state === 'running';
    this.state = 'stopping';
    if (this.idleTimer) clearInterval(this.idleTimer);
    if (wasRunning) {
      const shards = this.hostedShards();
      this.hosted.fill(0);
      await this.transport.unhost(shards).catch(() => undefined);
      await this.passivateWhere(() => true);
    }
    this.asks.failAll(new Closed(`actor system ${this.nodeId} stopped`));
    await this.transport.close();
    if (this.ownsStore) await this.store.close();
    this.state = 'stopped';
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
