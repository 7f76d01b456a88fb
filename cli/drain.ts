import { operatorClient } from './cluster-connect.js';
import { CliError, ExitCode } from './exit-codes.js';
import type { Output } from './output.js';

/** `reel drain NODE`: asks the node to hand every shard off and exit; waits until it holds none and has left. */
export async function runDrain(node: string, flags: Record<string, unknown>, out: Output): Promise<number> {
  const timeoutMs = Number(flags.timeout ?? 120) * 1000;
  const { client, close } = await operatorClient(flags);
  try {
    const notFound = () => new CliError(`no live node '${node}' in this cluster (see reel status)`, ExitCode.NotFound);
    if (!client.view.members.has(node)) throw notFound();
    await client.system.askNode(node, 'drain', undefined, { deadlineMs: 5000 }).catch((err: unknown) => {
      throw (err as { code?: string }).code === 'NoRoute' ? notFound() : err;
    });
    out.info(`reel: ${node} is draining`);
    const t0 = performance.now();
    for (;;) {
      await client.view.refresh();
      const holds = client.owners().filter((o) => o === node).length;
      const member = client.view.members.has(node);
      if (holds === 0 && !member) break;
      if (performance.now() - t0 > timeoutMs) throw new CliError(`${node} still holds ${holds} shards after ${timeoutMs / 1000} s`);
      out.info(`reel: ${node} holds ${holds} shards…`);
      await new Promise((r) => setTimeout(r, 500));
    }
    const seconds = (performance.now() - t0) / 1000;
    if (flags.json) out.json({ node, drained: true, seconds });
    else out.line(`${node} drained in ${seconds.toFixed(1)} s: it holds no shards and has left the cluster`);
    return ExitCode.Ok;
  } finally {
    await close();
  }
}
