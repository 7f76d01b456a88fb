/** What became of the messages of one type. */
export class TypeStats {
  /** Handler completed. */
  handled = 0;
  /** Handler threw or rejected. */
  failed = 0;
  /** Dropped unhandled: the deadline passed while queued. */
  expired = 0;
  /** Refused: the mailbox was full. */
  overloaded = 0;
  /** A retried ask answered from the dedup window without running the handler again. */
  duplicates = 0;
}

/** Outcomes a message can have, as metrics label them. */
export const MESSAGE_OUTCOMES = ['handled', 'failed', 'expired', 'overloaded', 'duplicates'] as const;
export type MessageOutcome = (typeof MESSAGE_OUTCOMES)[number];

/** Upper bounds of the message duration histogram, in seconds. */
export const DURATION_BUCKETS_S = [0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5] as const;

/** Handler durations of one kind: cumulative-free bucket counts, read by metrics at scrape time. */
export class DurationHistogram {
  /** counts[i]: observations in (bound[i-1], bound[i]]; the last slot is +Inf. */
  readonly counts = new Float64Array(DURATION_BUCKETS_S.length + 1);
  sum = 0;
  count = 0;

  observe(seconds: number): void {
    let i = 0;
    while (i < DURATION_BUCKETS_S.length && seconds > DURATION_BUCKETS_S[i]!) i++;
    this.counts[i]!++;
    this.sum += seconds;
    this.count++;
  }
}

/**
 * Message types counted one by one per kind; later ones are summed under `other`. Types are
 * declared by code, but a frame may name any type, and counters (and metric labels) must stay bounded.
 */
export const MAX_MESSAGE_TYPES_PER_KIND = 64;
/** Where types past `MAX_MESSAGE_TYPES_PER_KIND` are counted. */
export const OTHER_MESSAGE_TYPE = 'other';

/** Counters of one actor kind on one node: plain numbers, read by metrics at scrape time. */
export class KindStats {
  /** Activations alive now. */
  active = 0;
  activated = 0;
  passivated = 0;
  /** Per message type: what became of its messages. */
  readonly byType = new Map<string, TypeStats>();
  /** Handler durations, when the node records them (`recordDurations`). */
  durations: DurationHistogram | null = null;

  /** The last type looked up: traffic of a kind is mostly one type, so this skips the map. */
  private lastType = '';
  private lastStats: TypeStats | null = null;

  /** The counters of one message type (created on first use). */
  type(t: string): TypeStats {
    if (t === this.lastType && this.lastStats !== null) return this.lastStats;
    let s = this.byType.get(t);
    if (s === undefined) {
      if (this.byType.size >= MAX_MESSAGE_TYPES_PER_KIND) {
        s = this.byType.get(OTHER_MESSAGE_TYPE);
        if (s === undefined) this.byType.set(OTHER_MESSAGE_TYPE, (s = new TypeStats()));
        return s;
      }
      this.byType.set(t, (s = new TypeStats()));
    }
    this.lastType = t;
    this.lastStats = s;
    return s;
  }

  /** Messages of any type with this outcome. */
  total(outcome: MessageOutcome): number {
    let n = 0;
    for (const s of this.byType.values()) n += s[outcome];
    return n;
  }

  get handled(): number {
    return this.total('handled');
  }
  get failed(): number {
    return this.total('failed');
  }
  get expired(): number {
    return this.total('expired');
  }
  get overloaded(): number {
    return this.total('overloaded');
  }
  get duplicates(): number {
    return this.total('duplicates');
  }

  /** Activations restarted by supervision. */
  restarts = 0;
  /** Activations that failed to start (snapshot load or onActivate threw). */
  activationFailures = 0;
  /** Snapshots written; writes that failed; writes refused because a newer owner had written. */
  snapshotsSaved = 0;
  snapshotFailures = 0;
  snapshotsRejected = 0;
  /** Activations ended without a write because this node no longer held their shard. */
  abandoned = 0;
}

/** Counters of one node's actor system, beyond its kinds. */
export class SystemStats {
  /** Frames refused as undecodable, of an unknown version or misrouted. */
  malformed = 0;
  /** Messages for a kind this node does not host. */
  unknownKind = 0;
  /** Tells sent, asks sent, and asks answered with an error. */
  tellsSent = 0;
  asksSent = 0;
  asksFailed = 0;
  /** Ask attempts sent again (NoRoute, StaleEpoch or a lost reply), with the same message id. */
  askRetries = 0;
  /** Of those, sent as soon as this node learnt its shard's new owner, before their retry timer. */
  askRetriesOnOwner = 0;
  /** Messages refused because they named another owner epoch than the one served here. */
  staleEpochs = 0;
  /** Answers dropped because an owner newer than theirs had answered or was known (the ask was resent). */
  staleReplies = 0;
}
