import type { Dispatcher } from './dispatcher.js';
import { Internal, toReelError, type ReelError } from './errors.js';
import { newEnvelope } from './envelope.js';
import { Mailbox, type Invoker } from './mailbox.js';
import type { KindStats } from './stats.js';
import type { Actor, ActorContext, ActorFactory, AskOptions, Envelope, Snapshot, TellOptions } from './types.js';

/** What an activation needs from the node that hosts it. */
export interface ActivationHost {
  readonly nodeId: string;
  readonly dispatcher: Dispatcher;
  now(): number;
  /** Incremented on every message: the recency order used by the active-actor cap. */
  nextUse(): number;
  /** How far an activation's place may lag its last use before it is moved. */
  readonly recencySlack: number;
  /** Moves the activation to the recent end of the eviction order. */
  touch(act: Activation): void;
  loadSnapshot(kind: string, key: string): Promise<Snapshot | undefined>;
  saveSnapshot(kind: string, key: string, snap: Snapshot): Promise<void>;
  /** Answers an inbound ask. */
  answer(env: Envelope, value: unknown, error: ReelError | undefined, epoch: number): void;
  tell(kind: string, key: string, type: string, body: unknown, opts?: TellOptions): void;
  ask<R>(kind: string, key: string, type: string, body: unknown, opts?: AskOptions): Promise<R>;
  /** The activation is gone (passivated or failed); `leftover` were queued behind its end. */
  ended(act: Activation, leftover: Envelope[]): void;
}

/** Per-activation limits, shared by every activation of a node. */
export interface ActivationLimits {
  mailboxCapacity: number;
  maxConsecutiveFailures: number;
}

type SystemMessage =
  | { t: 'activate' }
  | { t: 'restart' }
  | { t: 'passivate' }
  | { t: 'timer'; env: Envelope };

/** Rarely used per-activation state, created on first use. */
interface Extras {
  timers?: Map<string, NodeJS.Timeout>;
}

export type ActivationState = 'activating' | 'active' | 'passivating' | 'ended';

/**
 * One live actor on one node: its instance, mailbox and lifecycle. It is also the
 * `ActorContext` its handlers receive, so an idle activation costs few objects.
 */
export class Activation implements Invoker<Envelope, SystemMessage>, ActorContext {
  readonly mailbox: Mailbox<Envelope, SystemMessage>;
  state: ActivationState = 'activating';
  /** Last use, and the use at which it took its place in the host's eviction order. */
  used = 0;
  placed = 0;
  /** When the mailbox last went idle (host clock, ms). */
  idleSince = 0;
  private actor: Actor | null = null;
  private failures = 0;
  private readonly maxFailures: number;
  private extras: Extras | null = null;

  constructor(
    private readonly host: ActivationHost,
    private readonly factory: ActorFactory,
    readonly stats: KindStats,
    limits: ActivationLimits,
    readonly kind: string,
    readonly key: string,
    readonly shard: number,
    readonly epoch: number,
  ) {
    this.maxFailures = limits.maxConsecutiveFailures;
    this.mailbox = new Mailbox<Envelope, SystemMessage>(this, host.dispatcher, limits.mailboxCapacity);
    this.mailbox.suspend();
    this.mailbox.postSystem({ t: 'activate' });
    this.used = this.placed = host.nextUse();
  }

  get node(): string {
    return this.host.nodeId;
  }

  // ---- Invoker ----

  invoke(env: Envelope): unknown {
    if (env.deadline !== 0 && this.host.now() > env.deadline) {
      // The caller's own timer answers DeadlineExceeded; the handler must not run.
      this.stats.expired++;
      return undefined;
    }
    const used = (this.used = this.host.nextUse());
    if (used - this.placed > this.host.recencySlack) this.host.touch(this);
    const r = this.actor!.receive(env, this);
    if (r !== null && typeof r === 'object' && typeof (r as PromiseLike<unknown>).then === 'function') {
      return (r as PromiseLike<unknown>).then((v) => this.succeeded(env, v));
    }
    this.succeeded(env, r);
    return undefined;
  }

  private succeeded(env: Envelope, value: unknown): void {
    this.failures = 0;
    this.stats.handled++;
    if (env.replyTo !== undefined) this.host.answer(env, value, undefined, this.epoch);
  }

  invokeSystem(msg: SystemMessage): unknown {
    switch (msg.t) {
      case 'activate':
      case 'restart':
        return this.start(msg.t === 'restart');
      case 'passivate':
        return this.stop();
      case 'timer':
        return this.invoke(msg.env);
    }
  }

