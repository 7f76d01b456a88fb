import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, JetStreamApiCodes, JetStreamApiError, type Consumer, type ConsumerMessages, type JetStreamClient, type JetStreamManager, type JsMsg } from '@nats-io/jetstream';
import { nanos, type NatsConnection } from '@nats-io/transport-node';
import { Histogram, type Registry } from 'prom-client';
import { Kind, TitleMsg, UserMsg, type InteractionBody } from '../actors/index.js';
import { createConcurrently, decodeValue, encodeValue, shardOf, type ActorSystem } from '../runtime/index.js';
import { clusterReplicas } from './cluster-kv.js';

/** What the consumers measure. */
export interface InteractionMetrics {
  /** Seconds from an interaction stored in the stream to its user actor having applied it. */
  onVisible(seconds: number): void;
}

/**
 * `reel_event_to_visible_seconds` on a registry. On a gateway: from a batch stored in the stream
 * to each user actor confirming it holds the interaction (`recordInteractions`). On a node: from
 * an interaction stored to the stream's consumer applying it, observed only when that
 * application was the first (the gateway's direct one had not come yet, or failed).
 */
export function registerInteractionMetrics(registry: Registry): InteractionMetrics {
  const h = new Histogram({
    name: 'reel_event_to_visible_seconds',
    help: 'From an interaction stored in the stream to its user actor holding it (the next recommendation reflects it): on a gateway, the direct application RecordInteractions waits for; on a node, the stream consumer\'s, when it came first.',
    buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5],
    registers: [registry],
  });
  return { onVisible: (s) => h.observe(Math.max(0, s)) };
}

/** The stream of recorded interactions: `<prefix>_interactions`, one subject per user shard. */
export function interactionStream(prefix: string): string {
  return `${prefix}_interactions`;
}

export function interactionSubject(prefix: string, shard: number): string {
  return `${prefix}.interactions.${shard}`;
}

/** JetStream's duplicate window: an event id seen within it is stored once (the actors drop later repeats). */
export const DUPLICATE_WINDOW_MS = 2 * 60_000;
/** How long recorded interactions stay in the stream (replay for a new owner, audits). */
const MAX_AGE_MS = 7 * 24 * 3_600_000;
/** Interactions of one shard being applied at once. */
const MAX_IN_FLIGHT = 64;
/** How often a shard's consumer checks that its node still serves the shard. */
const SERVED_CHECK_MS = 1_000;
/** How long a delivered interaction may go unacknowledged before it is delivered again. */
const ACK_WAIT_MS = 10_000;
/**
 * A shard's consumer that could not start is tried again after this long, doubled with each
 * failure in a row up to `CONSUMER_RETRY_MAX_MS`, each wait drawn between half and all of it:
 * while a NATS cluster elects leaders, a node's shards must not ask for their consumers in step,
 * twice a second each, of the server that is recovering.
 */
const CONSUMER_RETRY_MS = 1_000;
const CONSUMER_RETRY_MAX_MS = 30_000;

/** The wait before try `failures + 1` of a consumer that failed `failures` times in a row (`random` in [0, 1)). */
export function consumerRetryMs(failures: number, random: number): number {
  const full = Math.min(CONSUMER_RETRY_MAX_MS, CONSUMER_RETRY_MS * 2 ** Math.max(0, failures - 1));
  return Math.round(full * (0.5 + random / 2));
}

/** Creates the stream if absent (nodes and gateways both may; the first wins). */
export async function ensureInteractionStream(nc: NatsConnection, prefix: string): Promise<JetStreamManager> {
  const jsm = await jetstreamManager(nc);
  const name = interactionStream(prefix);
  try {
    await jsm.streams.info(name);
  } catch (err) {
    if (!(err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound)) throw err;
    const replicas = await clusterReplicas(nc, prefix);
    await createConcurrently(() => jsm.streams.add({ name, subjects: [`${prefix}.interactions.>`], duplicate_window: nanos(DUPLICATE_WINDOW_MS), max_age: nanos(MAX_AGE_MS), num_replicas: replicas }));
  }
  return jsm;
}

/**
 * Appends interactions to the stream, each with its event id as the message id, and resolves
 * once every one is stored (JetStream acknowledged it, on disk). Answers the event ids that
 * JetStream had seen within its duplicate window.
 */
