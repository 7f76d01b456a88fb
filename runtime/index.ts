// The runtime's public surface. Implementations are reached through the factories below.
import type { NatsConnection } from '@nats-io/transport-node';
import { KvSnapshotStore, type KvSnapshotStoreOptions } from './snapshot-store-kv.js';
import { MemorySnapshotStore } from './snapshot-store-memory.js';
import { LocalHub, LocalTransport } from './transport-local.js';
import { NatsTransport, type NatsConnectOptions, type NatsTransportOptions } from './transport-nats.js';
import type { SnapshotStore, Transport } from './types.js';

export { ActorSystem } from './system.js';
export { Limiter } from './limiter.js';
export { consistentKvOptions, createConcurrently, MAX_REPLICAS } from './jetstream-create.js';
export { kvKeys, listWithin, LISTING_STALL_MS, type Listing } from './kv-keys.js';
export { ActorRef } from './actor-ref.js';
export { ManualClock, OffsetClock, systemClock } from './clock.js';
export { connectNats } from './transport-nats.js';
export { LocalHub } from './transport-local.js';
export { allShards, parseShardList, shardOf, fnv1a, fmix32, FNV_OFFSET, DEFAULT_SHARD_COUNT, MAX_SHARD_COUNT } from './shard.js';
export { ENVELOPE_VERSION, decodeValue, encodeValue } from './envelope.js';
export { NODE_KIND } from './types.js';
export {
  DEFAULT_ASK_TIMEOUT_MS,
  DEFAULT_DEDUP_MARGIN_MS,
  DEFAULT_DEDUP_MAX_ENTRIES,
  DEFAULT_MAX_ASK_DEADLINE_MS,
  DEFAULT_IDLE_PASSIVATE_MS,
  DEFAULT_MAILBOX_CAPACITY,
  DEFAULT_MAX_ACTIVE_ACTORS,
  DEFAULT_MAX_CONSECUTIVE_FAILURES,
  defaultSystemOptions,
  NODE_ID_PATTERN,
  parseSystemOptions,
} from './options.js';
export {
  Closed,
  DeadlineExceeded,
  ErrorCode,
  HandlerFailed,
  Internal,
  InvalidArgument,
  NoRoute,
  Overloaded,
  ReelError,
  StaleEpoch,
  Fenced,
  SnapshotTooLarge,
  Unavailable,
  UnknownKind,
  isRetryable,
  errorFromWire,
  errorToWire,
} from './errors.js';

export type { ActorSystemConfig, BatchMessage, SystemHooks } from './system.js';
export type { BatchAskMessage, BatchOutcome } from './batch-ask.js';
export type { EnvelopeBatch } from './envelope-batch.js';
export type { ResolvedSystemOptions, SystemOptions } from './options.js';
export { DURATION_BUCKETS_S, MAX_MESSAGE_TYPES_PER_KIND, MESSAGE_OUTCOMES, OTHER_MESSAGE_TYPE } from './stats.js';
export type { DurationHistogram, KindStats, MessageOutcome, SystemStats, TypeStats } from './stats.js';
export type { WireError } from './errors.js';
export type { KvSnapshotStoreOptions } from './snapshot-store-kv.js';
export { snapshotBucket } from './snapshot-store-kv.js';
export { HANDED_OVER_TTL_MS, HandedOverStore, type HandedOverActor, type HandOverSource } from './warm-handoff.js';
export type { NatsConnectOptions, NatsTransportOptions } from './transport-nats.js';
export type {
  Actor,
  ActorAddress,
  ActorContext,
  ActorFactory,
  AskOptions,
  Clock,
  Envelope,
  InboundSink,
  ActivationEndReason,
  AppliedEntry,
  Gathered,
  NodeAnswer,
  NodeHandler,
  ScatterGather,
  ShardDirectory,
  Reply,
  RuntimeEvent,
  ShardId,
  ShardOwnership,
  Snapshot,
  SnapshotStore,
  StoredSnapshot,
  TellOptions,
  Transport,
} from './types.js';

/** The in-process transport; nodes sharing a `hub` reach each other. */
export function localTransport(hub?: LocalHub): Transport {
  return new LocalTransport(hub);
}

/** The NATS transport over a connection the caller owns. */
export function natsTransport(nc: NatsConnection, opts?: NatsTransportOptions): Transport {
  return new NatsTransport(nc, opts);
}

/** The NATS transport over a connection of its own, closed with it. */
export function connectNatsTransport(connect: NatsConnectOptions, opts?: NatsTransportOptions): Promise<Transport> {
  return NatsTransport.connect(connect, opts);
}

/** Snapshots in process memory. */
export function memorySnapshotStore(): SnapshotStore {
  return new MemorySnapshotStore();
}

/** Snapshots in JetStream KV, one bucket per actor kind. */
export function kvSnapshotStore(nc: NatsConnection, opts?: KvSnapshotStoreOptions): SnapshotStore {
  return new KvSnapshotStore(nc, opts);
}
