import { clearOverrides, moveShard } from '../cluster/index.js';
import { operatorClient } from './cluster-connect.js';
import { CliError, ExitCode } from './exit-codes.js';
import type { Output } from './output.js';

/** `reel shards move SHARD NODE`: stores a manual placement and waits until NODE owns the shard. */
export async function runShardsMove(shardArg: string, node: string, flags: Record<string, unknown>, out: Output): Promise<number> {
  const shard = Number(shardArg);
  const { client, close } = await operatorClient(flags);
  try {
    const n = client.system.options.shardCount;
    if (!Number.isInteger(shard) || shard < 0 || shard >= n) throw new CliError(`shard '${shardArg}' is not in 0-${n - 1}`, ExitCode.Usage);
    if (!client.view.members.has(node)) throw new CliError(`no live node '${node}' in this cluster`, ExitCode.NotFound);
    await moveShard(client.kv, n, shard, node);
    const t0 = performance.now();
    const timeoutMs = Number(flags.timeout ?? 60) * 1000;
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

/** `reel shards balance`: clears manual placements; nodes then move shards back to the computed assignment. */
export async function runShardsBalance(flags: Record<string, unknown>, out: Output): Promise<number> {
  const { client, close } = await operatorClient(flags);
  try {
    const cleared = await clearOverrides(client.kv);
    if (flags.json) out.json({ clearedOverrides: cleared });
    else out.line(`cleared ${cleared} manual placement(s); shards move back to the computed assignment, one handoff at a time`);
    return ExitCode.Ok;
  } finally {
    await close();
  }
}
