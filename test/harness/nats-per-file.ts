import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll } from 'vitest';
import { startNatsServer, type NatsServerHandle } from './nats-server.js';

/** One nats-server and one connection to it for a test file: started before its tests, stopped after. */
export function natsPerFile(): { readonly nats: NatsServerHandle; readonly nc: NatsConnection } {
  const h = {} as { nats: NatsServerHandle; nc: NatsConnection };
  beforeAll(async () => {
    h.nats = await startNatsServer();
    h.nc = await connect({ servers: h.nats.url, noAsyncTraces: true });
  });
  afterAll(async () => {
    await h.nc?.close();
    await h.nats?.stop();
  });
  return h;
}
