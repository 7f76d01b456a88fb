/** JetStream's most replicas of a stream. */
export const MAX_REPLICAS = 5;

/**
 * Options of a KV bucket whose reads must see every write acknowledged before them (snapshots,
 * ownership). A direct get may be answered by any replica of the stream, a follower that has not
 * caught up among them (a server restarted a moment ago): a new owner would activate an actor
 * from an older snapshot, and a node would decide on an ownership entry that has moved on. With
 * one replica the only server is the leader, and direct gets (faster) are safe; with more, reads
 * go to the stream's leader.
 */
export function consistentKvOptions(replicas: number): { replicas: number; allow_direct: boolean } {
  return { replicas, allow_direct: replicas === 1 };
}

/** Tries a creation this many times when another process creates the same stream at once. */
const CREATE_TRIES = 5;
/**
 * How long a creation is tried again while a NATS cluster's JetStream is still forming (no meta
 * leader yet, or fewer servers known than the replicas asked for), in ms.
 */
const FORMING_WAIT_MS = 10_000;

const RACING = /subjects overlap with an existing stream|stream name already in use/i;
const FORMING = /temporarily unavailable|insufficient resources|no suitable peers/i;

/**
 * Creates (or opens) a JetStream KV bucket, object store or stream with `create`, again when the
 * server refused it because another process was creating the same stream at that moment
 * (`subjects overlap with an existing stream`, `stream name already in use`): nodes started
 * together all create the cluster's buckets, and the second creation, tried again, opens the
 * stream the first one made. Also again, for a while, when a NATS cluster's JetStream is still
 * forming (servers started together elect a leader and find each other first): past that, a
 * creation that cannot place its replicas fails with the server's reason.
 */
export async function createConcurrently<T>(create: () => Promise<T>): Promise<T> {
  const formingUntil = Date.now() + FORMING_WAIT_MS;
  for (let attempt = 1; ; attempt++) {
    try {
      return await create();
    } catch (err) {
      const msg = (err as Error).message ?? '';
      const racing = RACING.test(msg) && attempt < CREATE_TRIES;
      const forming = FORMING.test(msg) && Date.now() < formingUntil;
      if (!racing && !forming) throw err;
      await new Promise((r) => setTimeout(r, Math.min(250, 20 * attempt)));
    }
  }
}
