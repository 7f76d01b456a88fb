import { AppliedWindow, type Seen } from './applied-window.js';
import type { Dispatcher } from './dispatcher.js';
import { ErrorCode, errorFromWire, errorToWire, Fenced, Internal, isRetryable, NoRoute, Overloaded, ReelError, toReelError, Unavailable } from './errors.js';
import { newEnvelope } from './envelope.js';
import { Mailbox, type Invoker } from './mailbox.js';
import type { DurationHistogram, KindStats } from './stats.js';
import type {
  ActivationEndReason, Actor, ActorContext, ActorFactory, AskOptions, Clock, Envelope, RuntimeEvent, ShardOwnership, Snapshot, StoredSnapshot, TellOptions,
} from './types.js';

/** What an activation needs from the node that hosts it. */
export interface ActivationHost {
  readonly nodeId: string;
  readonly dispatcher: Dispatcher;
  readonly clock: Clock;
  /** Incremented on every message: the recency order used by the active-actor cap. */
  nextUse(): number;
  /** How far an activation's place may lag its last use before it is moved. */
  readonly recencySlack: number;
  /** Moves the activation to the recent end of the eviction order. */
  touch(act: Activation): void;
  loadSnapshot(kind: string, key: string): Promise<StoredSnapshot>;
  /** Whether activations keep their snapshot as stored (`warmHandoff`): what a cut leaves for the next owner. */
  readonly keepsStored: boolean;
  /** Writes by compare-and-set; `bytes` when this node keeps what it stored (a warm handoff sends it). */
  saveSnapshot(kind: string, key: string, snap: Snapshot, expectedRevision: number): Promise<{ revision: number; bytes?: Uint8Array }>;
  /** Who may serve which shard; undefined outside a cluster (every hosted shard, epoch 0). */
  readonly ownership: ShardOwnership | undefined;
  /** A window for one activation's applied asks; null when this node keeps none. */
  newWindow(): AppliedWindow | null;
  /** A number for a new activation, unique on this node for this run. */
  nextActivationSeq(): number;
  /** The id of activation number `seq`, unique across the node's runs (built only for events). */
  activationId(seq: number): string;
  /** Reports a fact (activation start and end, snapshot write) to whoever listens. */
  event(e: RuntimeEvent): void;
  /** Answers an inbound ask. */
  answer(env: Envelope, value: unknown, error: ReelError | undefined, epoch: number): void;
  tell(kind: string, key: string, type: string, body: unknown, opts?: TellOptions): void;
  ask<R>(kind: string, key: string, type: string, body: unknown, opts?: AskOptions): Promise<R>;
  /** Sends a message back through routing (it is refused here, and its sender retries). */
  reroute(env: Envelope): void;
  /** The activation is gone (passivated, failed or abandoned); `leftover` were queued behind its end. */
  ended(act: Activation, leftover: Envelope[], reason: ActivationEndReason): void;
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
  | { t: 'save'; done: (saved: boolean) => void }
  | { t: 'timer'; type: string; env: Envelope };

/** Rarely used per-activation state, created on first use. */
interface Extras {
  timers?: Map<string, NodeJS.Timeout>;
  /** Timer types with a tick waiting in the mailbox: a long handler never piles up more than one each. */
  queuedTimers?: Set<string>;
  /** Who waits for this activation's handler in flight to settle (a successor of the same key). */
  quiesced?: Array<() => void>;
  /** The activation of the same key that ended while its handler was still running. */
  predecessor?: Activation;
  /** The last snapshot write: the next runs after it, so that each names the revision the last one made. */
  writeChain?: Promise<unknown>;
  /** What the current ask's handler made durable; absent until it persists. */
  durable?: Durable;
}

/** Bits of `Activation.flags`. */
const LOST = 1;
/** A kind whose every message type is remembered for deduplication. */
const NO_READS: ReadonlySet<string> = new Set();
const RESTARTING = 2;
/** The running handler called `persist`. */
const PERSISTED = 4;

/** What the current ask's handler made durable: the writes it started, and the answer they recorded. */
interface Durable {
  writes: Promise<void>[];
  /** Set when a write recorded the current ask as applied. */
  recorded: { answer: unknown } | null;
}

/** An ask in progress whose effect a write holds: written as applied, confirmed in memory once the write lands. */
interface Writing {
  id: string;
  answer: unknown;
}

export type ActivationState = 'activating' | 'active' | 'passivating' | 'ended';

/**
 * One live actor on one node: its instance, mailbox and lifecycle. It is also the
 * `ActorContext` its handlers receive, so an idle activation costs few objects.
 *
 * Under ownership, nothing it does outlives its lease: the lease is checked before a message
 * starts and again before every effect (reply, tell, ask, snapshot write), so a handler that
 * was paused past the lease changes nothing outside itself.
 */
export class Activation implements Invoker<Envelope, SystemMessage>, ActorContext {
  readonly mailbox: Mailbox<Envelope, SystemMessage>;
  state: ActivationState = 'activating';
  /** Last use, and the use at which it took its place in the host's eviction order. */
  used = 0;
  placed = 0;
  /** When the mailbox last went idle (host monotonic clock, ms). */
  idleSince = 0;
  /** Number of this activation on its node (its id, in events, is built from it when needed). */
  private readonly seq: number;
  private actor: Actor | null = null;
  /** Store revision of this actor's snapshot, for compare-and-set writes. */
  private revision = 0;
  /** The snapshot as stored at `revision`, when the node keeps it (`handOverState`). */
  private stored: Uint8Array | undefined = undefined;
  /** Asks applied (or in progress) with their answers; created by the first ask or snapshot that has some. */
  private window: AppliedWindow | null = null;
  /**
   * Last time this activation acted outside itself while it held its shard: began a message, sent
   * a reply, tell or ask, or issued a write (a write that lands later is fenced by the store).
   */
  private lastActiveAt: number;
  private failures = 0;
  private extras: Extras | null = null;
  /** The message whose handler runs now. */
  private current: Envelope | null = null;
  /**
   * LOST: this node lost the shard (or a newer owner fenced it off), so nothing it does counts any
   * more; RESTARTING: a restart is queued, and further failures before it runs add nothing.
   */
  private flags = 0;
  /**
   * The state in memory, counted: every restart throws it away and raises this. A snapshot taken
   * under an earlier count is never written (a write queued behind the one that failed holds its
   * effects, which the actor's callers were told did not happen).
   */
  private generation = 0;
  /** See `epoch`. */
  private servingEpoch: number;
  /**
   * Changes: counted at the start and at the end of every handler of a message that is not a read
   * (a handler may change the state after its last `persist`). `saved`: the count when the state of
   * the last snapshot written was taken. Equal, memory holds nothing the store lacks.
   */
  private changes = 0;
  private saved = 0;

