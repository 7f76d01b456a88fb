import type { Dispatcher } from './dispatcher.js';

/** What a mailbox knows of its actor. */
export interface Invoker<M, S> {
  /** Runs one user message; returns a thenable when the handler is asynchronous. */
  invoke(msg: M): unknown;
  /** Runs one system message (activation, restart, timers); same contract as `invoke`. */
  invokeSystem(msg: S): unknown;
  /** A handler threw or its promise rejected; supervision decides what follows. */
  failed(msg: M | S, err: unknown, system: boolean): void;
  /** Nothing is queued and nothing runs. */
  idle(): void;
}

function isThenable(r: unknown): r is PromiseLike<unknown> {
  return r !== null && (typeof r === 'object' || typeof r === 'function') && typeof (r as { then?: unknown }).then === 'function';
}

/**
 * A bounded mailbox: one message at a time, in arrival order, system messages first.
 * Handlers that return no thenable are drained synchronously (no promise per message);
 * an async handler suspends the runner until its own promise settles.
 */
export class Mailbox<M, S = never> {
  private q: M[] | null = null;
  private head = 0;
  private sys: S[] | null = null;
  /** Queued in the dispatcher's ready list. */
  private scheduled = false;
  /** Inside `run()`: posts made by the running handler need no scheduling. */
  private running = false;
  /** A handler's promise is pending. */
  private awaiting = false;
  /** User messages wait (activation in progress); system messages still run. */
  private suspendedUser = false;

  constructor(
    private readonly invoker: Invoker<M, S>,
    private readonly dispatcher: Dispatcher,
    private readonly capacity: number,
  ) {}

  /** User messages queued. */
  get size(): number {
    return this.q === null ? 0 : this.q.length - this.head;
  }

  /** True while something is queued or running. */
  get busy(): boolean {
    return this.scheduled || this.running || this.awaiting || this.size > 0 || (this.sys !== null && this.sys.length > 0);
  }

  /** Queues a user message; false when the mailbox is full (the caller answers `Overloaded`). */
  post(msg: M): boolean {
    let q = this.q;
    if (q === null) q = this.q = [];
    else if (q.length - this.head >= this.capacity) return false;
    q.push(msg);
    if (!this.scheduled && !this.running && !this.awaiting && !this.suspendedUser) this.schedule();
    return true;
  }

  /** Queues a system message; never refused. */
  postSystem(msg: S): void {
    (this.sys ??= []).push(msg);
    if (!this.scheduled && !this.running && !this.awaiting) this.schedule();
  }

  /** Holds user messages back until `resume()`. */
  suspend(): void {
    this.suspendedUser = true;
  }

  resume(): void {
    this.suspendedUser = false;
    if (!this.scheduled && !this.running && !this.awaiting && this.size > 0) this.schedule();
  }

  /** Removes and returns every queued user message (handoff to a new activation). */
  takeAll(): M[] {
    const q = this.q;
    if (q === null) return [];
    const out = q.slice(this.head);
    this.q = null;
    this.head = 0;
    return out;
  }

  private schedule(): void {
    this.scheduled = true;
    this.dispatcher.schedule(this);
  }

  /** Runs up to `budget` messages; called by the dispatcher. Returns how many ran. */
  run(budget: number): number {
    this.scheduled = false;
    this.running = true;
    let n = 0;
    while (n < budget) {
      let r: unknown;
      let msg: M | S;
      let system: boolean;
      const sys = this.sys;
      if (sys !== null && sys.length > 0) {
        msg = sys.shift()!;
        // System messages are rare (activation, restarts, timers): an idle actor keeps no array for them.
        if (sys.length === 0) this.sys = null;
        system = true;
      } else {
        const q = this.q;
        if (this.suspendedUser || q === null || this.head >= q.length) break;
        msg = q[this.head]!;
        (q as unknown[])[this.head++] = undefined;
        // Compact once the consumed prefix dominates, so the array does not grow forever.
        if (this.head === q.length) {
          q.length = 0;
          this.head = 0;
        } else if (this.head > 1024 && this.head * 2 > q.length) {
          q.splice(0, this.head);
          this.head = 0;
        }
        system = false;
      }
      n++;
      try {
        r = system ? this.invoker.invokeSystem(msg as S) : this.invoker.invoke(msg as M);
      } catch (err) {
        this.invoker.failed(msg, err, system);
        continue;
      }
      if (isThenable(r)) {
        this.running = false;
        this.awaiting = true;
        r.then(
          () => this.continueAfterAwait(),
          (err: unknown) => {
            this.invoker.failed(msg, err, system);
            this.continueAfterAwait();
          },
        );
        return n;
      }
    }
    this.running = false;
    if (this.hasRunnable()) this.schedule();
    else this.invoker.idle();
    return n;
  }

  private continueAfterAwait(): void {
    this.awaiting = false;
    if (this.hasRunnable()) this.schedule();
    else this.invoker.idle();
  }

  private hasRunnable(): boolean {
    return (this.sys !== null && this.sys.length > 0) || (!this.suspendedUser && this.size > 0);
  }
}
