export { ClusterNode, NODE_VERSION } from './node.js';
export { ClusterClient } from './client.js';
export { SoleOwnership } from './ownership-sole.js';
export { assignShards } from './placement-rendezvous.js';
export { joinClusterConfig } from './config.js';
export { liveMembers } from './membership.js';
export { openClusterKv } from './cluster-kv.js';
export { ClusterView } from './cluster-view.js';
export {
  DEFAULT_HEARTBEAT_MS,
  DEFAULT_HEARTBEAT_WINDOW_MS,
  DEFAULT_LEASE_MS,
  DEFAULT_RENEW_MS,
  DEFAULT_SAFETY_MARGIN_MS,
  parseClusterNodeOptions,
} from './options.js';

export type { ClusterNodeDeps } from './node.js';
export type { ClusterNodeOptions, ResolvedClusterNodeOptions } from './options.js';
export type { ClusterConfig } from './config.js';
export type { MemberInfo, ShardOwner, ShardRecord } from './cluster-view.js';
export type { OwnershipLog, OwnershipTimings, ShardHost } from './ownership.js';
export type { PlacementNode } from './placement-rendezvous.js';
