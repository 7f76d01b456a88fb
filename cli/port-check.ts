import { connect, createServer } from 'node:net';

/** How long a connection attempt to a local port may take before the port counts as silent, in ms. */
const CONNECT_TIMEOUT_MS = 1_000;

/** Whether something accepts connections on 127.0.0.1:`port`. */
function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ port, host: '127.0.0.1' });
    const done = (v: boolean) => {
      s.destroy();
      resolve(v);
    };
    s.setTimeout(CONNECT_TIMEOUT_MS, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

/** Whether this process can listen on 0.0.0.0:`port` (it cannot when anything, on any local address, listens there). */
function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host: '0.0.0.0', exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/**
 * Why `port` cannot be used, or undefined when it is free. Both tests, because a server on
 * 127.0.0.1 or on 0.0.0.0 (the system nats-server on :4222 is either) must count: something
 * answering on 127.0.0.1, or a listen on 0.0.0.0 refused. Free now does not mean free in a
 * moment: a caller still watches what it starts.
 */
export async function portProblem(port: number): Promise<string | undefined> {
  if (await answers(port)) return `something already answers on 127.0.0.1:${port}`;
  if (!(await bindable(port))) return `cannot listen on 0.0.0.0:${port}`;
  return undefined;
}