  /** Whether memory holds changes the store lacks (a pre-copy or a passivation would write). */
  get changed(): boolean {
    return this.changes !== this.saved;
  }

  /** Asks this activation remembers for deduplication. */
  get rememberedAsks(): number {
    return this.window?.size ?? 0;
  }

  /** Forgets the remembered asks that expired by `now`; an empty window goes (it is made again on the next ask). */
  expireApplied(now: number): void {
    if (this.window !== null && this.window.expire(now) === 0) this.window = null;
  }

  /** Whether the actor asks to stay in memory (`Actor.pinned`). */
  get pinned(): boolean {
    return this.actor?.pinned?.() === true;
  }

  constructor(
    private readonly host: ActivationHost,
    private readonly factory: ActorFactory,
    readonly stats: KindStats,
    private readonly limits: ActivationLimits,
    readonly kind: string,
    readonly key: string,
    readonly shard: number,
    epoch: number,
    predecessor?: Activation,
    /** Message types that only read: their asks are not remembered (a copy simply runs again). */
    private readonly reads: ReadonlySet<string> = NO_READS,
    /** A handler that persists changes nothing after its last `persist` (`register`'s `persistsLast`). */
    private readonly persistsLast = false,
  ) {
    this.servingEpoch = epoch;
    this.seq = host.nextActivationSeq();
    this.mailbox = new Mailbox<Envelope, SystemMessage>(this, host.dispatcher, limits.mailboxCapacity);
    this.mailbox.suspend();
    this.mailbox.postSystem({ t: 'activate' });
    this.used = this.placed = host.nextUse();
    this.lastActiveAt = host.clock.monoMs();
    if (predecessor !== undefined) (this.extras ??= {}).predecessor = predecessor;
  }

