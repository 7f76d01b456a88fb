import { status as codes, type status } from '@grpc/grpc-js';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { registerInteractionMetrics, type InteractionMetrics } from '../cluster/index.js';

/** The gRPC code's name as metrics label it: `OK`, `INVALID_ARGUMENT`, ... */
export function codeName(code: status | number): string {
  return (codes as unknown as Record<number, string>)[code] ?? String(code);
}

/** Request latency buckets, in seconds: a serving path measured in milliseconds. */
const DURATION_BUCKETS_S = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5];

/** A gateway's metrics (API.md §6); `method` is the full `/reel.v1.<Service>/<Rpc>`. */
export class GatewayMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'method' | 'code'>;
  private readonly duration: Histogram<'method'>;
  private readonly inFlight: Gauge;
  private readonly fallbacks: Counter<'reason'>;
  private readonly backfills: Counter;
  private readonly interactions: Counter<'type' | 'result'>;
  private readonly cached: Counter<'result'>;
  /** `reel_event_to_visible_seconds`: RecordInteractions' direct application to the user actors. */
  readonly visible: InteractionMetrics;

  constructor() {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.requests = new Counter({ name: 'reel_grpc_requests_total', help: 'gRPC requests answered, per method and status code.', labelNames: ['method', 'code'], registers });
    this.duration = new Histogram({ name: 'reel_grpc_request_duration_seconds', help: 'Time from a request to its answer, per method.', labelNames: ['method'], buckets: DURATION_BUCKETS_S, registers });
    this.inFlight = new Gauge({ name: 'reel_grpc_in_flight', help: 'gRPC requests being answered now.', registers });
    this.fallbacks = new Counter({ name: 'reel_recommend_fallbacks_total', help: 'Recommendations answered from the fallback list, per reason (DEADLINE, SHARD_UNAVAILABLE, NO_ACTIVE_MODEL).', labelNames: ['reason'], registers });
    this.interactions = new Counter({ name: 'reel_interactions_recorded_total', help: 'Interactions RecordInteractions took, per type, recorded or a duplicate (of an earlier one, or in the same batch).', labelNames: ['type', 'result'], registers });
    this.cached = new Counter({ name: 'reel_recommend_cache_total', help: "First pages asked with the user actor's cached ranking allowed: answered from it (hit) or ranked afresh (miss).", labelNames: ['result'], registers });
    this.visible = registerInteractionMetrics(this.registry);
    this.backfills = new Counter({ name: 'reel_recommend_backfilled_titles_total', help: 'Popular titles added to recommendations that filters left short.', registers });
  }

  /** A fallback answered, by its `reel.v1.FallbackReason` name (the prefix dropped in the label). */
  fallback(reason: string): void {
    this.fallbacks.inc({ reason: reason.replace('FALLBACK_REASON_', '') });
  }

  cache(hit: boolean): void {
    this.cached.inc({ result: hit ? 'hit' : 'miss' });
  }

  interaction(type: string, result: 'recorded' | 'duplicate'): void {
    this.interactions.inc({ type, result });
  }

  backfilled(titles: number): void {
    if (titles > 0) this.backfills.inc(titles);
  }

  /** Counts a request in; the returned function counts it out with its code. */
  begin(method: string): (code: status | number) => void {
    const t0 = performance.now();
    this.inFlight.inc();
    let done = false;
    return (code) => {
      if (done) return;
      done = true;
      this.inFlight.dec();
      this.requests.inc({ method, code: codeName(code) });
      this.duration.observe({ method }, (performance.now() - t0) / 1000);
    };
  }
}
