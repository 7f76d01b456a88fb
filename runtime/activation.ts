import type { Dispatcher } from './dispatcher.js';
import { errorFromWire, errorToWire, Fenced, Internal, toReelError, type ReelError, type WireError } from './errors.js';
import { newEnvelope } from './envelope.js';
import { Mailbox, type Invoker } from './mailbox.js';
import type { DurationHistogram, KindStats } from './stats.js';
import type {
  Actor, ActorContext, ActorFactory, AskOptions, DedupEntry, Envelope, RuntimeEvent, ShardOwnership, Snapshot, StoredSnapshot, TellOptions,
} from './types.js';

/** An answer of `undefined` in the dedup window. */
const UNDEFINED = Symbol('undefined answer');

/** A failed ask's answer in the dedup window. */
class RememberedError {
  constructor(readonly wire: WireError) {}
}

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
  loadSnapshot(kind: string, key: string): Promise<StoredSnapshot>;
  saveSnapshot(kind: string, key: string, snap: Snapshot, expectedRevision: number): Promise<number>;
  /** Who may serve which shard; undefined outside a cluster (every hosted shard, epoch 0). */
  readonly ownership: ShardOwnership | undefined;
  /** Ask ids (with answers) an activation remembers, and keeps in its snapshot. */
  readonly dedupWindow: number;
  /** Reports a fact (activation lifetime, snapshot write) to whoever listens. */
  event(e: RuntimeEvent): void;
  /** Answers an inbound ask. */
  answer(env: Envelope, value: unknown, error: ReelError | undefined, epoch: number): void;
  tell(kind: string, key: string, type: string, body: unknown, opts?: TellOptions): void;
  ask<R>(kind: string, key: string, type: string, body: unknown, opts?: AskOptions): Promise<R>;
  /** Sends a message back through routing (it is refused here, and its sender retries). */
  reroute(env: Envelope): void;
  /** The activation is gone (passivated, failed or abandoned); `leftover` were queued behind its end. */
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
  /** Store revision of this actor's snapshot, for compare-and-set writes. */
  private revision = 0;
  /** Recent ask ids and their answers (insertion order = age); created by the first ask. */
  private dedup: Map<string, unknown> | null = null;
  private readonly startedAt: number;
  /** Last time this activation ran a handler while it held its shard (tracked under ownership). */
  private lastActiveAt: number;
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
    this.startedAt = this.lastActiveAt = host.now();
  }

  get node(): string {
    return this.host.nodeId;
  }

  // ---- Invoker ----

  invoke(env: Envelope): unknown {
    const host = this.host;
    if (this.state === 'ended') return undefined;
    if (env.deadline !== 0 && host.now() > env.deadline) {
      // The caller's own timer answers DeadlineExceeded; the handler must not run.
      this.stats.type(env.type).expired++;
      return undefined;
    }
    const own = host.ownership;
    if (own !== undefined) {
      // Checked by this node's own clock before every message: a node that was paused or
      // cut off past its lease handles nothing more for the shard, and writes nothing.
      const now = host.now();
      if (own.servingEpoch(this.shard, now) !== this.epoch) {
        // Handing the shard off: the message goes back to routing (NoRoute, retried by
        // its sender) while passivation flushes the state. Lost: end without a write.
        if (own.holdsEpoch(this.shard, this.epoch, now)) host.reroute(env);
        else this.abandon([env]);
        return undefined;
      }
      this.lastActiveAt = now;
    }
    if (env.replyTo !== undefined && this.dedup !== null) {
      const prev = this.dedup.get(env.id);
      if (prev !== undefined) {
        // A retry of an ask already applied (its reply was lost, or it moved with a handoff).
        this.stats.type(env.type).duplicates++;
        if (prev instanceof RememberedError) host.answer(env, undefined, errorFromWire(prev.wire), this.epoch);
        else host.answer(env, prev === UNDEFINED ? undefined : prev, undefined, this.epoch);
        return undefined;
      }
    }
    const used = (this.used = host.nextUse());
    if (used - this.placed > host.recencySlack) host.touch(this);
    const durations = this.stats.durations;
    if (durations !== null) return this.timedReceive(env, durations);
    const r = this.actor!.receive(env, this);
    if (r !== null && typeof r === 'object' && typeof (r as PromiseLike<unknown>).then === 'function') {
      return (r as PromiseLike<unknown>).then((v) => this.succeeded(env, v));
    }
    this.succeeded(env, r);
    return undefined;
  }

  /** `receive` with its duration recorded (nodes that export metrics). */
  private timedReceive(env: Envelope, h: DurationHistogram): unknown {
    const t0 = performance.now();
    let r: unknown;
    try {
      r = this.actor!.receive(env, this);
    } catch (err) {
      h.observe((performance.now() - t0) / 1000);
      throw err;
    }
    if (r !== null && typeof r === 'object' && typeof (r as PromiseLike<unknown>).then === 'function') {
      return (r as PromiseLike<unknown>).then(
        (v) => {
          h.observe((performance.now() - t0) / 1000);
          this.succeeded(env, v);
        },
        (err: unknown) => {
          h.observe((performance.now() - t0) / 1000);
          throw err;
        },
      );
    }
    h.observe((performance.now() - t0) / 1000);
    this.succeeded(env, r);
    return undefined;
  }

  private succeeded(env: Envelope, value: unknown): void {
    this.failures = 0;
    this.stats.type(env.type).handled++;
    if (env.replyTo !== undefined) {
      this.remember(env.id, value);
      this.host.answer(env, value, undefined, this.epoch);
    }
  }

  /**
   * Keeps an ask's answer by its id. The window holds between W and 2W ids: when it reaches
   * 2W the older half goes at once, which costs less per ask than evicting one by one.
   */
  private remember(id: string, answer: unknown): void {
    const w = this.host.dedupWindow;
    if (w === 0) return;
    let d = this.dedup;
    if (d === null) d = this.dedup = new Map();
    else if (d.size >= 2 * w) d = this.dedup = new Map([...d].slice(-w));
    // An answer of undefined is stored as a marker, so that one lookup tells presence.
    d.set(id, answer === undefined ? UNDEFINED : answer);
  }

  /** The dedup window as snapshots store it. */
  private dedupEntries(): DedupEntry[] {
    const out: DedupEntry[] = [];
    for (const [id, v] of this.dedup!) out.push(v instanceof RememberedError ? [id, undefined, v.wire] : [id, v === UNDEFINED ? undefined : v]);
    return out;
  }

  invokeSystem(msg: SystemMessage): unknown {
    if (this.state === 'ended') return undefined;
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
      if (this.state === 'ended') return;
      // The snapshot could not be written: stay active rather than lose the state.
      this.stats.snapshotFailures++;
      this.state = 'active';
      this.mailbox.resume();
      return;
    }
    const env = system ? (msg as { env: Envelope }).env : (msg as Envelope);
    this.stats.type(env.type).failed++;
    if (env.replyTo !== undefined) {
      const e = toReelError(err, { kind: this.kind, key: this.key, shard: this.shard });
      this.remember(env.id, new RememberedError(errorToWire(e, this.host.nodeId)));
      this.host.answer(env, undefined, e, this.epoch);
    }
    if (this.state === 'ended') return;
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
    const { snapshot, revision } = await this.host.loadSnapshot(this.kind, this.key);
    this.revision = revision;
    if (this.host.ownership !== undefined && this.epoch > 0) {
      const stored = snapshot?.epoch ?? 0;
      if (stored > this.epoch) throw new Fenced(`snapshot of ${this.kind}/${this.key} was written under epoch ${stored}, newer than ${this.epoch}`);
      // The first activation under a new epoch marks the snapshot with it, so that a late
      // write by the previous owner (paused between its lease check and its write) loses
      // its compare-and-set even if this activation never writes state of its own.
      if (stored < this.epoch) await this.write({ ...(snapshot ?? { data: undefined, epoch: 0, savedAt: 0 }), epoch: this.epoch, savedAt: this.host.now() });
    }
    if (snapshot?.dedup) this.dedup = new Map(snapshot.dedup.map((e) => [e[0], e.length === 3 ? new RememberedError(e[2]) : e[1]]));
    const actor = this.factory({ kind: this.kind, key: this.key });
    if (actor.onActivate) await actor.onActivate(this, snapshot?.data);
    this.actor = actor;
    if (!restart) this.stats.activated++;
    this.state = 'active';
    this.mailbox.resume();
  }

  /** Writes a snapshot by compare-and-set; a lost race (`Fenced`) ends this activation without another write. */
  private async write(snap: Snapshot): Promise<void> {
    if (this.dedup !== null && this.dedup.size > 0) snap.dedup = this.dedupEntries();
    try {
      this.revision = await this.host.saveSnapshot(this.kind, this.key, snap, this.revision);
    } catch (err) {
      if ((err as ReelError).code === 'Fenced') {
        this.stats.snapshotsRejected++;
        this.host.event({ type: 'snapshot', kind: this.kind, key: this.key, node: this.host.nodeId, epoch: this.epoch, accepted: false, at: this.host.now() });
        this.abandon(this.mailbox.takeAll());
      }
      throw err;
    }
    this.stats.snapshotsSaved++;
    this.host.event({ type: 'snapshot', kind: this.kind, key: this.key, node: this.host.nodeId, epoch: this.epoch, accepted: true, at: this.host.now() });
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
    if (this.state === 'ended') return;
    if ((err as ReelError | undefined)?.code === 'Fenced' || (err as ReelError | undefined)?.code === 'NoRoute') {
      // Someone newer owns this actor: what is queued goes back to routing (NoRoute, retried).
      this.abandon(this.mailbox.takeAll());
      return;
    }
    for (const env of this.mailbox.takeAll()) {
      if (env.replyTo !== undefined) this.host.answer(env, undefined, e, this.epoch);
    }
    this.end([], 'failed');
  }

  /** Ends now without writing anything (the node lost this actor's shard). */
  abandonNow(): void {
    this.abandon([]);
  }

  /**
   * Ends without writing anything: this node no longer holds the shard (lease ran out,
   * ownership moved, or a newer owner's snapshot fenced us off). `pending` goes back to
   * routing, where it is refused with NoRoute and retried by its senders.
   */
  private abandon(pending: Envelope[]): void {
    if (this.state === 'ended') return;
    this.stats.abandoned++;
    this.end([...pending, ...this.mailbox.takeAll()], 'abandoned');
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
    const own = this.host.ownership;
    if (own !== undefined && !own.holdsEpoch(this.shard, this.epoch, this.host.now())) {
      this.abandon([]);
      return;
    }
    const actor = this.actor!;
    const data = actor.onPassivate ? await actor.onPassivate(this) : actor.snapshot?.();
    if (data !== undefined || (this.dedup !== null && this.dedup.size > 0)) {
      await this.write({ data, epoch: this.epoch, savedAt: this.host.now() });
    }
    if (this.state === 'ended') return;
    this.stats.passivated++;
    this.end(this.mailbox.takeAll(), 'passivated');
  }

  /** Ends at once (node shutdown without a handoff, or a failed activation). */
  private end(leftover: Envelope[], reason: 'passivated' | 'abandoned' | 'failed' | 'stopped'): void {
    this.state = 'ended';
    this.actor = null;
    this.clearTimers();
    const host = this.host;
    const end = reason === 'abandoned' ? this.lastActiveAt : host.now();
    host.event({ type: 'activation', kind: this.kind, key: this.key, node: host.nodeId, epoch: this.epoch, start: this.startedAt, end, reason });
    host.ended(this, leftover);
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
    await this.write({ data, epoch: this.epoch, savedAt: this.host.now() });
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
