import { clearOverrides, moveShard, waitPlaced } from '../cluster/index.js';
import { operatorClient } from './cluster-connect.js';
import { CliError, ExitCode } from './exit-codes.js';
import type { Output } from './output.js';

/**
 * `reel shards move SHARD NODE`: stores a manual placement and waits until NODE owns the shard.
 * The arguments' types were checked while parsing; the shard's range needs the cluster's count.
 */
export async function runShardsMove(shard: number, node: string, flags: Record<string, unknown> & { timeout: number }, out: Output): Promise<number> {
  const { client, close } = await operatorClient(flags);
  try {
    const n = client.system.options.shardCount;
    if (shard >= n) throw new CliError(`shard '${shard}' is not in 0-${n - 1}`, ExitCode.Usage);
    if (!client.view.members.has(node)) throw new CliError(`no live node '${node}' in this cluster`, ExitCode.NotFound);
    await moveShard(client.kv, n, shard, node);
    const t0 = performance.now();
    const timeoutMs = flags.timeout * 1000;
    while (client.view.shard(shard).value?.owner !== node) {
      if (performance.now() - t0 > timeoutMs) throw new CliError(`shard ${shard} not on ${node} after ${timeoutMs / 1000} s (the override stays; see reel status)`);
      await new Promise((r) => setTimeout(r, 200));
      await client.view.refresh();
    }
    const v = client.view.shard(shard).value!;
    if (flags.json) out.json({ shard, node, epoch: v.epoch, seconds: (performance.now() - t0) / 1000 });
    else out.line(`shard ${shard} is on ${node} (epoch ${v.epoch}); the placement stays until 'reel shards balance'`);
    return ExitCode.Ok;
  } finally {
    await close();
  }
}

/**
 * `reel shards balance`: clears manual placements, then (unless `--no-wait`) waits until every shard
 * is owned where placement puts it, by a live node, with no handoff in flight.
 */
export async function runShardsBalance(flags: Record<string, unknown> & { timeout: number }, out: Output): Promise<number> {
  const timeoutMs = flags.timeout * 1000;
  const { client, settings, close } = await operatorClient(flags);
  try {
    const cleared = await clearOverrides(client.kv);
    if (flags.wait === false) {
      if (flags.json) out.json({ clearedOverrides: cleared, placed: null });
      else out.line(`cleared ${cleared} manual placement(s); shards move back to placement, one handoff at a time (not waiting: see reel status)`);
      return ExitCode.Ok;
    }
    out.info(`reel: cleared ${cleared} manual placement(s); waiting until every shard is where placement puts it…`);
    const t0 = performance.now();
    let last = '';
    const report = await waitPlaced(client, settings.prefix, {
      timeoutMs,
      ...(settings.heartbeatWindowMs !== undefined ? { heartbeatWindowMs: settings.heartbeatWindowMs } : {}),
      onProgress: (r) => {
        const line = `reel: ${r.misplaced.length} shard(s) to rebalance, ${r.unowned.length} unowned, ${r.moving.length} moving`;
        if (line !== last) out.info((last = line));
      },
    }).catch((err: unknown) => {
      throw new CliError(`${(err as Error).message}; the manual placements are cleared`);
    });
    const seconds = (performance.now() - t0) / 1000;
    const perNode = Object.fromEntries(report.nodes.filter((n) => n.health === 'live').map((n) => [n.id, n.shards]));
    if (flags.json) out.json({ clearedOverrides: cleared, placed: true, seconds, shards: perNode });
    else out.line(`cleared ${cleared} manual placement(s); every shard is where placement puts it (${Object.entries(perNode).map(([n, c]) => `${n} ${c}`).join(', ')}) after ${seconds.toFixed(1)} s`);
    return ExitCode.Ok;
  } finally {
    await close();
  }
}
