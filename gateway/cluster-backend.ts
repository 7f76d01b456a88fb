import type { ServerUnaryCall } from '@grpc/grpc-js';
import type { NatsConnection } from '@nats-io/transport-node';
import type { JetStreamClient } from '@nats-io/jetstream';
import { clusterStatus, ensureInteractionStream, interactionPublisher, openExistingModelRegistry, openModelRegistry, recordInteractions, type ClusterClient, type ClusterReport, type NodeReport } from '../cluster/index.js';
import { interactionHandlers, type RecordInteractions } from './interactions.js';
import type { ModelRegistry } from '../actors/training/index.js';
import type { GetClusterStatusResponse } from '../protos/generated/reel/v1/GetClusterStatusResponse.js';
import type { Node } from '../protos/generated/reel/v1/Node.js';
import type { ShardSummary } from '../protos/generated/reel/v1/ShardSummary.js';
import { askDeadlineMs } from './deadline.js';
import { ApiError } from './errors.js';
import { catalogHandlers } from './catalog.js';
import { modelVersionHandlers } from './model-versions.js';
import { shardAdminHandlers } from './shard-admin.js';
import { trainingJobHandlers } from './training-jobs.js';
import type { GatewayBackend, UnaryHandlers } from './server.js';
import type { GatewayMetrics } from './metrics.js';
import { PopularLists } from './popular.js';
import { recommendationHandlers } from './recommendation.js';

/** The gateway's view of a cluster through a `ClusterClient` on its own NATS connection. */
export class ClusterBackend implements GatewayBackend {
  readonly admin: UnaryHandlers;
  readonly catalog: UnaryHandlers;
  readonly recommendation: UnaryHandlers;
  /** The popular lists: PopularTitles, and Recommend's fallback. */
  readonly popular: PopularLists;

  /** False from a disconnect until the reconnect (the client keeps trying meanwhile). */
  private linked = true;

  constructor(
    private readonly client: ClusterClient,
    private readonly nc: NatsConnection,
    private readonly prefix: string,
    opts: { metrics?: GatewayMetrics; budgetMs?: number; cacheMs?: number; popularRefreshMs?: number } = {},
  ) {
    void (async () => {
      for await (const st of nc.status()) {
        if (st.type === 'disconnect') this.linked = false;
        else if (st.type === 'reconnect') this.linked = true;
      }
    })().catch(() => undefined);
    this.catalog = catalogHandlers(client);
    this.popular = new PopularLists(client);
    this.popular.start(opts.popularRefreshMs);
    let stream: Promise<JetStreamClient> | undefined;
    const record: RecordInteractions = async (items) => {
      // The stream is made once (by a node, or here if no node ever ran); a failure is tried again next call.
      stream ??= ensureInteractionStream(nc, prefix).then(() => interactionPublisher(nc)).catch((err: unknown) => {
        stream = undefined;
        throw err;
      });
      return recordInteractions(await stream, client.system, prefix, client.system.options.shardCount, items, opts.metrics ? { metrics: opts.metrics.visible } : {});
    };
    this.recommendation = {
      ...recommendationHandlers(client, this.popular, { ...(opts.metrics ? { metrics: opts.metrics } : {}), ...(opts.budgetMs !== undefined ? { budgetMs: opts.budgetMs } : {}), ...(opts.cacheMs !== undefined ? { cacheMs: opts.cacheMs } : {}) }),
      ...interactionHandlers(record, opts.metrics),
    };
    this.admin = {
      GetClusterStatus: async (_req: unknown, call: ServerUnaryCall<unknown, unknown>): Promise<GetClusterStatusResponse> => {
        let report: ClusterReport;
        try {
          // The nodes' answers are gathered within the client's deadline (1.5 s at most), as `reel status` does.
          report = await clusterStatus(this.client, this.prefix, { deadlineMs: askDeadlineMs(call, 1_500) });
        } catch (err) {
          throw ApiError.unavailable('CLUSTER_UNAVAILABLE', `cluster membership cannot be read: ${(err as Error).message}`);
        }
        return statusResponse(report, (s) => this.client.view.shard(s).value, this.connected());
      },
      ...modelVersionHandlers(() => this.registry(), client),
      ...shardAdminHandlers(client),
      ...trainingJobHandlers(() => this.registry(), () => openModelRegistry(this.nc, this.prefix), client),
    };
  }

  private opened: ModelRegistry | undefined;

  /** The cluster's model registry, once a version exists (until then there is no bucket to open). */
  private async registry(): Promise<ModelRegistry | undefined> {
    this.opened ??= await openExistingModelRegistry(this.nc, this.prefix);
    return this.opened;
  }

  connected(): boolean {
    return this.linked && !this.nc.isClosed();
  }

  canRecommend(): boolean {
    return this.popular.ready;
  }

  /** Stops the background refresh of the popular lists. */
  close(): void {
    this.popular.stop();
  }
}

/** A `reel status` report as AdminService gives it. */
export function statusResponse(report: ClusterReport, ownerOf: (shard: number) => { owner: string; epoch: number } | undefined, natsConnected: boolean): GetClusterStatusResponse {
  const moving = new Set(report.moving);
  const nodes: Node[] = report.nodes.map((n) => ({
    nodeId: n.id,
    roles: [...new Set(n.roles.flatMap(rolesOf))],
    version: n.version,
    state: stateOf(n),
    shardCount: n.shards,
    activationCount: n.activeActors ?? 0,
  }));
  const shards: ShardSummary[] = [];
  for (let s = 0; s < report.shardCount; s++) {
    const o = ownerOf(s);
    const owned = o !== undefined && o.owner !== '';
    shards.push({ shardId: s, ownerNodeId: owned ? o.owner : '', epoch: o?.epoch ?? 0, state: !owned ? 'SHARD_STATE_UNASSIGNED' : moving.has(s) ? 'SHARD_STATE_HANDING_OFF' : 'SHARD_STATE_ACTIVE' });
  }
  return { nodes, shards, nats: { connected: natsConnected } };
}

function stateOf(n: NodeReport): Node['state'] {
  if (n.health !== 'live' || !n.connected) return 'NODE_STATE_UNREACHABLE';
  return n.draining ? 'NODE_STATE_DRAINING' : 'NODE_STATE_ACTIVE';
}

/** A `reel node` (role `node`) hosts shards and runs training workers; other roles name themselves. */
function rolesOf(role: string): Array<NonNullable<Node['roles']>[number]> {
  switch (role) {
    case 'node':
      return ['NODE_ROLE_SHARD_HOST', 'NODE_ROLE_TRAINER'];
    case 'gateway':
      return ['NODE_ROLE_GATEWAY'];
    default:
      return [];
  }
}
