import type { EnvelopeBatch } from './envelope-batch.js';
import type { ReelError, WireError } from './errors.js';

/** A shard number in `0..S-1`. */
export type ShardId = number;

/** A virtual actor's address: its kind and its key, e.g. `('user', '42')`. */
export interface ActorAddress {
  readonly kind: string;
  readonly key: string;
}

/**
 * An actor message as it travels: one versioned envelope for every transport.
 * The in-process transport passes it by reference; the NATS transport encodes it
 * with the codec in `envelope.ts`.
 */
export interface Envelope<B = unknown> {
  /** Envelope version (`ENVELOPE_VERSION`). */
  v: number;
  /** Message id, stable across retries. */
  id: string;
  kind: string;
  key: string;
  shard: ShardId;
  /** Owner epoch of the target's shard, as the sender saw it; 0 outside a cluster. */
  epoch: number;
  /** Message type, chosen by the actor's protocol. */
  type: string;
  /**
   * Deadline on this process's monotonic clock (`Clock.monoMs`), 0 for none. It never crosses
   * the wire as such: frames carry the remaining ms, which the receiver adds to its own clock.
   */
  deadline: number;
  /** Trace id; '' when none. */
  trace: string;
  body: B;
  /** Where the answer goes: set by the transport on inbound asks, absent for tells. Never encoded. */
  replyTo?: unknown;
}

/** The answer to an ask, as a transport hands it back. */
export interface Reply<V = unknown> {
  /** Node that handled the message (or refused it). */
  node: string;
  /** Owner epoch the answering node held. */
  epoch: number;
  value?: V;
  error?: ReelError;
}

/** What a transport delivers inbound frames to: the actor system of one node. */
export interface InboundSink {
  /** The node's clock: transports turn deadlines into remaining ms and back with it. */
  readonly clock: Clock;
  /** A token unique to this run of the node (reply subjects carry it, so a namesake never gets our answers). */
  readonly incarnation: string;
  /**
   * A message for an actor on one of this node's shards. An ask's refusal (full mailbox,
   * unknown kind) is answered through its `replyTo`; a tell's is returned, so that an
   * in-process caller can throw it.
   */
  deliver(env: Envelope): ReelError | undefined;
  /**
   * Many asks to one shard that came in one frame: each is delivered as `deliver` would, and
   * their answers go back together, as one reply to `replyTo`.
   */
  deliverAsks(envs: Envelope[], replyTo: unknown): void;
  /** The answer to one of this node's asks. */
  settle(askId: number, reply: Reply): void;
  /** Bytes that could not be decoded or had an unknown version; counted, never fatal. */
  malformed(reason: string): void;
}

/**
 * Moves envelopes between nodes. Implementations: `local` (in-process, by reference)
 * and `nats`. Transports are passed to the actor system, never set globally.
 */
export interface Transport {
  /** `local` or `nats`. */
  readonly name: string;
  /** Binds the transport to one node: from now on inbound frames go to `sink`. */
  attach(nodeId: string, sink: InboundSink): Promise<void>;
  /** Starts receiving messages for these shards. */
  host(shards: readonly ShardId[]): Promise<void>;
  /** Stops receiving messages for these shards. */
  unhost(shards: readonly ShardId[]): Promise<void>;
  /**
   * Sends one message. With `askId` it is an ask: the answer, or a `NoRoute` when no node
   * hosts the shard, comes back through `sink.settle(askId, …)`. Without, a tell: a local
   * transport throws `NoRoute` at once; over NATS a tell nobody hosts is lost (at-most-once).
   */
  send(env: Envelope, askId?: number): void;
  /** Sends an ask to one node as a whole (scatter-gather); the answer comes back like an ask's. */
  sendToNode(node: string, env: Envelope, askId: number): void;
  /**
   * Sends many messages to one shard in one frame (training pushes, ingestion): a batch, or
   * envelopes to batch. Tells without `askId`; with it, every message is an ask and their
   * answers come back as one reply (a list of outcomes, see `askBatch`) through `sink.settle(askId, …)`.
   */
  sendBatch(shard: ShardId, batch: EnvelopeBatch | readonly Envelope[], askId?: number): void;
  /** Answers an inbound ask. */
  reply(to: unknown, reply: Reply): void;
  /** Flushes what was sent so far (a no-op in process). */
  flush(): Promise<void>;
  close(): Promise<void>;
  /** Resolves when the transport is closed, with the error that closed it if any. Never rejects. */
  readonly closed: Promise<void | Error>;
}

/** A saved actor state, with the epoch of the owner that wrote it. */
export interface Snapshot<D = unknown> {
  /** The actor's state; undefined when only applied asks were worth keeping. */
  data: D | undefined;
  /** Owner epoch of the writer (0 outside a cluster). */
  epoch: number;
  /** Wall-clock ms since the Unix epoch when written: a label for people, never compared. */
  savedAt: number;
  /** Asks applied to this state, with their answers, that a caller may still retry. */
  applied?: AppliedEntry[];
  /** Read only: the window written by envelope version 2 (no retention; `[id, value]` or `[id, undefined, wireError]`). */
  dedup?: Array<[string, unknown] | [string, undefined, WireError]>;
}

