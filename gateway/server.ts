import { Server, ServerCredentials, status, type Metadata, type sendUnaryData, type ServerUnaryCall, type ServerWritableStream, type ServiceError, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation, type ServingStatus } from 'grpc-health-check';
import { AdminAuth } from './auth.js';
import { ApiError, toServiceError } from './errors.js';
import { codeName, GatewayMetrics } from './metrics.js';
import { traceIdOf } from './trace.js';
import { apiProtos } from './protos.js';

/** The services a gateway serves, as health checking names them (API.md §6). */
export const SERVICES = {
  recommendation: 'reel.v1.RecommendationService',
  catalog: 'reel.v1.CatalogService',
  admin: 'reel.v1.AdminService',
} as const;

/**
 * Handlers by method name. Unary: the request in, the response out (or a thrown error).
 * Server-streaming: the request in, `write` each message; the stream ends when the promise
 * resolves, with the error's status when it rejects.
 */
export type UnaryHandlers = Record<string, (request: any, call: any) => Promise<unknown>>;

/** A server-streaming handler's call: the messages go out through `write`. */
export type StreamCall = ServerWritableStream<unknown, unknown>;

/** What the gateway serves from: the cluster behind it, reached through this interface (tests give their own). */
export interface GatewayBackend {
  /** The services' handlers that are implemented; the others answer UNIMPLEMENTED. */
  admin: UnaryHandlers;
  catalog: UnaryHandlers;
  recommendation?: UnaryHandlers;
  /** Whether the cluster can be reached now: health follows it. */
  connected(): boolean;
  /** Whether recommendations can be answered (an active model or a fallback list): RecommendationService's health. */
  canRecommend?(): boolean;
}

export interface GatewayOptions {
  backend: GatewayBackend;
  /** The metrics to count into (the backend's handlers count fallbacks there too); a new set when absent. */
  metrics?: GatewayMetrics;
  /** AdminService's bearer token (`REEL_ADMIN_TOKEN`); without one, admin calls are refused. */
  adminToken?: string;
  /** How often health follows the backend's connection, in ms. */
  healthIntervalMs?: number;
  /** Structured log lines (a failed call's carries its trace id: the caller's `traceparent`, or a new one). */
  log?: (level: 'info' | 'warn' | 'error', msg: string, fields: Record<string, unknown>) => void;
}

/**
 * The gateway's gRPC server options. Channelz (grpc-js keeps per-call statistics and traces for
 * its debugging service, which reel does not serve) is off: it cost about 4 % of a gateway's CPU
 * per Recommend in a profile.
 */
export const GRPC_SERVER_OPTIONS = { 'grpc.enable_channelz': 0 } as const;

/**
 * A stateless gRPC gateway: the reel.v1 services over a cluster, standard health checking
 * and server reflection. Every handler goes through one wrapper that times and counts it
 * and turns whatever it throws into a status with `google.rpc.Status` details.
 */
export class Gateway {
  readonly metrics: GatewayMetrics;
  readonly health = new HealthImplementation({ '': 'NOT_SERVING', [SERVICES.recommendation]: 'NOT_SERVING', [SERVICES.catalog]: 'NOT_SERVING', [SERVICES.admin]: 'NOT_SERVING' });
  private readonly server = new Server(GRPC_SERVER_OPTIONS);
  private readonly auth: AdminAuth;
  private healthTimer: NodeJS.Timeout | undefined;
  private boundPort = 0;
  private draining = false;

  constructor(private readonly opts: GatewayOptions) {
    this.metrics = opts.metrics ?? new GatewayMetrics();
    this.auth = new AdminAuth(opts.adminToken);
    const { definition, api } = apiProtos();
    const v1 = api.reel.v1;
    this.server.addService(v1.AdminService.service, this.wrap('AdminService', v1.AdminService.service, opts.backend.admin, true));
    this.server.addService(v1.RecommendationService.service, this.wrap('RecommendationService', v1.RecommendationService.service, opts.backend.recommendation ?? {}, false));
    this.server.addService(v1.CatalogService.service, this.wrap('CatalogService', v1.CatalogService.service, opts.backend.catalog, false));
    this.health.addToServer(this.server);
    new ReflectionService(definition).addToServer(this.server);
  }