  /** The shard's owner epoch this activation serves under; raised only by `carryOn`. */
  get epoch(): number {
    return this.servingEpoch;
  }

  get node(): string {
    return this.host.nodeId;
  }

  /** This activation's id in events, unique across its node's runs. */
  get id(): string {
    return this.host.activationId(this.seq);
  }

  private get lost(): boolean {
    return (this.flags & LOST) !== 0;
  }

  /**
   * Takes a message into the mailbox. A copy of an ask this activation has already admitted is
   * not queued again: one still in progress waits for its answer (the window keeps it), one
   * answered is answered again from memory. Returns why a message was refused.
   */
  accept(env: Envelope): ReelError | undefined {
    let marked = false;
    if (env.replyTo !== undefined && !this.reads.has(env.type)) {
      const w = this.window ?? (this.window = this.host.newWindow());
      if (w !== null) {
        const seen = w.admit(env, this.host.clock.monoMs());
        if (seen === 'full') {
          this.stats.type(env.type).overloaded++;
          return new Overloaded(`${this.kind}/${this.key} remembers ${w.size} applied asks that may still be retried; try later`, this.fields());
        }
        if (seen !== undefined) {
          this.repeat(env, seen);
          return undefined;
        }
        marked = true;
      }
    }
    if (this.mailbox.post(env)) return undefined;
    if (marked) this.window!.release(env.id); // no copy can have waited yet
    this.stats.type(env.type).overloaded++;
    return new Overloaded(`mailbox of ${this.kind}/${this.key} is full (${this.limits.mailboxCapacity} messages)`, this.fields());
  }

  // ---- Invoker ----

