import type { ClusterClient } from './client.js';
import type { NodeStatus } from './node.js';
import { DEFAULT_HEARTBEAT_WINDOW_MS } from './options.js';

/** One node as `reel status` reports it. */
export interface NodeReport {
  id: string;
  /**
   * live: answered the status request; silent: did not answer, but its membership entry changed
   * within the last heartbeat window (it heartbeats); gone: its entry stood still for a whole
   * window. A gone node stopped without being drained (crashed, killed, or failed and left); it
   * is listed until the others remove its entry (`goneMemberRemovalMs`, 10 minutes by default).
   */
  health: 'live' | 'silent' | 'gone';
  /** Why the node stopped, when it left after a fatal error (it wrote the reason in its entry). */
  failed?: string;
  draining: boolean;
  /** False when the node answered but says it is cut off from NATS (it serves nothing). */
  connected: boolean;
  roles: string[];
  weight: number;
  version: string;
  /** Shards whose ownership entry names this node. */
  shards: number;
  /** Shards it is handing off now (from its own answer). */
  handingOff: number;
  /** Active actors on the node (undefined if it did not answer). */
  activeActors?: number;
  activationsByKind?: Record<string, number>;
  /** Warm handoffs (`NodeStatus.handedOver`): actors kept for next owners, served to them, and loaded from old owners. */
  handedOver?: { kept: number; served: number; loaded: number };
  /** Lowest and highest epoch among its shards. */
  epochs: [number, number] | null;
  /** ms since status saw the node's membership entry change; null when it saw no change. */
  heartbeatAgeMs: number | null;
}

/** The whole cluster as `reel status` reports it. */
export interface ClusterReport {
  prefix: string;
  shardCount: number;
  nodes: NodeReport[];
  /** Shards with no owner (never claimed, or released and not yet claimed). */
  unowned: number[];
  /** Shards whose owner did not answer: not served now, and moving to a live node once its lease is seen to run out. */
  moving: number[];
  /** Shards owned by a node other than the one placement (with the manual overrides) puts them on: being rebalanced. */
  misplaced: number[];
  /** Manual placements: shard → node. */
  overrides: Record<string, string>;
  /**
   * True when every shard is owned by a live node, every live node is connected, and no node is
   * silent or gone: a node that stopped without being drained is a failure an operator must see,
   * until it runs again under its id or its entry is removed.
   */
  healthy: boolean;
}

/**
 * Gathers membership and ownership from KV, and each node's own status by scatter-gather. A node
 * that does not answer is watched until its entry changes or has stood still for a heartbeat
 * window (on this process's clock: no node's timestamps are compared), to tell a silent node
 * from a gone one.
 */
