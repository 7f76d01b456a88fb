import type { KV } from '@nats-io/kv';
import type { Clock } from '../runtime/index.js';
import { json } from './cluster-kv.js';
import type { ClusterView, MemberInfo } from './cluster-view.js';

/**
 * This node's entry in `members.<id>`: written at start, rewritten every heartbeat with
 * the time by its own clock, deleted on a clean stop. nats-server 2.9 has no per-key TTL,
 * so readers decide liveness from `heartbeatAt` (see `liveMembers`).
 */
export class Membership {
  private timer: NodeJS.Timeout | null = null;
  private info: MemberInfo;

  constructor(
    private readonly kv: KV,
    self: Omit<MemberInfo, 'heartbeatAt'>,
    private readonly heartbeatMs: number,
    private readonly clock: Clock,
  ) {
    this.info = { ...self, heartbeatAt: clock.now() };
  }

  get self(): MemberInfo {
    return this.info;
  }

  async start(): Promise<void> {
    await this.beat();
    this.timer = setInterval(() => void this.beat().catch(() => undefined), this.heartbeatMs);
  }

  /** Marks this node as draining (it takes no new shards). */
  async setDraining(draining: boolean): Promise<void> {
    this.info = { ...this.info, draining };
    await this.beat();
  }

  async beat(): Promise<void> {
    this.info = { ...this.info, heartbeatAt: this.clock.now() };
    await this.kv.put(`members.${this.info.id}`, json(this.info));
  }

  /** Stops heartbeating; with `leave`, deletes the entry so others see the node gone at once. */
  async stop(leave: boolean): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (leave) await this.kv.delete(`members.${this.info.id}`).catch(() => undefined);
  }
}

/** Members whose last heartbeat is within `windowMs` of `now`, sorted by id. */
export function liveMembers(view: ClusterView, now: number, windowMs: number): MemberInfo[] {
  return [...view.members.values()].filter((m) => now - m.heartbeatAt <= windowMs).sort((a, b) => (a.id < b.id ? -1 : 1));
}
