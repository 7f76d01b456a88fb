import type { Activation } from './activation.js';

/**
 * Every activation of a node, least recently used first, for the active-actor cap and the
 * idle sweep. An activation asks to move to the back (`touch`) only when its place lags its
 * last use by more than the node's recency slack, which keeps the order within that slack
 * of true LRU without a reorder per message.
 */
export class ActivationOrder {
  private readonly order = new Set<Activation>();
  private useSeq = 0;
  private endedWaiters: Array<() => void> = [];

  get size(): number {
    return this.order.size;
  }

  [Symbol.iterator](): IterableIterator<Activation> {
    return this.order.values();
  }

  /** The next use number (one per message). */
  nextUse(): number {
    return ++this.useSeq;
  }

  add(act: Activation): void {
    this.order.add(act);
  }

  /** Removes an ended activation and wakes whoever waits for ends. */
  remove(act: Activation): void {
    this.order.delete(act);
    const waiters = this.endedWaiters;
    this.endedWaiters = [];
    for (const w of waiters) w();
  }

  /** Moves an activation to the recent end. */
  touch(act: Activation): void {
    this.order.delete(act);
    act.placed = act.used;
    this.order.add(act);
  }

  /** Passivates the least recently used idle activation. */
  evictOne(): void {
    let budget = this.order.size;
    for (const act of this.order) {
      if (budget-- <= 0) return;
      if (act.state !== 'active') continue;
      if (act.mailbox.busy || act.pinned) {
        this.touch(act);
        continue;
      }
      act.beginPassivation();
      return;
    }
  }

  /**
   * Passivates activations whose mailbox has been idle since `limit` (ms) or earlier, and
   * drops the asks each remembers that expired by `now`.
   */
  sweepIdle(limit: number, now: number): number {
    let n = 0;
    for (const act of this.order) {
      act.expireApplied(now);
      if (act.state === 'active' && act.idleSince <= limit && !act.mailbox.busy && !act.pinned) {
        act.beginPassivation();
        n++;
      }
    }
    return n;
  }

  /**
   * Passivates every matching activation and waits until they have ended, or until
   * `timeoutMs` passes (a snapshot store that keeps failing); returns how many remain. The
   * matching activations are found once, and again only when those found have all ended (to
   * catch any that started meanwhile): each end rescans only what is still waited for, so that
   * several of these running at once (a handoff's shards) cost no more than one.
   */
  async passivateWhere(match: (a: Activation) => boolean, timeoutMs: number): Promise<number> {
    const until = performance.now() + timeoutMs;
    const waiting = new Set<Activation>();
    const scan = () => {
      for (const act of this.order) if (match(act)) waiting.add(act);
    };
    scan();
    for (;;) {
      for (const act of waiting) {
        if (act.state === 'active' && !act.passivateIfClean()) act.beginPassivation();
        if (act.state === 'ended') waiting.delete(act);
      }
      if (waiting.size === 0) {
        scan();
        if (waiting.size === 0) return 0;
        continue;
      }
      if (performance.now() >= until) return waiting.size;
      // Woken by the next end, or after a moment for activations still starting.
      await new Promise<void>((r) => {
        const t = setTimeout(r, 20);
        this.endedWaiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  /** The deepest mailbox now (a scan: for scrapes, not hot paths). */
  maxMailboxDepth(): number {
    let max = 0;
    for (const act of this.order) if (act.mailbox.size > max) max = act.mailbox.size;
    return max;
  }
}
