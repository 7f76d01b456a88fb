import type { ShardId, ShardOwnership } from '../runtime/index.js';

/**
 * The broker-less default: a cluster of one node that owns every shard, for ever, under
 * epoch 1. The same seam as the NATS cluster, so an in-process node runs the same checks.
 */
export class SoleOwnership implements ShardOwnership {
  servingEpoch(_shard: ShardId, _now: number): number {
    return 1;
  }

  holdsEpoch(_shard: ShardId, epoch: number, _now: number): boolean {
    return epoch === 1;
  }

  routeEpoch(_shard: ShardId): number {
    return 1;
  }
}
