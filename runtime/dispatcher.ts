/** Something the dispatcher can run: a mailbox. */
export interface Runnable {
  /** Runs up to `budget` messages and returns how many ran. */
  run(budget: number): number;
}

/** Messages the dispatcher runs in one turn before it lets I/O in (setImmediate). */
export const DEFAULT_DISPATCH_BUDGET = 8192;

/**
 * Runs ready mailboxes. One microtask drains many mailboxes (not one per message nor
 * per mailbox); after a turn's budget it yields to the event loop, so a flood of
 * local messages never starves sockets and timers.
 */
export class Dispatcher {
  private ready: Runnable[] = [];
  private head = 0;
  private pending = false;
  private readonly drainBound = () => this.drain();

  constructor(
    /** Messages one mailbox runs before the next mailbox gets its turn. */
    private readonly perMailbox: number,
    private readonly perTurn: number = DEFAULT_DISPATCH_BUDGET,
  ) {}

  schedule(r: Runnable): void {
    this.ready.push(r);
    if (!this.pending) {
      this.pending = true;
      queueMicrotask(this.drainBound);
    }
  }

  private drain(): void {
    let budget = this.perTurn;
    const ready = this.ready;
    while (this.head < ready.length) {
      const r = ready[this.head]!;
      (ready as unknown[])[this.head++] = undefined;
      budget -= r.run(this.perMailbox);
      if (budget <= 0) break;
    }
    if (this.head >= ready.length) {
      ready.length = 0;
      this.head = 0;
      this.pending = false;
    } else {
      if (this.head > 4096) {
        ready.splice(0, this.head);
        this.head = 0;
      }
      setImmediate(this.drainBound);
    }
  }
}