  invoke(env: Envelope): unknown {
    if (this.state === 'ended') return undefined;
    const host = this.host;
    const isAsk = env.replyTo !== undefined;
    // One clock reading serves both checks (tells without a deadline outside a cluster need none).
    let now = 0;
    if (env.deadline !== 0) {
      now = host.clock.monoMs();
      if (now > env.deadline) {
        // The caller's own timer answers DeadlineExceeded; the handler must not run. A later copy may.
        this.stats.type(env.type).expired++;
        if (isAsk) this.readmit(this.window?.release(env.id));
        return undefined;
      }
    }
    const own = host.ownership;
    if (own !== undefined) {
      // Checked by this node's own clock before every message: a node that was paused or cut
      // off past its lease handles nothing more for the shard.
      if (now === 0) now = host.clock.monoMs();
      if (own.servingEpoch(this.shard, now) !== this.epoch) {
        const copies = isAsk ? (this.window?.release(env.id) ?? []) : [];
        // Handing the shard off: the message goes back to routing (NoRoute, retried by its
        // sender) while passivation flushes the state. Lost: end without a write.
        if (own.holdsEpoch(this.shard, this.epoch, now)) for (const e of [env, ...copies]) host.reroute(e);
        else this.abandon([env, ...copies]);
        return undefined;
      }
      this.lastActiveAt = now;
    }
    if (isAsk && this.window !== null && !this.reads.has(env.type)) {
      // Queued before a snapshot told this activation that the ask was applied already.
      const seen = this.window.seen(env.id, now === 0 ? host.clock.monoMs() : now);
      if (seen !== undefined && seen !== 'in-progress') {
        this.repeat(env, seen);
        return undefined;
      }
    }
    const used = (this.used = host.nextUse());
    if (used - this.placed > host.recencySlack) host.touch(this);
    if (!this.reads.has(env.type)) this.changes++;
    this.flags &= ~PERSISTED;
    this.current = env;
    const durations = this.stats.durations;
    if (durations !== null) return this.timedReceive(env, durations);
    const r = this.actor!.receive(env, this);
    if (r !== null && typeof r === 'object' && typeof (r as PromiseLike<unknown>).then === 'function') {
      return (r as PromiseLike<unknown>).then((v) => this.succeeded(env, v));
    }
    return this.succeeded(env, r);
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
          return this.succeeded(env, v);
        },
        (err: unknown) => {
          h.observe((performance.now() - t0) / 1000);
          throw err;
        },
      );
    }
    h.observe((performance.now() - t0) / 1000);
    return this.succeeded(env, r);
  }

  /** The handler returned `value`; returns a promise when the reply must wait for writes. */
  private succeeded(env: Envelope, value: unknown): unknown {
    this.current = null;
    this.failures = 0;
    this.handlerEnded(env);
    this.stats.type(env.type).handled++;
    const durable = this.extras?.durable;
    if (durable !== undefined) this.extras!.durable = undefined;
    if (env.replyTo === undefined) return undefined;
    if (durable === undefined) {
      this.answerAll(env, this.reads.has(env.type) ? undefined : this.window?.answered(env.id, value, this.host.clock.monoMs()), value, undefined);
      return undefined;
    }
    return this.replyWhenDurable(env, value, durable);
  }

  /** A handler's changes count until a write that starts after it, unless its own last persist wrote them. */
  private handlerEnded(env: Envelope): void {
    if (this.reads.has(env.type)) return;
    if (this.persistsLast && (this.flags & PERSISTED) !== 0) return;
    this.changes++;
  }

  /** Answers an ask and the copies of it that waited. */
  private answerAll(env: Envelope, copies: Envelope[] | undefined, value: unknown, error: ReelError | undefined): void {
    this.reply(env, value, error);
    if (copies !== undefined) for (const c of copies) this.reply(c, value, error);
  }

  /** Copies of an ask that was not applied, admitted again: the first of them runs. */
  private readmit(copies: Envelope[] | undefined): void {
    if (copies === undefined) return;
    for (const c of copies) {
      if (this.state === 'ended') {
        this.host.reroute(c);
        continue;
      }
      const refused = this.accept(c);
      if (refused !== undefined) this.host.answer(c, undefined, refused, 0);
    }
  }

  /**
   * The reply never runs ahead of what is durable: it waits for the handler's writes, and writes
   * once more if they recorded another answer. Until then a copy of the ask finds it in progress:
   * an answer from memory must never be one the store does not hold yet.
   */
  private async replyWhenDurable(env: Envelope, value: unknown, durable: Durable): Promise<void> {
    await Promise.all(durable.writes);
    if (durable.recorded !== null && this.window !== null && !Object.is(durable.recorded.answer, value)) {
      await this.writeState({ id: env.id, answer: value });
    }
    this.answerAll(env, this.window?.answered(env.id, value, this.host.clock.monoMs()), value, undefined);
  }

  private reply(env: Envelope, value: unknown, error: ReelError | undefined): void {
    // Lost meanwhile: no answer the caller could count on, only word to ask the shard's owner now.
    if ((this.host.ownership !== undefined || this.lost) && !this.mayAct()) this.host.answer(env, undefined, this.lostError(), 0);
    else this.host.answer(env, value, error, this.epoch);
  }

  /** Answers a copy of an ask from what the window remembers. */
  private repeat(env: Envelope, seen: Exclude<Seen, undefined>): void {
    this.stats.type(env.type).duplicates++;
    // A copy in progress answers this one (the window keeps it among the waiters).
    if (seen === 'in-progress') return;
    const copies = this.window?.takeWaiters(env.id);
    if ('error' in seen) this.answerAll(env, copies, undefined, errorFromWire(seen.error));
    else this.answerAll(env, copies, seen.value, undefined);
  }

  invokeSystem(msg: SystemMessage): unknown {
    if (this.state === 'ended') return undefined;
    switch (msg.t) {
      case 'activate':
      case 'restart':
        return this.start(msg.t === 'restart');
      case 'passivate':
        return this.stop();
      case 'save':
        return this.saveChanges(msg.done);
      case 'timer':
        this.extras?.queuedTimers?.delete(msg.type);
        return this.invoke(msg.env);
    }
  }

  failed(msg: Envelope | SystemMessage, err: unknown, system: boolean): void {
    if (system && ((msg as SystemMessage).t === 'activate' || (msg as SystemMessage).t === 'restart')) {
      this.abort(err);
      return;
    }
    if (system && (msg as SystemMessage).t === 'save') {
      (msg as { done: (saved: boolean) => void }).done(false);
      return;
    }
    if (system && (msg as SystemMessage).t === 'passivate') {
      if (this.state === 'ended') return;
      // The snapshot could not be written: stay active rather than lose the state.
      this.state = 'active';
      this.mailbox.resume();
      return;
    }
    const env = system ? (msg as { env: Envelope }).env : (msg as Envelope);
    this.current = null;
    this.handlerEnded(env);
    if (this.extras?.durable !== undefined) this.extras.durable = undefined;
    this.stats.type(env.type).failed++;
    const e = toReelError(err, this.fields());
    if (env.replyTo !== undefined) {
      // A retryable error says "not applied": a copy may run again. Any other is the ask's answer.
      if (isRetryable(e.code)) {
        const copies = this.window?.release(env.id);
        this.reply(env, undefined, e);
        this.readmit(copies);
      } else {
        this.answerAll(env, this.reads.has(env.type) ? undefined : this.window?.failed(env.id, errorToWire(e, this.host.nodeId), this.host.clock.monoMs()), undefined, e);
      }
    }
    // A caller's mistake says nothing about the actor's health.
    if (this.state === 'ended' || e.code === ErrorCode.InvalidArgument) return;
    if (++this.failures >= this.limits.maxConsecutiveFailures) this.restart();
  }

  idle(): void {
    this.idleSince = this.host.clock.monoMs();
    const waiters = this.extras?.quiesced;
    if (waiters !== undefined && !this.mailbox.busy) {
      this.extras!.quiesced = undefined;
      for (const w of waiters) w();
    }
  }

  /** Resolves once no handler of this activation is running (for a successor of the same key). */
  quiesced(): Promise<void> {
    if (!this.mailbox.busy) return Promise.resolve();
    return new Promise((r) => ((this.extras ??= {}).quiesced ??= []).push(r));
  }

  // ---- lifecycle ----

  private restart(): void {
    if ((this.flags & RESTARTING) !== 0) return;
    this.flags |= RESTARTING;
    this.generation++;
    this.failures = 0;
    this.stats.restarts++;
    // The state goes back to the snapshot, and the answers with it, from now: a copy of an ask that
    // arrives while the snapshot loads must not be answered from memory the restart throws away.
    this.window?.resetAnswers();
    this.mailbox.suspend();
    this.mailbox.postSystem({ t: 'restart' });
  }

  private async start(restart: boolean): Promise<void> {
    this.flags &= ~RESTARTING;
    this.clearTimers();
    this.actor = null;
    const predecessor = this.extras?.predecessor;
    if (predecessor !== undefined) {
      // Never two activations of a key running at once in one process.
      this.extras!.predecessor = undefined;
      await predecessor.quiesced();
    }
    const { snapshot, revision, bytes } = await this.host.loadSnapshot(this.kind, this.key);
    // Abandoned while its snapshot loaded (its shard lost or claimed again): it never starts.
    if ((this.state as ActivationState) === 'ended') return;
    this.revision = revision;
    this.stored = this.host.keepsStored ? bytes : undefined;
    if (this.host.ownership !== undefined && snapshot !== undefined && snapshot.epoch > this.epoch) {
      throw new Fenced(`snapshot of ${this.kind}/${this.key} was written under epoch ${snapshot.epoch}, newer than ${this.epoch}`, this.fields());
    }
    this.saved = this.changes;
    if (snapshot !== undefined && (snapshot.applied !== undefined || snapshot.dedup !== undefined)) {
      const w = this.window ?? (this.window = this.host.newWindow());
      w?.load(snapshot, this.host.clock.monoMs());
    }
    const actor = this.factory({ kind: this.kind, key: this.key });
    if (actor.onActivate) await actor.onActivate(this, snapshot?.data);
    if ((this.state as ActivationState) === 'ended') return;
    this.actor = actor;
    if (!restart) {
      this.stats.activated++;
      this.host.event({ type: 'activation-start', act: this.id, kind: this.kind, key: this.key, node: this.host.nodeId, epoch: this.epoch, mono: this.host.clock.monoMs() });
    }
    this.state = 'active';
    this.mailbox.resume();
  }

  /** Writes the state now (after any write in flight); the snapshot is taken at the call. */
  private writeState(writing?: Writing): Promise<void> {
    return this.write({ data: this.actor?.snapshot?.(), epoch: this.epoch, savedAt: this.host.clock.wallMs() }, writing);
  }

  /**
   * Writes a snapshot by compare-and-set, after the writes before it. A conflict with a newer
   * owner's write fences this activation off (it ends without another write); a conflict with an
   * older owner's late write (it passed its lease check just before a pause) is overwritten, since
   * this owner's state supersedes it. Any other failure leaves memory ahead of the store, so the
   * activation restarts from its last snapshot and the error is `Unavailable` (retryable); a
   * passivation's own write (`flush`) fails its passivation instead, and the activation stays.
   */
  private write(snap: Snapshot, writing?: Writing, flush = false): Promise<void> {
    // The write acts now, under the lease; when it lands the store's compare-and-set decides.
    if (!this.mayAct()) return Promise.reject(this.lostError());
    const applied = this.window?.entries(this.host.clock.monoMs(), writing);
    if (applied !== undefined && applied.length > 0) snap.applied = applied;
    const extras = (this.extras ??= {});
    // The state was taken at this count: once written, the store holds everything up to it.
    const at = this.changes;
    const generation = this.generation;
    const p = (extras.writeChain ?? Promise.resolve())
      .then(() => (generation === this.generation ? this.writeOnce(snap, flush) : Promise.reject(this.thrownAway())))
      .then(() => {
        if (at > this.saved) this.saved = at;
      });
    const tail = p.catch(() => undefined);
    extras.writeChain = tail;
    void tail.then(() => {
      if (extras.writeChain === tail) extras.writeChain = undefined;
    });
    return p;
  }

  private async writeOnce(snap: Snapshot, flush: boolean): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      if (this.lost) throw this.lostError();
      try {
        const saved = await this.host.saveSnapshot(this.kind, this.key, snap, this.revision);
        this.revision = saved.revision;
        this.stored = saved.bytes;
        break;
      } catch (err) {
        if ((err as ReelError).code !== ErrorCode.Fenced) {
          this.stats.snapshotFailures++;
          // Memory holds effects its callers are told did not happen: back to the last snapshot,
          // also in the middle of a passivation (which then writes nothing). Only a passivation's
          // own write keeps memory (the activation stays, and writes it later).
          if (this.state === 'active' || (this.state === 'passivating' && !flush)) this.restart();
          if (err instanceof ReelError) throw err;
          throw new Unavailable(`snapshot of ${this.kind}/${this.key} could not be written: ${(err as Error).message}`, { ...this.fields(), cause: err });
        }
        const { snapshot, revision } = await this.host.loadSnapshot(this.kind, this.key);
        // What the store holds now is not this activation's state.
        this.stored = undefined;
        if (attempt < 2 && (snapshot?.epoch ?? 0) < this.epoch) {
          this.revision = revision;
          continue;
        }
        this.stats.snapshotsRejected++;
        this.snapshotEvent(false);
        this.fencedOff();
        throw err;
      }
    }
    this.stats.snapshotsSaved++;
    this.snapshotEvent(true);
  }

  /** A write of state that a restart threw away. */
  private thrownAway(): Unavailable {
    return new Unavailable(`snapshot of ${this.kind}/${this.key} not written: a write before it failed, and the actor went back to its last snapshot`, this.fields());
  }

  private snapshotEvent(accepted: boolean): void {
    this.host.event({ type: 'snapshot', act: this.id, kind: this.kind, key: this.key, node: this.host.nodeId, epoch: this.epoch, accepted, mono: this.host.clock.monoMs() });
  }

  /** Activation or restart failed: refuse what is queued and end. */
  private abort(err: unknown): void {
    this.stats.activationFailures++;
    if (this.state === 'ended') return;
    const code = (err as ReelError | undefined)?.code;
    if (code === ErrorCode.Fenced || code === ErrorCode.NoRoute) {
      this.fencedOff();
      return;
    }
    const why = `activation of ${this.kind}/${this.key} failed: ${err instanceof Error ? err.message : String(err)}`;
    // A store that failed for now is worth retrying; a snapshot that cannot be read is not.
    const e = code === ErrorCode.Internal ? new Internal(why, { ...this.fields(), cause: err }) : new Unavailable(why, { ...this.fields(), cause: err });
    for (const env of this.mailbox.takeAll()) if (env.replyTo !== undefined) this.reply(env, undefined, e);
    if ((this.state as ActivationState) !== 'ended') this.end([], 'failed');
  }

  /**
   * A newer owner has written this actor's snapshot: this node's ownership is stale. What is queued
   * is refused with NoRoute (its senders retry, with backoff, and reach the owner once routing
   * knows it) rather than handed to another activation here, which would meet the same fence.
   */
  private fencedOff(): void {
    const queued = this.mailbox.takeAll();
    this.abandon([]);
    for (const env of queued) if (env.replyTo !== undefined) this.host.answer(env, undefined, this.lostError(), 0);
  }

  /**
   * Its node was cut off from NATS, kept this activation parked (every act checks the lease, so it
   * did nothing meanwhile), and took the shard back under `epoch` from the very entry it had
   * written: nobody owned the shard in between, so what this activation holds (in memory, or being
   * read again after a failed write) is still the newest state, and it goes on under the new epoch.
   * Returns false when it ended meanwhile.
   */
  carryOn(epoch: number): boolean {
    if (this.state === 'ended' || this.lost || epoch <= this.epoch) return false;
    const from = this.servingEpoch;
    this.servingEpoch = epoch;
    this.host.event({ type: 'activation-carry', act: this.id, kind: this.kind, key: this.key, node: this.host.nodeId, epoch, from, mono: this.host.clock.monoMs() });
    return true;
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
    this.flags |= LOST;
    this.stats.abandoned++;
    this.end([...pending, ...this.mailbox.takeAll()], 'abandoned');
  }

  /**
   * Writes the state between two handlers if it changed since the last write, and stays active
   * (a handoff's pre-copy: the shard keeps serving while most of its state reaches the store).
   * `done(true)` once written, `done(false)` when nothing was to be written or the write failed
   * (a failed write restarts the activation as any failed write does; the cut writes it then).
   */
  requestSave(done: (saved: boolean) => void): void {
    if (this.state !== 'active' || !this.changed || (this.flags & RESTARTING) !== 0) return done(false);
    this.mailbox.postSystem({ t: 'save', done });
  }

  private async saveChanges(done: (saved: boolean) => void): Promise<void> {
    // A restart queued: memory is being thrown away, and must not reach the store.
    if (this.state !== 'active' || !this.changed || this.actor?.snapshot === undefined || (this.flags & RESTARTING) !== 0) return done(false);
    try {
      await this.writeState();
      done(true);
    } catch {
      done(false);
    }
  }

  /**
   * The state this activation ended with, exactly as stored, for the shard's next owner: only
   * when everything it applied is written and the node kept the bytes of that write (or read).
   * (At the end of a passivation no handler runs: the passivation is the mailbox's last message.)
   */
  handOverState(): { revision: number; bytes: Uint8Array } | undefined {
    if (this.stored === undefined || this.changed || this.lost) return undefined;
    return { revision: this.revision, bytes: this.stored };
  }

  /**
   * Ends at once when passivation would write nothing and nothing runs or waits: the store holds
   * all of its state (a handoff's cut after the pre-copy). Returns whether it ended.
   */
  passivateIfClean(): boolean {
    if (this.state !== 'active' || this.changed || this.mailbox.busy || this.actor?.onPassivate !== undefined) return false;
    this.state = 'passivating';
    this.clearTimers();
    this.stats.passivated++;
    this.end([], 'passivated');
    return true;
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
    if (!this.mayAct()) return;
    if ((this.flags & RESTARTING) !== 0) {
      // A write failed and a restart is queued: what memory holds beyond the store is thrown away,
      // so the activation ends with the store's state as its last, writing nothing.
      this.stats.passivated++;
      this.end(this.mailbox.takeAll(), 'passivated');
      return;
    }
    const actor = this.actor!;
    // Nothing changed since the last write (a pre-copy's, or the handlers' own): nothing to write.
    const changed = this.changed;
    const data = actor.onPassivate ? await actor.onPassivate(this) : changed ? actor.snapshot?.() : undefined;
    if (data !== undefined || (changed && this.window !== null && this.window.size > 0)) {
      await this.write({ data, epoch: this.epoch, savedAt: this.host.clock.wallMs() }, undefined, true);
    }
    // A fenced write ended the activation meanwhile (TS cannot see the change across the await).
    if ((this.state as ActivationState) === 'ended') return;
    this.stats.passivated++;
    this.end(this.mailbox.takeAll(), 'passivated');
  }

  private end(leftover: Envelope[], reason: ActivationEndReason): void {
    this.state = 'ended';
    this.actor = null;
    this.clearTimers();
    const host = this.host;
    const now = host.clock.monoMs();
    host.event({
      type: 'activation-end', act: this.id, kind: this.kind, key: this.key, node: host.nodeId, epoch: this.epoch, reason, mono: now,
      lastActiveMono: reason === 'abandoned' ? this.lastActiveAt : now,
    });
    host.ended(this, leftover, reason);
  }

  /**
   * Before every effect: whether this activation may still act (it was not abandoned, and this
   * node holds its epoch now). If so the act is noted; if not, the activation ends without a write
   * (from inside a handler, the key's next activation waits for the handler to settle).
   */
  private mayAct(): boolean {
    const own = this.host.ownership;
    const now = this.host.clock.monoMs();
    if (!this.lost && (own === undefined || own.holdsEpoch(this.shard, this.epoch, now))) {
      this.lastActiveAt = now;
      return true;
    }
    this.abandon([]);
    return false;
  }

  private lostError(): NoRoute {
    return new NoRoute(`node ${this.host.nodeId} no longer holds shard ${this.shard} (${this.kind}/${this.key})`, this.fields());
  }

  private fields(): { kind: string; key: string; shard: number; node: string } {
    return { kind: this.kind, key: this.key, shard: this.shard, node: this.host.nodeId };
  }

  // ---- ActorContext ----

  tell(kind: string, key: string, type: string, body?: unknown, opts?: TellOptions): void {
    if (!this.mayAct()) throw this.lostError();
    this.host.tell(kind, key, type, body, opts);
  }

  ask<R = unknown>(kind: string, key: string, type: string, body?: unknown, opts?: AskOptions): Promise<R> {
    if (!this.mayAct()) return Promise.reject(this.lostError());
    return this.host.ask<R>(kind, key, type, body, opts);
  }

  persist(...args: [answer?: unknown]): Promise<void> {
    if (!this.mayAct()) return Promise.reject(this.lostError());
    const actor = this.actor;
    if (!actor?.snapshot) return Promise.reject(new Internal(`actor kind '${this.kind}' has no snapshot() to persist`, this.fields()));
    this.flags |= PERSISTED;
    const env = this.current;
    let durable: Durable | undefined;
    let writing: Writing | undefined;
    if (env !== null && env.replyTo !== undefined) {
      durable = (this.extras ??= {}).durable ??= { writes: [], recorded: null };
      if (this.window !== null) {
        // The ask is written as applied together with its effect, never after it.
        const answer = args.length > 0 ? args[0] : undefined;
        writing = { id: env.id, answer };
        durable.recorded = { answer };
      }
    }
    const p = this.writeState(writing);
    durable?.writes.push(p);
    return p;
  }

  setTimer(type: string, delayMs: number, opts: { repeat?: boolean; body?: unknown } = {}): void {
    if (this.state === 'ended') return;
    this.cancelTimer(type);
    const env = newEnvelope('', this.kind, this.key, this.shard, this.epoch, type, 0, '', opts.body);
    const extras = (this.extras ??= {});
    const fire = () => {
      if (!opts.repeat) extras.timers?.delete(type);
      if (this.state !== 'active') return;
      const queued = (extras.queuedTimers ??= new Set());
      if (queued.has(type)) return; // one tick already waits behind a long handler
      queued.add(type);
      this.mailbox.postSystem({ t: 'timer', type, env });
    };
    const timers = (extras.timers ??= new Map());
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
    this.extras!.queuedTimers?.clear();
  }
}