  failed(msg: Envelope | SystemMessage, err: unknown, system: boolean): void {
    if (system && ((msg as SystemMessage).t === 'activate' || (msg as SystemMessage).t === 'restart')) {
      this.abort(err);
      return;
    }
    if (system && (msg as SystemMessage).t === 'passivate') {
      // The snapshot could not be written: stay active rather than lose the state.
      this.stats.snapshotFailures++;
      this.state = 'active';
      this.mailbox.resume();
      return;
    }
    const env = system ? (msg as { env: Envelope }).env : (msg as Envelope);
    this.stats.failed++;
    if (env.replyTo !== undefined) {
      this.host.answer(env, undefined, toReelError(err, { kind: this.kind, key: this.key, shard: this.shard }), this.epoch);
    }
    if (++this.failures >= this.maxFailures) {
      this.failures = 0;
      this.stats.restarts++;
      this.mailbox.suspend();
      this.mailbox.postSystem({ t: 'restart' });
    }
  }

  idle(): void {
    this.idleSince = this.host.now();
  }

  // ---- lifecycle ----

  private async start(restart: boolean): Promise<void> {
    this.clearTimers();
    this.actor = null;
    const snap = await this.host.loadSnapshot(this.kind, this.key);
    const actor = this.factory({ kind: this.kind, key: this.key });
    if (actor.onActivate) await actor.onActivate(this, snap?.data);
    this.actor = actor;
    if (!restart) this.stats.activated++;
    this.state = 'active';
    this.mailbox.resume();
  }

  /** Activation or restart failed: refuse what is queued and end. */
  private abort(err: unknown): void {
    this.stats.activationFailures++;
    const e = new Internal(`activation of ${this.kind}/${this.key} failed: ${err instanceof Error ? err.message : String(err)}`, {
      kind: this.kind,
      key: this.key,
      shard: this.shard,
      cause: err,
    });
    for (const env of this.mailbox.takeAll()) {
      if (env.replyTo !== undefined) this.host.answer(env, undefined, e, this.epoch);
    }
    this.end([]);
  }

  /** Starts passivation: user messages wait, the snapshot is written, then the activation ends. */
  beginPassivation(): void {
    if (this.state !== 'active') return;
    this.state = 'passivating';
    this.mailbox.suspend();
    this.mailbox.postSystem({ t: 'passivate' });
  }

  private async stop(): Promise<void> {
    this.clearTimers();
    const actor = this.actor!;
    const data = actor.onPassivate ? await actor.onPassivate(this) : actor.snapshot?.();
    if (data !== undefined) {
      await this.host.saveSnapshot(this.kind, this.key, { data, epoch: this.epoch, savedAt: this.host.now() });
      this.stats.snapshotsSaved++;
    }
    this.stats.passivated++;
    this.end(this.mailbox.takeAll());
  }

  private end(leftover: Envelope[]): void {
    this.state = 'ended';
    this.actor = null;
    this.clearTimers();
    this.host.ended(this, leftover);
  }

  // ---- ActorContext ----

  tell(kind: string, key: string, type: string, body?: unknown, opts?: TellOptions): void {
    this.host.tell(kind, key, type, body, opts);
  }

  ask<R = unknown>(kind: string, key: string, type: string, body?: unknown, opts?: AskOptions): Promise<R> {
    return this.host.ask<R>(kind, key, type, body, opts);
  }

  async persist(): Promise<void> {
    const actor = this.actor;
    if (!actor?.snapshot) throw new Internal(`actor kind '${this.kind}' has no snapshot() to persist`, { kind: this.kind, key: this.key });
    const data = actor.snapshot();
    if (data === undefined) return;
    await this.host.saveSnapshot(this.kind, this.key, { data, epoch: this.epoch, savedAt: this.host.now() });
    this.stats.snapshotsSaved++;
  }

  setTimer(type: string, delayMs: number, opts: { repeat?: boolean; body?: unknown } = {}): void {
    if (this.state === 'ended') return;
    this.cancelTimer(type);
    const env = newEnvelope('', this.kind, this.key, this.shard, this.epoch, type, 0, '', opts.body);
    const fire = () => {
      if (!opts.repeat) this.extras?.timers?.delete(type);
      if (this.state === 'active') this.mailbox.postSystem({ t: 'timer', env });
    };
    const timers = ((this.extras ??= {}).timers ??= new Map());
    timers.set(type, opts.repeat ? setInterval(fire, delayMs) : setTimeout(fire, delayMs));
  }

  cancelTimer(type: string): void {
    const timers = this.extras?.timers;
    const t = timers?.get(type);
    if (t !== undefined) {
      clearTimeout(t);
      timers!.delete(type);
    }
  }

  passivate(): void {
    // The system message runs once the current handler is done, before anything queued.
    this.beginPassivation();
  }

  private clearTimers(): void {
    const timers = this.extras?.timers;
    if (!timers) return;
    for (const t of timers.values()) clearTimeout(t);
    timers.clear();
  }
}