/**
 * An applied ask as snapshots keep it: `[messageId, keepMs, answer]`, or `[messageId, keepMs,
 * undefined, wireError]` for one that failed. `keepMs` is how much longer, from the write, a retry
 * could still arrive; the reader keeps the id that long from when it loads it.
 */
export type AppliedEntry = [string, number, unknown] | [string, number, undefined, WireError];

/** A snapshot as read, with the revision a later write must name. */
export interface StoredSnapshot {
  /** Undefined when the actor has no snapshot (never written, or deleted). */
  snapshot: Snapshot | undefined;
  /** Store revision for compare-and-set; 0 when nothing was ever written. */
  revision: number;
  /** The snapshot exactly as stored at `revision`, from stores that keep it encoded (`SnapshotStore.decode` reads it). */
  bytes?: Uint8Array;
}

/** A snapshot written: its new revision and the bytes stored under it. */
export interface SavedSnapshot {
  revision: number;
  bytes: Uint8Array;
}

/** Where actor snapshots live. Implementations: in-memory and JetStream KV. */
export interface SnapshotStore {
  load(kind: string, key: string): Promise<StoredSnapshot>;
  /**
   * Writes a snapshot by compare-and-set on `expectedRevision` (what `load` or the last
   * `save` returned) and returns the new revision; throws `Fenced` when someone else wrote
   * in between, so a stale owner's write never overwrites a newer one.
   */
  save(kind: string, key: string, snapshot: Snapshot, expectedRevision: number): Promise<number>;
  /**
   * `save`, answering the bytes it stored too. With `decode`, a store that has both lets a node
   * hand an actor's stored state to the shard's next owner, which then reads nothing (a warm handoff).
   */
  saveEncoded?(kind: string, key: string, snapshot: Snapshot, expectedRevision: number): Promise<SavedSnapshot>;
  /** The snapshot of bytes this store stored (`StoredSnapshot.bytes`, `SavedSnapshot.bytes`). */
  decode?(bytes: Uint8Array): Snapshot;
  delete(kind: string, key: string): Promise<void>;
  /** The keys of every actor of `kind` with a stored snapshot, in no particular order. */
  keys(kind: string): Promise<string[]>;
  close(): Promise<void>;
}

/** Which node owns a shard, as this node knows it now. Declared here, implemented by the cluster. */
export interface ShardDirectory {
  /** The owner's node id, or undefined while the shard has none. */
  ownerOf(shard: ShardId): string | undefined;
}

/**
 * Who may serve which shard, under which epoch: declared here, implemented by the cluster.
 * Without one, a node serves every shard it hosts under epoch 0. `now` is always this node's
 * monotonic clock (`Clock.monoMs`).
 */
export interface ShardOwnership {
  /** The epoch under which this node may serve `shard` at `now`, or 0 when it may not. */
  servingEpoch(shard: ShardId, now: number): number;
  /**
   * Whether this node still holds `shard` under `epoch` at `now`: true while it hands the
   * shard off (it accepts no messages but may still flush snapshots), false once lost.
   */
  holdsEpoch(shard: ShardId, epoch: number, now: number): boolean;
  /** The epoch a sender stamps on a message to `shard`: the current owner's, as far as this node knows; 0 if unknown. */
  routeEpoch(shard: ShardId): number;
  /**
   * Calls `fn` with each shard this node learns a (new) owner of; returns the unsubscribe. Asks
   * refused while their shard moved wait for this, with their retry timer as the fallback.
   */
  onShardOwned?(fn: (shard: ShardId) => void): () => void;
  /**
   * The release that this node's claim of `shard` replaced: node `by` handed the shard off under
   * `epoch`, wrote all of its actors first, and nobody owned it in between. Undefined when the
   * claim took the shard over (no release) or this node does not hold it.
   */
  claimedFromRelease?(shard: ShardId): { epoch: number; by: string } | undefined;
}

/** The kind of node-addressed messages: their key is the target node id. */
export const NODE_KIND = '$node';

/** One node's part of a scatter-gather: the shards it answered for, and its answer. */
export interface NodeAnswer<R = unknown> {
  node: string;
  shards: ShardId[];
  value: R;
}

/** What a scatter-gather gathered within its deadline. */
export interface Gathered<R = unknown> {
  answers: NodeAnswer<R>[];
  /** Shards no answer covered (owner down, slow, or moving), sorted. */
  missingShards: ShardId[];
}

/**
 * One message to every node hosting shards (not one per shard), each answering for all its
 * served shards, gathered within a deadline. Declared here, implemented by the cluster.
 */
