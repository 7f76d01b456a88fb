import type { WireError } from './errors.js';
import type { AppliedEntry, Snapshot } from './types.js';

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
}

/** What a lookup found: nothing, a copy in progress, or the answer to give again. */
export type Seen = undefined | 'in-progress' | { value: unknown } | { error: WireError };

/** Below this many entries the window never sweeps: sweeping a small map costs more than it saves. */
const MIN_SWEEP_SIZE = 256;

/**
 * The asks one activation has applied, with their answers, kept until no copy of them can
 * still arrive: an ask's deadline (on this node's monotonic clock) plus a margin for a copy that
 * spent longer in transit than the first. Retention is by time, not by count, so a busy actor
 * forgets nothing a caller may still retry; the count is only a memory bound, past which new
 * asks are refused rather than an id forgotten. Expired entries go in bulk when the map has
 * doubled since the last sweep, which costs O(1) per ask.
 */
export class AppliedWindow {
  private readonly slots = new Map<string, Slot>();
  private sweepAt = MIN_SWEEP_SIZE;

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
   * Admits a new copy of ask `id` whose deadline is `deadline`: returns what is already known of it
   * (the copy is then not to be queued), or undefined after marking it in progress. Returns
   * 'full' when the window holds `maxEntries` unexpired asks.
   */
  admit(id: string, deadline: number, now: number): Seen | 'full' {
    const slot = this.live(id, now);
    if (slot !== undefined) {
      // A later copy may carry a later deadline (it spent less time in transit): keep it longer.
      const keep = Math.min(deadline, now + this.defaultKeepMs) + this.marginMs;
      if (keep > slot.keepUntil) slot.keepUntil = keep;
      return describe(slot.answer);
    }
    if (this.slots.size >= this.sweepAt) this.sweep(now);
    if (this.slots.size >= this.maxEntries) return 'full';
    // No ask lives longer than the longest deadline, whatever a frame claims.
    const until = deadline > 0 ? Math.min(deadline, now + this.defaultKeepMs) : now + this.defaultKeepMs;
    this.slots.set(id, { answer: IN_PROGRESS, keepUntil: until + this.marginMs });
    return undefined;
  }

  /** Records the answer of an applied ask. */
  answered(id: string, value: unknown, now: number): void {
    this.put(id, value === undefined ? UNDEFINED : value, now);
  }

  /** Records the error an applied ask failed with. */
  failed(id: string, wire: WireError, now: number): void {
    this.put(id, new RememberedError(wire), now);
  }

  /** Forgets an ask that was not applied (dropped unhandled, or refused as retryable): a copy may run. */
  forget(id: string): void {
    this.slots.delete(id);
  }

  /** Drops every answer, keeping the marks of copies still queued (a restart rolled the state back). */
  resetAnswers(): void {
    for (const [id, slot] of this.slots) if (slot.answer !== IN_PROGRESS) this.slots.delete(id);
  }

  /** The applied asks as a snapshot keeps them: answered and unexpired, with the ms each is still kept. */
  entries(now: number): AppliedEntry[] {
    const out: AppliedEntry[] = [];
    for (const [id, slot] of this.slots) {
      const keep = Math.ceil(slot.keepUntil - now);
      if (keep <= 0 || slot.answer === IN_PROGRESS) continue;
      const a = slot.answer;
      out.push(a instanceof RememberedError ? [id, keep, undefined, a.wire] : [id, keep, a === UNDEFINED ? undefined : a]);
    }
    return out;
  }

  /** Adds what a snapshot remembers, kept from `now` for as long as it says. Its answers win over marks of copies in progress. */
  load(snap: Snapshot, now: number): void {
    if (snap.applied !== undefined) {
      for (const e of snap.applied) this.slots.set(e[0], { answer: e.length === 4 ? new RememberedError(e[3]) : e[2] === undefined ? UNDEFINED : e[2], keepUntil: now + e[1] });
    } else if (snap.dedup !== undefined) {
      // Written by envelope version 2, which kept no deadlines: keep each as long as any ask may live.
      const keepUntil = now + this.defaultKeepMs + this.marginMs;
      for (const e of snap.dedup) this.slots.set(e[0], { answer: e.length === 3 ? new RememberedError(e[2]) : e[1] === undefined ? UNDEFINED : e[1], keepUntil });
    }
  }

  private put(id: string, answer: unknown, now: number): void {
    const slot = this.slots.get(id);
    if (slot !== undefined) slot.answer = answer;
    else this.slots.set(id, { answer, keepUntil: now + this.defaultKeepMs + this.marginMs });
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

  private sweep(now: number): void {
    for (const [id, slot] of this.slots) if (slot.keepUntil <= now) this.slots.delete(id);
    this.sweepAt = Math.max(MIN_SWEEP_SIZE, 2 * this.slots.size);
  }
}

function describe(answer: unknown): Seen {
  if (answer === IN_PROGRESS) return 'in-progress';
  if (answer instanceof RememberedError) return { error: answer.wire };
  return { value: answer === UNDEFINED ? undefined : answer };
}
