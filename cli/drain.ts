import { operatorClient } from './cluster-connect.js';
import { CliError, ExitCode } from './exit-codes.js';
import type { Output } from './output.js';

/**
 * `reel drain NODE`: asks the node to hand every shard off and exit; waits until it holds none,
 * has left, and every shard it held is owned by another node again.
 */
export async function runDrain(node: string, flags: Record<string, unknown> & { timeout: number }, out: Output): Promise<number> {
  const timeoutMs = flags.timeout * 1000;
  const { client, close } = await operatorClient(flags);
  try {
    const notFound = () => new CliError(`no live node '${node}' in this cluster (see reel status)`, ExitCode.NotFound);
    if (!client.view.members.has(node)) throw notFound();
    // Listed but not answering: the node is gone, and no process is left to hand anything off.
    const gone = () => {
      const failed = client.view.members.get(node)?.failed;
      return new CliError(
        failed !== undefined
          ? `node '${node}' is gone: it failed (${failed}) and released its shards; there is nothing to drain (see reel status)`
          : `node '${node}' is gone: it stopped without leaving the cluster (crashed, killed or cut off), so there is nothing to drain; its shards move to live nodes once their leases run out, and its entry is removed later (see reel status)`,
        ExitCode.NotFound,
      );
    };
    await client.system.askNode(node, 'drain', undefined, { deadlineMs: 5000 }).catch((err: unknown) => {
      throw (err as { code?: string }).code === 'NoRoute' ? (client.view.members.has(node) ? gone() : notFound()) : err;
    });
    const held = client.owners().flatMap((o, s) => (o === node ? [s] : []));
    out.info(`reel: ${node} is draining ${held.length} shards`);
    const t0 = performance.now();
    for (;;) {
      await client.view.refresh();
      const owners = client.owners();
      const holds = owners.filter((o) => o === node).length;
      const member = client.view.members.has(node);
      // Released shards are claimed by their new owners a moment later: wait for that too.
      const unowned = held.filter((s) => owners[s] === '').length;
      if (holds === 0 && !member && unowned === 0) break;
      if (performance.now() - t0 > timeoutMs) {
        throw new CliError(holds > 0 ? `${node} still holds ${holds} shards after ${timeoutMs / 1000} s` : `${unowned} of ${node}'s shards have no owner after ${timeoutMs / 1000} s (see reel status)`);
      }
      out.info(holds > 0 ? `reel: ${node} holds ${holds} shards…` : `reel: ${unowned} released shards not yet owned by another node…`);
      await new Promise((r) => setTimeout(r, holds > 0 ? 500 : 100));
    }
    const seconds = (performance.now() - t0) / 1000;
    if (flags.json) out.json({ node, drained: true, seconds });
    else out.line(`${node} drained in ${seconds.toFixed(1)} s: it holds no shards, has left the cluster, and its shards are owned elsewhere`);
    return ExitCode.Ok;
  } finally {
    await close();
  }
}
