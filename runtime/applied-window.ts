import type { WireError } from './errors.js';
import type { AppliedEntry, Envelope, Snapshot } from './types.js';

/** The answer `undefined`, stored as a marker so that one lookup tells presence. */
const UNDEFINED = Symbol('undefined answer');
/** Admitted (queued or running) and not answered yet: further copies are dropped. */
const IN_PROGRESS = Symbol('in progress');

/** A failed ask's answer. */
export class RememberedError {
  constructor(readonly wire: WireError) {}
}

/** One remembered ask: its answer (or a marker) and until when (monotonic ms) a copy may still arrive. */
interface Slot {
  answer: unknown;
  keepUntil: number;
  /** Other asks with this id that arrived while it was in progress: they get its answer too. */
  waiters: Envelope[] | undefined;
}

/** Copies of one ask waiting for its answer, at most (more are dropped; their senders resend). */
const MAX_WAITERS = 16;

/** What a lookup found: nothing, a copy in progress, or the answer to give again. */
export type Seen = undefined | 'in-progress' | { value: unknown } | { error: WireError };

/** Below this many entries the window never sweeps: sweeping a small map costs more than it saves. */
const MIN_SWEEP_SIZE = 256;
/** Every this many new asks, expired entries are dropped from the oldest end, at most TRIM_MAX of them. */
const TRIM_EVERY = 16;
/** A full window sweeps at most this often (ms). */
const FULL_SWEEP_MS = 100;
const TRIM_MAX = 64;

/**
 * The asks one activation has applied, with their answers, kept until no copy of them can
 * still arrive: an ask's deadline (on this node's monotonic clock) plus a margin for a copy that
 * spent longer in transit than the first. Retention is by time, not by count, so a busy actor
 * forgets nothing a caller may still retry; the count is only a memory bound, past which new
 * asks are refused rather than an id forgotten. Expired entries go from the oldest end as new
 * asks come, and in bulk when the map has doubled since the last sweep: O(1) per ask.
 */
export class AppliedWindow {
  private readonly slots = new Map<string, Slot>();
  private sweepAt = MIN_SWEEP_SIZE;
  private admitted = 0;
  private sweptAt = -Infinity;

  constructor(
    /** Entries at most; `admit` refuses past it. */
    private readonly maxEntries: number,
    /** Kept this long past an ask's deadline, in ms. */
    private readonly marginMs: number,
    /** How long to keep an entry whose deadline is unknown (written by an older version), in ms. */
    private readonly defaultKeepMs: number,
  ) {}

  get size(): number {
    return this.slots.size;
  }

  /** What is known of `id` at `now`. */
  seen(id: string, now: number): Seen {
    const slot = this.live(id, now);
    if (slot === undefined) return undefined;
    return describe(slot.answer);
  }

  /**
   * Admits a copy of the ask `env` (whose deadline is on this node's clock): returns what is
   * already known of its id, and the copy is not to be queued (one arriving while the id is in
   * progress waits for its answer); or undefined after marking the id in progress. Returns 'full'
   * when the window holds `maxEntries` unexpired asks.
   */
  admit(env: Envelope, now: number): Seen | 'full' {
    const id = env.id;
    const deadline = env.deadline;
    const slot = this.live(id, now);
    if (slot !== undefined) {
      // A later copy may carry a later deadline (it spent less time in transit): keep it longer.
      const keep = Math.ceil(Math.min(deadline, now + this.defaultKeepMs) + this.marginMs);
      if (keep > slot.keepUntil) slot.keepUntil = keep;
      // Resends of one ask share a reply address, other asks with the id do not: answer every one.
      if (slot.answer === IN_PROGRESS && (slot.waiters?.length ?? 0) < MAX_WAITERS) (slot.waiters ??= []).push(env);
      return describe(slot.answer);
    }
    if ((++this.admitted & (TRIM_EVERY - 1)) === 0) this.trim(now);
    // Full: sweep (at most every FULL_SWEEP_MS, so that refusing asks stays cheap) before refusing.
    if (this.slots.size >= this.sweepAt || (this.slots.size >= this.maxEntries && now - this.sweptAt >= FULL_SWEEP_MS)) this.sweep(now);
    if (this.slots.size >= this.maxEntries) return 'full';
    // No ask lives longer than the longest deadline, whatever a frame claims.
    const until = deadline > 0 ? Math.min(deadline, now + this.defaultKeepMs) : now + this.defaultKeepMs;
    // Every slot has the same three fields from birth (one object shape), and whole ms (no boxed doubles).
    this.slots.set(id, { answer: IN_PROGRESS, keepUntil: Math.ceil(until + this.marginMs), waiters: undefined });
    return undefined;
  }

  /** Records the answer of an applied ask; returns the copies that waited for it. */
  answered(id: string, value: unknown, now: number): Envelope[] {
    return this.put(id, value === undefined ? UNDEFINED : value, now);
  }

  /**
   * Records the error an applied ask failed with, unless an answer was already written with its
   * effect (that one stands); returns the copies that waited for it.
   */
  failed(id: string, wire: WireError, now: number): Envelope[] {
    const slot = this.slots.get(id);
    if (slot !== undefined && slot.answer !== IN_PROGRESS) return [];
    return this.put(id, new RememberedError(wire), now);
  }

