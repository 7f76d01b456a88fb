import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

/** Interface a metrics endpoint listens on unless told otherwise: this machine only. */
export const DEFAULT_METRICS_HOST = '127.0.0.1';

/** Where and what a metrics endpoint serves. */
export interface MetricsServerOptions {
  /** Port to listen on; 0 picks a free one. */
  port: number;
  /** Interface to listen on ('0.0.0.0' for every one). @default '127.0.0.1' */
  host?: string;
  /** Why the process is not ready (`/readyz` answers 503 with it), or undefined when it is. @default always ready */
  notReady?: () => string | undefined;
}

/** A running metrics endpoint. */
export interface MetricsServer {
  /** The port it listens on (the real one when 0 was asked for). */
  readonly port: number;
  /** The interface it listens on. */
  readonly host: string;
  close(): Promise<void>;
}

/**
 * Serves `registry` in Prometheus text format on `GET /metrics`, `/healthz` (200 while the process
 * runs) and `/readyz` (200 when `notReady` has no reason, 503 with it otherwise) in plain text;
 * other paths answer 404. Resolves once it listens, so a busy port is known before anything else.
 */
export async function startMetricsServer(registry: Registry, opts: MetricsServerOptions): Promise<MetricsServer> {
  const host = opts.host ?? DEFAULT_METRICS_HOST;
  const notReady = opts.notReady ?? (() => undefined);
  const server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/metrics' && path !== '/healthz' && path !== '/readyz') {
      text(res, 404, 'not found');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      text(res, 405, 'method not allowed');
      return;
    }
    if (path === '/healthz') {
      text(res, 200, 'ok');
      return;
    }
    if (path === '/readyz') {
      const why = notReady();
      text(res, why === undefined ? 200 : 503, why === undefined ? 'ready' : `not ready: ${why}`);
      return;
    }
    registry.metrics().then(
      (body) => {
        res.writeHead(200, { 'content-type': registry.contentType });
        res.end(req.method === 'HEAD' ? undefined : body);
      },
      (err: unknown) => text(res, 500, `metrics collection failed: ${(err as Error).message}`),
    );
  });
  // A scrape is one short request; idle keep-alive sockets must not hold close() open.
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  return {
    port: address.port,
    host: address.address,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeIdleConnections();
      }),
  };
}

function text(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' }).end(`${body}\n`);
}