  /** Binds `host:port` (0: any free port) and starts serving. */
  async listen(host: string, port: number): Promise<number> {
    this.boundPort = await new Promise<number>((resolve, reject) => this.server.bindAsync(`${host}:${port}`, ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
    this.refreshHealth();
    this.healthTimer = setInterval(() => this.refreshHealth(), this.opts.healthIntervalMs ?? 1_000);
    this.healthTimer.unref();
    return this.boundPort;
  }

  get port(): number {
    return this.boundPort;
  }

  /** Reports NOT_SERVING (load balancers stop sending), lets calls in flight finish, then stops. */
  async stop(graceMs = 5_000): Promise<void> {
    this.draining = true;
    this.refreshHealth();
    clearInterval(this.healthTimer);
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => (this.server.forceShutdown(), resolve()), graceMs);
      this.server.tryShutdown(() => (clearTimeout(force), resolve()));
    });
  }

  /** Health as API.md §6 has it: SERVING while the cluster can be reached, NOT_SERVING while draining or cut off. */
  private refreshHealth(): void {
    const up: ServingStatus = !this.draining && this.opts.backend.connected() ? 'SERVING' : 'NOT_SERVING';
    this.health.setStatus('', up);
    this.health.setStatus(SERVICES.catalog, up);
    this.health.setStatus(SERVICES.admin, up);
    // Recommendations need an active model or a fallback list (API.md §6).
    this.health.setStatus(SERVICES.recommendation, up === 'SERVING' && this.opts.backend.canRecommend?.() === true ? 'SERVING' : 'NOT_SERVING');
  }

  /**
   * Every method of `service`, each call through `serve`: unary ones answered by callback,
   * server-streaming ones ended (or failed) on their stream.
   */
  private wrap(name: string, service: Record<string, { path: string; requestStream: boolean; responseStream: boolean }>, impl: UnaryHandlers, admin: boolean): UntypedServiceImplementation {
    const out: UntypedServiceImplementation = {};
    for (const [method, def] of Object.entries(service)) {
      const what = `${name}.${method}`;
      // No client-streaming method exists in reel.v1: one that ever appears unserved is refused.
      const handler = def.requestStream ? undefined : impl[method];
      out[method] = def.responseStream || def.requestStream
        ? (call: StreamCall) => this.serve(def.path, what, admin, call, handler, (se) => (se ? call.emit('error', se) : call.end()))
        : (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => this.serve(def.path, what, admin, call, handler, (se, res) => (se ? callback(se as ServiceError, null) : callback(null, res)));
    }
    return out;
  }

  /**
   * One call: counted and timed, the admin check first, then the handler (UNIMPLEMENTED
   * without one); whatever it throws, even before its first await, becomes a status with
   * details. Failures the caller did not cause (UNAVAILABLE, INTERNAL) are logged with the
   * call's trace id.
   */
  private serve(
    path: string,
    what: string,
    admin: boolean,
    call: { metadata: Metadata; request?: unknown },
    handler: UnaryHandlers[string] | undefined,
    done: (se: Partial<ServiceError> | null, res?: unknown) => void,
  ): void {
    const end = this.metrics.begin(path);
    const fail = (err: unknown) => {
      const se = toServiceError(err);
      end(se.code!);
      if (se.code === status.INTERNAL || se.code === status.UNAVAILABLE) {
        this.opts.log?.(se.code === status.INTERNAL ? 'error' : 'warn', 'call failed', { method: path, code: codeName(se.code), traceId: traceIdOf(call.metadata), error: (err as Error)?.message });
      }
      done(se);
    };
    try {
      if (admin) this.auth.check(call.metadata);
    } catch (err) {
      return fail(err);
    }
    if (handler === undefined) return fail(new ApiError(status.UNIMPLEMENTED, 'UNIMPLEMENTED', `${what} is not served yet`));
    Promise.resolve().then(() => handler(call.request, call)).then((res) => {
      end(status.OK);
      done(null, res);
    }, fail);
  }
}