  /**
   * Lets a later copy of `id` run: its copy in progress was not applied (dropped unhandled, or
   * refused as retryable). Returns the copies that waited, to be admitted again. An answer
   * already recorded (written with its effect) is kept.
   */
  release(id: string): Envelope[] {
    const slot = this.slots.get(id);
    if (slot?.answer !== IN_PROGRESS) return [];
    this.slots.delete(id);
    return slot.waiters ?? [];
  }

  /** The copies that waited for `id`, which was answered another way (from a snapshot). */
  takeWaiters(id: string): Envelope[] {
    const slot = this.slots.get(id);
    const waiters = slot?.waiters;
    if (waiters === undefined) return [];
    slot!.waiters = undefined;
    return waiters;
  }

  /** Drops every answer, keeping the marks of copies still queued (a restart rolled the state back). */
  resetAnswers(): void {
    for (const [id, slot] of this.slots) if (slot.answer !== IN_PROGRESS) this.slots.delete(id);
  }

  /**
   * The applied asks as a snapshot keeps them: answered and unexpired, with the ms each is still
   * kept; `writing` (an ask in progress whose effect this snapshot holds) is written as applied,
   * with its answer, while memory keeps it in progress until the write is confirmed.
   */
  entries(now: number, writing?: { id: string; answer: unknown }): AppliedEntry[] {
    const out: AppliedEntry[] = [];
    for (const [id, slot] of this.slots) {
      const keep = Math.ceil(slot.keepUntil - now);
      if (keep <= 0) continue;
      if (writing !== undefined && id === writing.id) continue;
      if (slot.answer === IN_PROGRESS) continue;
      const a = slot.answer;
      out.push(a instanceof RememberedError ? [id, keep, undefined, a.wire] : [id, keep, a === UNDEFINED ? undefined : a]);
    }
    if (writing !== undefined) {
      const slot = this.slots.get(writing.id);
      out.push([writing.id, Math.max(1, Math.ceil(slot !== undefined ? slot.keepUntil - now : this.defaultKeepMs + this.marginMs)), writing.answer]);
    }
    return out;
  }

  /** Adds what a snapshot remembers, kept from `now` for as long as it says. Its answers win over marks of copies in progress. */
  load(snap: Snapshot, now: number): void {
    const set = (id: string, answer: unknown, keepUntil: number) => {
      // Copies admitted while the snapshot loaded keep waiting, for the answer it holds.
      this.slots.set(id, { answer, keepUntil: Math.ceil(keepUntil), waiters: this.slots.get(id)?.waiters });
    };
    if (snap.applied !== undefined) {
      for (const e of snap.applied) set(e[0], e.length === 4 ? new RememberedError(e[3]) : e[2] === undefined ? UNDEFINED : e[2], now + e[1]);
    } else if (snap.dedup !== undefined) {
      // Written by envelope version 2, which kept no deadlines: keep each as long as any ask may live.
      const keepUntil = now + this.defaultKeepMs + this.marginMs;
      for (const e of snap.dedup) set(e[0], e.length === 3 ? new RememberedError(e[2]) : e[1] === undefined ? UNDEFINED : e[1], keepUntil);
    }
  }

  private put(id: string, answer: unknown, now: number): Envelope[] {
    const slot = this.slots.get(id);
    if (slot === undefined) {
      this.slots.set(id, { answer, keepUntil: Math.ceil(now + this.defaultKeepMs + this.marginMs), waiters: undefined });
      return [];
    }
    slot.answer = answer;
    const waiters = slot.waiters;
    if (waiters === undefined) return [];
    slot.waiters = undefined;
    return waiters;
  }

  private live(id: string, now: number): Slot | undefined {
    const slot = this.slots.get(id);
    if (slot === undefined) return undefined;
    // A mark in progress expires too: its copy cannot outlive its deadline in the mailbox, and
    // copies run one at a time, so a late one finds the first's answer when its turn comes.
    if (slot.keepUntil > now) return slot;
    this.slots.delete(id);
    return undefined;
  }

  /**
   * Drops expired entries from the oldest end until an unexpired one. Asks of similar deadlines
   * expire in the order they came, so this keeps the map near its live size without a full sweep.
   */
  /**
   * Drops the expired entries at the oldest end (entries are added in about the order they
   * expire), stopping at the first live one; returns the entries left. Called for every
   * activation on the idle sweep: an actor that got a burst of asks (a bulk load sorted by
   * user) and then none would otherwise keep every one of them for as long as it lives.
   */
  expire(now: number): number {
    for (const [id, slot] of this.slots) {
      if (slot.keepUntil > now) break;
      this.slots.delete(id);
    }
    return this.slots.size;
  }

  private trim(now: number): void {
    let n = 0;
    for (const [id, slot] of this.slots) {
      if (slot.keepUntil > now || ++n > TRIM_MAX) return;
      this.slots.delete(id);
    }
  }

  private sweep(now: number): void {
    this.sweptAt = now;
    for (const [id, slot] of this.slots) if (slot.keepUntil <= now) this.slots.delete(id);
    this.sweepAt = Math.max(MIN_SWEEP_SIZE, 2 * this.slots.size);
  }
}

function describe(answer: unknown): Seen {
  if (answer === IN_PROGRESS) return 'in-progress';
  if (answer instanceof RememberedError) return { error: answer.wire };
  return { value: answer === UNDEFINED ? undefined : answer };
}
