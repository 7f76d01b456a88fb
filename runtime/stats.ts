/** Counters of one actor kind on one node: plain numbers, read by metrics at scrape time. */
export class KindStats {
  /** Activations alive now. */
  active = 0;
  activated = 0;
  passivated = 0;
  /** Messages whose handler completed. */
  handled = 0;
  /** Messages whose handler threw or rejected. */
  failed = 0;
  /** Messages dropped unhandled because their deadline passed while queued. */
  expired = 0;
  /** Messages refused because the mailbox was full. */
  overloaded = 0;
  /** Activations restarted by supervision. */
  restarts = 0;
  /** Activations that failed to start (snapshot load or onActivate threw). */
  activationFailures = 0;
  /** Snapshots written; writes that failed; writes refused because a newer owner had written. */
  snapshotsSaved = 0;
  snapshotFailures = 0;
  snapshotsRejected = 0;
  /** Retried asks answered from the dedup window without running the handler again. */
  duplicates = 0;
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
  /** Messages refused because they named another owner epoch than the one served here. */
  staleEpochs = 0;
}
