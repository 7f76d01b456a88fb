import type { ClusterClient } from './client.js';
import { liveMembers } from './membership.js';
import type { NodeStatus } from './node.js';
import { DEFAULT_HEARTBEAT_WINDOW_MS } from './options.js';

/** One node as `reel status` reports it. */
export interface NodeReport {
  id: string;
  /** live: heartbeating and answered; silent: heartbeating but no answer in time; gone: no heartbeat within the window. */
  health: 'live' | 'silent' | 'gone';
  draining: boolean;
  roles: string[];
  weight: number;
  version: string;
  /** Shards whose ownership entry names this node. */
  shards: number;
  /** Active actors on the node (undefined if it did not answer). */
  activeActors?: number;
  activationsByKind?: Record<string, number>;
  /** Lowest and highest epoch among its shards. */
  epochs: [number, number] | null;
  heartbeatAgeMs: number;
}

/** The whole cluster as `reel status` reports it. */
export interface ClusterReport {
  prefix: string;
  shardCount: number;
  nodes: NodeReport[];
  /** Shards with no owner (never claimed, or released and not yet claimed). */
  unowned: number[];
  /** Shards whose owner is gone or whose lease ran out: moving to a live node. */
  moving: number[];
  /** Manual placements: shard → node. */
  overrides: Record<string, string>;
  /** True when every shard is owned by a live node and every live node answered. */
  healthy: boolean;
}

/** Gathers membership and ownership from KV, and each node's own status by scatter-gather. */
export async function clusterStatus(client: ClusterClient, prefix: string, opts: { heartbeatWindowMs?: number; deadlineMs?: number } = {}): Promise<ClusterReport> {
  await client.view.refresh();
  const view = client.view;
  const now = Date.now();
  const windowMs = opts.heartbeatWindowMs ?? DEFAULT_HEARTBEAT_WINDOW_MS;
  const live = new Set(liveMembers(view, now, windowMs).map((m) => m.id));
  const gathered = await client.scatter.gather<NodeStatus>('status', undefined, { deadlineMs: opts.deadlineMs ?? 1500 });
  const byNode = new Map(gathered.answers.map((a) => [a.node, a.value]));
  const shardCount = client.system.options.shardCount;
  const unowned: number[] = [];
  const moving: number[] = [];
  const perNode = new Map<string, number[]>();
  for (let s = 0; s < shardCount; s++) {
    const v = view.shard(s).value;
    if (v === undefined || v.owner === '') {
      unowned.push(s);
      continue;
    }
    if (!live.has(v.owner) || v.leaseUntil < now) moving.push(s);
    const list = perNode.get(v.owner) ?? [];
    list.push(v.epoch);
    perNode.set(v.owner, list);
  }
  const ids = new Set([...view.members.keys(), ...perNode.keys()]);
  const nodes: NodeReport[] = [...ids].sort().map((id) => {
    const m = view.members.get(id);
    const st = byNode.get(id);
    const epochs = perNode.get(id) ?? [];
    const r: NodeReport = {
      id,
      health: !live.has(id) ? 'gone' : st ? 'live' : 'silent',
      draining: Boolean(m?.draining || st?.draining),
      roles: m?.roles ?? [],
      weight: m?.weight ?? 0,
      version: m?.version ?? '',
      shards: epochs.length,
      epochs: epochs.length ? [Math.min(...epochs), Math.max(...epochs)] : null,
      heartbeatAgeMs: m ? now - m.heartbeatAt : -1,
    };
    if (st) {
      r.activeActors = st.activeActors;
      r.activationsByKind = st.activationsByKind;
    }
    return r;
  });
  const overrides: Record<string, string> = {};
  for (const [s, n] of view.overrides) overrides[String(s)] = n;
  const healthy = unowned.length === 0 && moving.length === 0 && nodes.every((n) => n.health !== 'silent');
  return { prefix, shardCount, nodes, unowned, moving, overrides, healthy };
}
