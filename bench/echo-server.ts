/**
 * The gRPC baseline server: one unary method, `reel.bench.Echo/Echo`, that answers every
 * request with its own bytes, on the gateway's stack (a grpc-js `Server` with its options)
 * but with no protobuf and no handler work, so that `serve-load --method echo` measures gRPC
 * alone. Listens on 127.0.0.1, prints `{"port":P}` once listening; stops on SIGTERM.
 *
 *   node dist/bench/echo-server.js [--port P]     (P = 0, the default: any free port)
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { GRPC_SERVER_OPTIONS } from '../gateway/server.js';
import { Server, ServerCredentials, type sendUnaryData, type ServerUnaryCall, type ServiceDefinition } from '@grpc/grpc-js';

/** Messages cross as raw bytes: the "codec" hands each Buffer through unchanged. */
const passThrough = (b: Buffer): Buffer => b;

/**
 * The echo service without a .proto file, in the form `makeGenericClientConstructor` takes:
 * the server and `serve-load` (through `Client.makeUnaryRequest`) share this definition.
 */
export const echoService = {
  Echo: {
    path: '/reel.bench.Echo/Echo',
    requestStream: false,
    responseStream: false,
    requestSerialize: passThrough,
    requestDeserialize: passThrough,
    responseSerialize: passThrough,
    responseDeserialize: passThrough,
  },
} satisfies ServiceDefinition;

/** `--port`, checked: on bad arguments the program exits 2, naming the flag. */
function parsePort(): number {
  try {
    const { values } = parseArgs({ options: { port: { type: 'string', default: '0' } } });
    const port = Number(values.port);
    if (!/^\d+$/.test(values.port) || port > 65_535) throw new Error(`--port must be a port number, 0-65535 (got "${values.port}")`);
    return port;
  } catch (err) {
    process.stderr.write(`echo-server: ${(err as Error).message}\nusage: echo-server [--port P]\n`);
    process.exit(2);
  }
}

async function main(): Promise<void> {
  const port = parsePort();
  // The gateway's server options, so that the two differ only in the handler.
  const server = new Server(GRPC_SERVER_OPTIONS);
  server.addService(echoService, {
    Echo: (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => callback(null, call.request),
  });
  const bound = await new Promise<number>((ok, fail) => server.bindAsync(`127.0.0.1:${port}`, ServerCredentials.createInsecure(), (err, p) => (err ? fail(err) : ok(p))));
  process.stdout.write(`${JSON.stringify({ port: bound })}\n`);
  const stop = () => {
    server.forceShutdown();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

// Run only as a program: serve-load imports this module for `echoService`.
if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    process.stderr.write(`echo-server: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
