export { ClusterNode, NODE_VERSION } from './node.js';
export { processRegistry, registerNodeMetrics, clusterNodeSource, countReconnects, METRICS_SYSTEM_OPTIONS } from './metrics.js';
export { DEFAULT_METRICS_HOST, startMetricsServer } from './metrics-server.js';
export { HANDOFF_BUCKETS_S } from './ownership.js';
export { ClusterClient } from './client.js';
export { ClusterScatterGather, DEFAULT_GATHER_DEADLINE_MS } from './scatter-gather.js';
export { SoleOwnership } from './ownership-sole.js';
export { assignShards } from './placement.js';
export { joinClusterConfig, readClusterConfig } from './config.js';
export { clusterStatus, isPlaced, waitPlaced } from './status.js';
export { clearOverrides, moveShard } from './overrides.js';
export { clusterBucket, clusterReplicas, isRequestTimeout, NoCluster, openClusterKv, openExistingClusterKv } from './cluster-kv.js';
export { checkReplicas, clusterStreams, defaultReplicas } from './replicas.js';
export { FOLLOW_ACTIVE_MS, ViewDirectory, registerTrainingMetrics, registerReelNode } from './training.js';
export { modelsBucket, openExistingModelRegistry, openModelRegistry } from './model-registry-kv.js';
export { activateVersion, type Activation } from './model-activation.js';
export { shardPlan, type ShardMove } from './shard-plan.js';
export { jobWorkers, startJob } from './training-jobs.js';
export { checkpointsBucket, openCheckpointStore, openExistingCheckpointStore } from './blob-store-obj.js';
export { ClusterView, isMember, isShardOwner, MAX_MEMBER_WEIGHT } from './cluster-view.js';
export {
  DEFAULT_CLUSTER_ASK_ATTEMPT_MS,
  DEFAULT_HEARTBEAT_MS,
  DEFAULT_HEARTBEAT_WINDOW_MS,
  DEFAULT_LEASE_MS,
  DEFAULT_RENEW_MS,
  DEFAULT_SAFETY_MARGIN_MS,
  DEFAULT_RECONCILE_MS,
  DEFAULT_VIEW_REFRESH_MS,
  DEFAULT_GONE_MEMBER_REMOVAL_MS,
  parseClusterNodeOptions,
} from './options.js';

export type { ClusterNodeDeps, LeaveOutcome, NodeStatus } from './node.js';
export type { BuildInfo, MetricsSource } from './metrics.js';
export type { MetricsServer, MetricsServerOptions } from './metrics-server.js';
export type { BucketCounts } from './metric-pulled-histogram.js';
export type { ClusterNodeOptions, ResolvedClusterNodeOptions } from './options.js';
export type { ClusterConfig, ConfigWish } from './config.js';
export type { ClusterReport, NodeReport } from './status.js';
export type { MemberInfo, ShardOwner, ShardRecord } from './cluster-view.js';
export type { OwnershipLog, OwnershipTimings, ShardHost } from './ownership.js';
export type { MembershipFault } from './membership.js';
export type { ClusterViewOptions } from './cluster-view.js';
export type { PlacementNode } from './placement.js';
export type { TrainingMetrics } from './training.js';
export { ensureInteractionStream, interactionPublisher, interactionStream, interactionSubject, publishInteractions, recordInteractions, DIRECT_APPLY_MS, registerInteractionMetrics, InteractionConsumers, DUPLICATE_WINDOW_MS, type InteractionMetrics } from './interaction-stream.js';
