import { createConnection, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy on 127.0.0.1 in front of one port: a process connected through it can be cut off
 * from what is behind it (a network partition of that process alone) and let back in.
 */
export interface TcpProxy {
  /** The port it listens on (the same after `reopen`). */
  readonly port: number;
  /** Connections accepted so far, reopened ones included. */
  readonly accepted: number;
  /**
   * Destroys every open connection (both sides, at once) and stops listening: the client's
   * reconnects are refused until `reopen`. Idempotent.
   */
  close(): Promise<void>;
  /** Listens again on the same port. */
  reopen(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Starts a proxy on a free port of 127.0.0.1 forwarding to `127.0.0.1:targetPort`. */
export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const open = new Set<Socket>();
  let accepted = 0;
  let server: Server | undefined;

  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      const s = createServer((client) => {
        accepted++;
        const upstream = createConnection({ host: '127.0.0.1', port: targetPort });
        open.add(client);
        open.add(upstream);
        // Either side ending ends both: the proxy is a wire, never a half-open one.
        const drop = () => {
          client.destroy();
          upstream.destroy();
          open.delete(client);
          open.delete(upstream);
        };
        client.on('error', drop).on('close', drop);
        upstream.on('error', drop).on('close', drop);
        client.pipe(upstream);
        upstream.pipe(client);
      });
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => {
        s.off('error', reject);
        server = s;
        resolve((s.address() as { port: number }).port);
      });
    });

  const port = await listen(0);
  const close = async () => {
    const s = server;
    server = undefined;
    for (const sock of open) sock.destroy();
    open.clear();
    if (s !== undefined) await new Promise<void>((r) => s.close(() => r()));
  };
  return {
    port,
    get accepted() {
      return accepted;
    },
    close,
    async reopen() {
      if (server === undefined) await listen(port);
    },
    [Symbol.asyncDispose]: close,
  };
}
