import { status, type ServerUnaryCall } from '@grpc/grpc-js';
import { clearOverrides, shardPlan, type ClusterClient, type ShardMove } from '../cluster/index.js';
import type { DrainNodeRequest__Output } from '../protos/generated/reel/v1/DrainNodeRequest.js';
import type { DrainNodeResponse } from '../protos/generated/reel/v1/DrainNodeResponse.js';
import type { RebalanceShardsRequest__Output } from '../protos/generated/reel/v1/RebalanceShardsRequest.js';
import type { RebalanceShardsResponse } from '../protos/generated/reel/v1/RebalanceShardsResponse.js';
import { askDeadlineMs } from './deadline.js';
import { ApiError } from './errors.js';
import { RequestCheck } from './validate.js';

function movesOf(plan: readonly ShardMove[]): DrainNodeResponse['moves'] {
  return plan.map((m) => ({ shardId: m.shard, fromNodeId: m.from, toNodeId: m.to }));
}

/**
 * AdminService's shard methods, as `reel drain` and `reel shards balance` do them: both answer
 * with the plan (the shard moves placement makes) and return without waiting for the moves.
 */
export function shardAdminHandlers(client: ClusterClient) {
  return {
    DrainNode: async (req: DrainNodeRequest__Output, call: ServerUnaryCall<unknown, unknown>): Promise<DrainNodeResponse> => {
      const c = new RequestCheck();
      const node = c.id('node_id', req.nodeId);
      c.done();
      await client.view.refresh();
      const member = client.view.members.get(node);
      if (member === undefined) throw ApiError.notFound('NODE_NOT_FOUND', `no node '${node}' in this cluster`, { node_id: node });
      const plan = shardPlan(client, { without: node });
      // Another node must take its shards: draining the last one would leave every shard unserved.
      if (plan.nodes.length === 0) {
        throw new ApiError(status.FAILED_PRECONDITION, 'LAST_NODE', `node '${node}' is the only node able to hold shards: draining it would leave every shard unserved; start another node first`, [], { node_id: node });
      }
      try {
        await client.system.askNode(node, 'drain', undefined, { deadlineMs: askDeadlineMs(call, 5_000) });
      } catch (err) {
        if ((err as { code?: string }).code === 'NoRoute') throw ApiError.notFound('NODE_NOT_FOUND', `node '${node}' is gone (it does not answer): there is nothing to drain; its shards move once their leases run out`, { node_id: node });
        throw err;
      }
      return { moves: movesOf(plan.moves.filter((m) => m.from === node)), state: 'NODE_STATE_DRAINING' };
    },
    RebalanceShards: async (req: RebalanceShardsRequest__Output): Promise<RebalanceShardsResponse> => {
      await client.view.refresh();
      const plan = shardPlan(client, { ignoreOverrides: true });
      // Moving shards back to placement is clearing the manual placements: the nodes then hand the shards off.
      if (!req.validateOnly) await clearOverrides(client.kv);
      return { moves: movesOf(plan.moves) };
    },
  };
}
