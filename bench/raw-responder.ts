/**
 * The plain-NATS baseline responder: one subscription with a callback that answers every
 * request with its own bytes. Prints `{"event":"ready"}` once subscribed; stops on SIGTERM.
 *
 *   node dist/bench/raw-responder.js --nats URL --subject SUBJECT
 */
import { parseArgs } from 'node:util';
import { connect } from '@nats-io/transport-node';

const { values } = parseArgs({ options: { nats: { type: 'string' }, subject: { type: 'string' } } });

async function main(): Promise<void> {
  if (!values.nats || !values.subject) throw new Error('usage: --nats URL --subject SUBJECT');
  const nc = await connect({ servers: values.nats, noAsyncTraces: true, name: 'raw-responder' });
  nc.subscribe(values.subject, {
    callback: (err, msg) => {
      if (!err) msg.respond(msg.data);
    },
  });
  await nc.flush();
  process.stdout.write(`${JSON.stringify({ event: 'ready', subject: values.subject })}\n`);
  const stop = () => {
    nc.drain().finally(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`raw-responder: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