export async function publishInteractions(js: JetStreamClient, prefix: string, shardCount: number, items: readonly InteractionBody[]): Promise<Set<string>> {
  const acks = await Promise.all(items.map((it) => js.publish(interactionSubject(prefix, shardOf(Kind.User, it.userId, shardCount)), encodeValue(it), { msgID: it.eventId })));
  const dup = new Set<string>();
  acks.forEach((a, i) => a.duplicate && dup.add(items[i]!.eventId));
  return dup;
}

/**
 * How long RecordInteractions waits, once a batch is durable, for its user actors to apply it
 * directly; past that (or on a failure) the stream's consumer applies it, as it would anyway.
 */
export const DIRECT_APPLY_MS = 1_000;

/**
 * A batch stored durably in the stream (`publishInteractions`; answers the event ids the stream
 * had seen), then sent at once to its user actors as `record` and awaited: when this resolves,
 * each user's actor has the interaction (applied by this message or, often first, by the
 * stream's consumer), so the caller's very next recommendation for that user reflects it
 * (read your writes), whatever the consumer's lag. A failed direct application is not an error:
 * the batch is durable, and the shard owner's consumer applies it; the actors' identity check
 * makes the two apply once.
 */
export async function recordInteractions(
  js: JetStreamClient,
  system: Pick<ActorSystem, 'ask'>,
  prefix: string,
  shardCount: number,
  items: readonly InteractionBody[],
  opts: { metrics?: InteractionMetrics; deadlineMs?: number } = {},
): Promise<Set<string>> {
  const seen = await publishInteractions(js, prefix, shardCount, items);
  const stored = performance.now();
  const deadlineMs = opts.deadlineMs ?? DIRECT_APPLY_MS;
  await Promise.all(
    items
      .filter((it) => !seen.has(it.eventId))
      .map((it) =>
        system.ask(Kind.User, it.userId, UserMsg.Record, it, { deadlineMs }).then(
          // Applied now, or found applied (the stream's consumer, told by the server as soon as
          // the message was stored, often comes first): either way the user's next
          // recommendation reflects it from here on.
          () => opts.metrics?.onVisible((performance.now() - stored) / 1000),
          () => undefined,
        ),
      ),
  );
  return seen;
}

/** The JetStream client for publishing interactions. */
export function interactionPublisher(nc: NatsConnection): JetStreamClient {
  return jetstream(nc);
}

/**
 * A node's consumers of the interaction stream: one durable pull consumer per user shard
 * (nats-server 2.9 allows one filter subject per consumer), run by whichever node serves the
 * shard now. Each interaction goes to its user actor and its title actor as `record` (applied
 * once by its identity, persisted before the answer), and is acknowledged only then: a node
 * that dies first leaves it unacknowledged, and the shard's next owner gets it again.
 */
export class InteractionConsumers {
  private readonly running = new Map<number, { stop: boolean; done: Promise<void> }>();
  /** Shards whose consumer could not start: failures in a row, and when to try again (`performance.now()`). */
  private readonly failing = new Map<number, { failures: number; retryAt: number }>();
  /** What to say at the next sync, for every shard at once: first failures (with the error), and starts after failures. */
  private readonly toSay = { failed: new Map<number, string>(), started: new Map<number, number>() };
  private timer: NodeJS.Timeout | undefined;
  private js: JetStreamClient | undefined;
  private jsm: JetStreamManager | undefined;
  private closed = false;

  constructor(
    private readonly system: ActorSystem,
    private readonly nc: NatsConnection,
    private readonly prefix: string,
    private readonly log?: (msg: string, fields?: Record<string, unknown>) => void,
    private readonly metrics?: InteractionMetrics,
  ) {}

  /** Follows the shards this node serves every `ms`. */
  async start(ms = 500): Promise<void> {
    this.jsm = await ensureInteractionStream(this.nc, this.prefix);
    this.js = jetstream(this.nc);
    this.sync();
    this.timer = setInterval(() => this.sync(), ms);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    for (const r of this.running.values()) r.stop = true;
    await Promise.all([...this.running.values()].map((r) => r.done));
  }

  /** Starts a consumer loop for each shard served and not consumed; a loop ends by itself when its shard goes. */
  private sync(): void {
    if (this.closed) return;
    this.sayWhatChanged();
    const served = this.system.servedShards();
    // A shard served again later starts afresh.
    for (const shard of this.failing.keys()) if (!served.includes(shard)) this.failing.delete(shard);
    const now = performance.now();
    for (const shard of served) {
      if (this.running.has(shard) || now < (this.failing.get(shard)?.retryAt ?? 0)) continue;
      const r = { stop: false, done: Promise.resolve() };
      r.done = this.consume(shard, r).finally(() => this.running.delete(shard));
      this.running.set(shard, r);
    }
  }