export interface ScatterGather {
  gather<R>(type: string, body?: unknown, opts?: { deadlineMs?: number }): Promise<Gathered<R>>;
}

/** Answers a scatter-gather on one node, for the shards it serves now. */
export type NodeHandler = (shards: ShardId[], body: unknown) => unknown;

/** How an activation ended. */
export type ActivationEndReason = 'passivated' | 'abandoned' | 'failed' | 'stopped';

/**
 * Facts a node reports, as they happen, for tests and operators. `act` names one activation
 * (unique across the node's runs); `mono` is the node's monotonic clock when the fact happened,
 * a reading of that node only (compare it with nothing from another process).
 */
export type RuntimeEvent =
  | { type: 'activation-start'; act: string; kind: string; key: string; node: string; epoch: number; mono: number }
  | {
      type: 'activation-end';
      act: string;
      kind: string;
      key: string;
      node: string;
      epoch: number;
      reason: ActivationEndReason;
      mono: number;
      /** Last time the activation handled a message or wrote (abandoned ones stop before they end). */
      lastActiveMono: number;
    }
  | { type: 'snapshot'; act: string; kind: string; key: string; node: string; epoch: number; accepted: boolean; mono: number }
  /** A parked activation went on under its shard's new epoch (its node took the shard back unchanged). */
  | { type: 'activation-carry'; act: string; kind: string; key: string; node: string; epoch: number; from: number; mono: number }
  | { type: 'malformed'; node: string; reason: string; mono: number };

/**
 * A source of time, injected so that time-driven behaviour can be tested. Leases, timers and
 * deadlines use the monotonic reading; the wall clock only labels things for people.
 */
export interface Clock {
  /** Wall-clock ms since the Unix epoch: may jump; a label, never a duration. */
  wallMs(): number;
  /** Monotonic ms from an arbitrary origin of this process: never goes back. */
  monoMs(): number;
}

/** Options of one `tell`. */
export interface TellOptions {
  /** Message id; generated when absent. */
  id?: string;
  /** How long the message stays worth handling, in ms; 0 or absent: no deadline. */
  deadlineMs?: number;
  trace?: string;
}

/** Options of one `ask`. */
export interface AskOptions {
  /** Message id, stable across retries; generated when absent. A caller's own id makes its retries idempotent. */
  id?: string;
  /**
   * How long to wait for the answer, in ms, capped by `maxAskDeadlineMs`; absent: `askTimeoutMs`;
   * 0: `maxAskDeadlineMs`.
   */
  deadlineMs?: number;
  trace?: string;
}

/** What an actor can do while it handles a message. */
export interface ActorContext {
  readonly kind: string;
  readonly key: string;
  readonly shard: ShardId;
  /** Id of the node hosting this activation. */
  readonly node: string;
  /** Owner epoch under which the activation runs. */
  readonly epoch: number;
  tell(kind: string, key: string, type: string, body?: unknown, opts?: TellOptions): void;
  ask<R = unknown>(kind: string, key: string, type: string, body?: unknown, opts?: AskOptions): Promise<R>;
  /**
   * Writes `actor.snapshot()` to the snapshot store now, with the asks applied so far. Inside an
   * ask's handler the current ask is written as applied, with `answer` if given: a retry after a
   * crash then gets that answer instead of running again. The reply waits for every write the
   * handler started; if the handler returns another answer than the one written, the runtime
   * writes once more before replying, so an acknowledged ask is never ahead of what is durable.
   */
  persist(answer?: unknown): Promise<void>;
  /** Delivers `{type}` (with `body`) to this actor after `delayMs`, every `delayMs` if `repeat`. Dies with the activation. */
  setTimer(type: string, delayMs: number, opts?: { repeat?: boolean; body?: unknown }): void;
  cancelTimer(type: string): void;
  /** Passivates this activation once the current message is done. */
  passivate(): void;
}

/**
 * An actor: its handler plus lifecycle hooks. `receive` returns the answer to an ask
 * (ignored for a tell), or a promise of it; no other message of this actor runs meanwhile.
 */
export interface Actor<S = unknown> {
  /** Called once per activation before any message, with the last snapshot if one exists. */
  onActivate?(ctx: ActorContext, snapshot: S | undefined): void | Promise<void>;
  receive(msg: Envelope, ctx: ActorContext): unknown;
  /** Captures the state to persist (used by `ctx.persist()` and by passivation). */
  snapshot?(): S | undefined;
  /**
   * True while the activation must stay in memory (it takes part in a training job): the idle
   * sweep and the active-actor cap pass it by. Shard moves and node stops still passivate it.
   */
  pinned?(): boolean;
  /** Called when the activation ends; returns the snapshot to keep (defaults to `snapshot()`). */
  onPassivate?(ctx: ActorContext): S | undefined | Promise<S | undefined>;
}

/** Makes a fresh actor instance for an address. */
export type ActorFactory = (address: ActorAddress) => Actor;