export async function clusterStatus(client: ClusterClient, prefix: string, opts: { heartbeatWindowMs?: number; deadlineMs?: number } = {}): Promise<ClusterReport> {
  const clock = client.system.clock;
  const t0 = clock.monoMs();
  await client.view.refresh();
  const view = client.view;
  const windowMs = opts.heartbeatWindowMs ?? DEFAULT_HEARTBEAT_WINDOW_MS;
  const gathered = await client.scatter.gather<NodeStatus>('status', undefined, { deadlineMs: opts.deadlineMs ?? 1500 });
  const byNode = new Map(gathered.answers.map((a) => [a.node, a.value]));
  // The shard table as of the answers: a shard whose owner did not answer is not being served.
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
    if (!byNode.has(v.owner)) moving.push(s);
    const list = perNode.get(v.owner) ?? [];
    list.push(v.epoch);
    perNode.set(v.owner, list);
  }
  // Who did not answer is gone once this view has seen its entry stand still for a whole window
  // (since it first saw it, or since its last change: a client's view may be old), and silent if
  // it changed meanwhile. Watched until each is one or the other.
  const gone = (id: string) => clock.monoMs() - (view.memberSeen(id)?.changedAt ?? -Infinity) > windowMs;
  const changedSinceStart = (id: string) => {
    const seen = view.memberSeen(id);
    return seen !== undefined && seen.changes > 0 && seen.changedAt > t0;
  };
  const undecided = () => [...view.members.keys()].some((id) => !byNode.has(id) && !gone(id) && !changedSinceStart(id));
  while (undecided() && clock.monoMs() - t0 < 2 * windowMs) await new Promise((r) => setTimeout(r, 50));
  const heartbeating = (id: string) => view.members.has(id) && !gone(id);
  const now = clock.monoMs();
  const ids = new Set([...view.members.keys(), ...perNode.keys()]);
  const nodes: NodeReport[] = [...ids].sort().map((id) => {
    const m = view.members.get(id);
    const st = byNode.get(id);
    const epochs = perNode.get(id) ?? [];
    const seen = view.memberSeen(id);
    const r: NodeReport = {
      id,
      health: st ? 'live' : heartbeating(id) ? 'silent' : 'gone',
      draining: Boolean(m?.draining || st?.draining),
      connected: st?.connected ?? false,
      roles: m?.roles ?? [],
      weight: m?.weight ?? 0,
      version: m?.version ?? '',
      shards: epochs.length,
      handingOff: st?.handingOff?.length ?? 0,
      epochs: epochs.length ? [Math.min(...epochs), Math.max(...epochs)] : null,
      heartbeatAgeMs: seen !== undefined && seen.changes > 0 ? Math.round(now - seen.changedAt) : null,
    };
    if (m?.failed !== undefined) r.failed = m.failed;
    if (st) {
      r.activeActors = st.activeActors;
      r.activationsByKind = st.activationsByKind;
      if (st.handedOver !== undefined) r.handedOver = st.handedOver;
    }
    return r;
  });
  // Where placement puts each shard, over the nodes that answered and are not draining (as the nodes compute it).
  const candidates = nodes.filter((n) => n.health === 'live' && !n.draining).map((n) => ({ id: n.id, weight: n.weight }));
  const target = view.targetOwners(shardCount, candidates);
  const misplaced: number[] = [];
  for (let s = 0; s < shardCount; s++) {
    const owner = view.shard(s).value?.owner ?? '';
    if (owner !== '' && target.has(s) && target.get(s) !== owner) misplaced.push(s);
  }
  const overrides: Record<string, string> = {};
  for (const [s, n] of view.overrides) overrides[String(s)] = n;
  const healthy = unowned.length === 0 && moving.length === 0 && nodes.every((n) => n.health === 'live' && n.connected);
  return { prefix, shardCount, nodes, unowned, moving, misplaced, overrides, healthy };
}

/** Whether every shard is owned where placement puts it, by a live node, with no handoff in flight. */
export function isPlaced(r: ClusterReport): boolean {
  return r.unowned.length === 0 && r.moving.length === 0 && r.misplaced.length === 0 && r.nodes.every((n) => n.health !== 'live' || n.handingOff === 0);
}

/**
 * Waits until the cluster is placed (`isPlaced`), reading its status every `intervalMs`; `onProgress`
 * sees each report. Throws after `timeoutMs` with what is still out of place.
 */
export async function waitPlaced(
  client: ClusterClient,
  prefix: string,
  opts: { timeoutMs: number; intervalMs?: number; heartbeatWindowMs?: number; onProgress?: (r: ClusterReport) => void },
): Promise<ClusterReport> {
  const clock = client.system.clock;
  const until = clock.monoMs() + opts.timeoutMs;
  for (;;) {
    const r = await clusterStatus(client, prefix, opts.heartbeatWindowMs !== undefined ? { heartbeatWindowMs: opts.heartbeatWindowMs } : {});
    if (isPlaced(r)) return r;
    opts.onProgress?.(r);
    if (clock.monoMs() > until) {
      const handing = r.nodes.reduce((n, x) => n + x.handingOff, 0);
      throw new Error(
        `shards not placed after ${opts.timeoutMs / 1000} s: ${r.misplaced.length} to rebalance, ${r.unowned.length} unowned, ${r.moving.length} moving, ${handing} handing off (see reel status)`,
      );
    }
    await new Promise((res) => setTimeout(res, opts.intervalMs ?? 250));
  }
}
