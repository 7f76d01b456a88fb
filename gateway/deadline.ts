import type { ServerUnaryCall } from '@grpc/grpc-js';

/** Kept back from a client's deadline, so that the answer (or the error) still reaches it in time. */
export const DEADLINE_MARGIN_MS = 5;

/**
 * The time left for the cluster's asks of a call: the client's gRPC deadline less a margin,
 * capped at `capMs` (the longest the gateway waits on its own); `capMs` when the client set none.
 */
export function askDeadlineMs(call: Pick<ServerUnaryCall<unknown, unknown>, 'getDeadline'>, capMs: number): number {
  const d = call.getDeadline();
  const at = d instanceof Date ? d.getTime() : d;
  if (!Number.isFinite(at)) return capMs;
  return Math.max(1, Math.min(capMs, at - Date.now() - DEADLINE_MARGIN_MS));
}
