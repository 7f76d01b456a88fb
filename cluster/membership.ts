import type { KV } from '@nats-io/kv';
import { InvalidArgument, type Clock } from '../runtime/index.js';
import { isRevisionConflict, json, readJson } from './cluster-kv.js';
import type { ClusterView, MemberInfo } from './cluster-view.js';

/** A failed node's reason is cut to this length in its entry (a stack trace would not fit a status line). */
const MAX_FAILED_REASON_CHARS = 300;

/** What a member learns about itself that it cannot go on from. */
export type MembershipFault = { type: 'duplicate'; other: MemberInfo };

/**
 * This node's entry in `members.<id>`: written at start, rewritten every heartbeat by
 * compare-and-set (so a second process with the same id is found out at once), deleted on a
 * clean stop. nats-server 2.9 has no per-key TTL, so readers judge liveness by when they saw
 * the entry change (see `ClusterView.liveMembers`); the timestamps inside are labels only.
 */
export class Membership {
  private timer: NodeJS.Timeout | null = null;
  private info: MemberInfo;
  private revision = 0;
  private beating: Promise<boolean> | null = null;
  private stopped = false;

  constructor(
    private readonly kv: KV,
    private readonly view: ClusterView,
    self: Omit<MemberInfo, 'heartbeatAt'>,
    private readonly heartbeatMs: number,
    private readonly clock: Clock,
    private readonly onFault: (f: MembershipFault) => void,
  ) {
    this.info = { ...self, heartbeatAt: clock.wallMs() };
  }

  get self(): MemberInfo {
    return this.info;
  }

  /**
   * Registers this node. If an entry with its id exists, it watches that entry for `windowMs`
   * (through the view): a change means a live namesake, and the node refuses to start; an entry that stays
   * still is a previous run that died, and this run takes it over.
   */
  async start(windowMs: number): Promise<void> {
    const id = this.info.id;
    if (this.view.members.has(id) && (await this.view.changedWithin([id], windowMs)).length > 0) {
      throw new InvalidArgument(
        `node id '${id}' is in use by a live node (its entry changed while this one waited; incarnation ${this.view.members.get(id)?.incarnation ?? '?'}): ` +
          'refusing to start a second node with the same id',
        { fields: ['nodeId'] },
      );
    }
    // The revision to write over: a previous run's entry (it stood still), a delete marker, or none.
    this.revision = (await this.kv.get(this.key()))?.revision ?? 0;
    await this.beat();
    this.timer = setInterval(() => void this.beat().catch(() => undefined), this.heartbeatMs);
  }

  /** Marks this node as draining (it takes no new shards). */
  async setDraining(draining: boolean): Promise<void> {
    this.info = { ...this.info, draining };
    await this.beat();
  }

  /** Writes the entry by compare-and-set on the last revision this node wrote; resolves with whether it landed. */
  beat(): Promise<boolean> {
    this.beating ??= this.beatOnce().finally(() => {
      this.beating = null;
    });
    return this.beating;
  }

  private async beatOnce(): Promise<boolean> {
    if (this.stopped) return false;
    const info = (this.info = { ...this.info, heartbeatAt: this.clock.wallMs() });
    const key = this.key();
    try {
      this.revision = this.revision === 0 ? await this.kv.create(key, json(info)) : await this.kv.update(key, json(info), this.revision);
      this.view.noteMemberWrite(info, this.revision);
      return true;
    } catch (err) {
      if (!isRevisionConflict(err)) throw err;
    }
    // Someone else wrote our entry: a write of ours that timed out but landed, a sweep by a peer
    // that judged us gone, or another process with our id.
    const e = await this.kv.get(key);
    const theirs = readJson<MemberInfo>(e);
    if (e !== null && e.operation === 'PUT' && theirs !== undefined && theirs.incarnation !== this.info.incarnation) {
      this.onFault({ type: 'duplicate', other: theirs });
      return false;
    }
    this.revision = e?.revision ?? 0;
    if (e !== null && e.operation !== 'PUT') this.revision = e.revision;
    return false;
  }

  /**
   * After a fatal error: stops heartbeating and writes the entry a last time, draining (no shard is
   * placed on it any more) and marked failed with `reason`, so that `reel status` shows why the node
   * is gone until the others remove the entry. Returns whether that write landed.
   */
  async fail(reason: string): Promise<boolean> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.beating?.catch(() => undefined);
    this.info = { ...this.info, draining: true, failed: reason.slice(0, MAX_FAILED_REASON_CHARS) };
    // A conflict with a write of ours that timed out but landed leaves the revision updated: once more.
    const landed = (await this.beat().catch(() => false)) || (await this.beat().catch(() => false));
    await this.stop(false);
    return landed;
  }

  /** Stops heartbeating; with `leave`, deletes the entry so others see the node gone at once. */
  async stop(leave: boolean): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.beating?.catch(() => undefined);
    if (leave && this.revision > 0) await this.kv.delete(this.key(), { previousSeq: this.revision }).catch(() => undefined);
  }

  /**
   * Deletes entries of members this view has not seen change for `goneMs` (they crashed), each by
   * compare-and-set on the revision seen, so an entry that changed meanwhile stays. Returns the ids.
   */
  async sweepGone(goneMs: number): Promise<string[]> {
    const now = this.clock.monoMs();
    const gone: string[] = [];
    for (const id of this.view.members.keys()) {
      const seen = this.view.memberSeen(id);
      if (id === this.info.id || seen === undefined || now - seen.changedAt < goneMs) continue;
      try {
        await this.kv.delete(`members.${id}`, { previousSeq: seen.revision });
        gone.push(id);
      } catch {
        // it changed (alive after all), or KV is unreachable: next time
      }
    }
    return gone;
  }

  private key(): string {
    return `members.${this.info.id}`;
  }
}