  private async consume(shard: number, r: { stop: boolean }): Promise<void> {
    const durable = `shard-${shard}`;
    let consumer: Consumer;
    try {
      await this.jsm!.consumers.add(interactionStream(this.prefix), {
        durable_name: durable,
        filter_subject: interactionSubject(this.prefix, shard),
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        ack_wait: nanos(ACK_WAIT_MS),
        max_ack_pending: 1000,
      });
      consumer = await this.js!.consumers.get(interactionStream(this.prefix), durable);
    } catch (err) {
      const f = this.failing.get(shard) ?? { failures: 0, retryAt: 0 };
      f.failures++;
      const retryMs = consumerRetryMs(f.failures, Math.random());
      f.retryAt = performance.now() + retryMs;
      this.failing.set(shard, f);
      if (f.failures === 1) this.toSay.failed.set(shard, (err as Error).message);
      return;
    }
    const failed = this.failing.get(shard)?.failures;
    if (failed !== undefined) {
      this.failing.delete(shard);
      this.toSay.started.set(shard, failed);
    }
    const served = () => !r.stop && !this.closed && this.system.servedShards().includes(shard);
    while (served()) {
      // One long-lived pull subscription (nats.js keeps its pulls topped up and watches the
      // server's heartbeats): a loop of fetches cost an inbox, a pull and an expiry error per
      // shard and second on an idle stream, about 5 % of a serving node's CPU in a profile.
      let messages: ConsumerMessages | undefined;
      const watch = setInterval(() => {
        if (!served()) messages?.stop();
      }, SERVED_CHECK_MS);
      try {
        messages = await consumer.consume({ max_messages: 256, expires: 30_000 });
        // The messages are applied concurrently (a user's own stay in order: asks to one actor
        // queue in its mailbox in the order sent), each acknowledged once applied.
        const inFlight = new Set<Promise<void>>();
        for await (const m of messages) {
          const p = this.apply(shard, m).finally(() => inFlight.delete(p));
          inFlight.add(p);
          if (inFlight.size >= MAX_IN_FLIGHT) await Promise.race(inFlight);
          if (!served()) break;
        }
        await Promise.all(inFlight);
        // Ended while the shard is still served (its consumer deleted, say): again, not at once.
        if (served()) {
          this.log?.('interaction consumer ended; again', { shard });
          await new Promise((res) => setTimeout(res, 500));
        }
      } catch (err) {
        if (!served()) break;
        this.log?.('interaction consumer failed; again', { shard, error: (err as Error).message });
        await new Promise((res) => setTimeout(res, 500));
      } finally {
        clearInterval(watch);
        messages?.stop();
      }
    }
  }

  /**
   * Once per run of failures, and once for all the shards of a sync: a node whose consumers all
   * fail at once (a NATS cluster electing leaders) says so in one line, not one per shard per try.
   */
  private sayWhatChanged(): void {
    const { failed, started } = this.toSay;
    if (failed.size > 0) {
      const errors = [...new Set(failed.values())];
      this.log?.('interaction consumers could not start; trying again, less often while they fail', { shards: [...failed.keys()].sort((a, b) => a - b), errors });
      failed.clear();
    }
    if (started.size > 0) {
      this.log?.('interaction consumers started after failing', { shards: [...started.keys()].sort((a, b) => a - b), failures: [...started.values()] });
      started.clear();
    }
  }

  /** One interaction to its user and title actors (durable in both), then acknowledged; on failure delivered again shortly. */
  private async apply(shard: number, m: JsMsg): Promise<void> {
    const it = decodeValue(m.data) as InteractionBody;
    try {
      // The user's answer is what makes the interaction visible to its next recommendation.
      const user = this.system.ask(Kind.User, it.userId, UserMsg.Record, it, { deadlineMs: 5_000 }).then((applied) => {
        // From the stream's time (stored at the publish the gateway awaited) to the user's row
        // refit, when this was the first application (the gateway's direct one did not happen).
        if (applied === true) this.metrics?.onVisible((Date.now() - m.info.timestampNanos / 1e6) / 1000);
      });
      await Promise.all([user, this.system.ask(Kind.Title, it.titleId, TitleMsg.Record, it, { deadlineMs: 5_000 })]);
      m.ack();
    } catch (err) {
      // A shard moving or a node busy: delivered again shortly (to this shard's owner then).
      m.nak(500);
      this.log?.('interaction not applied; delivered again', { shard, eventId: it.eventId, error: (err as Error).message });
    }
  }
}
