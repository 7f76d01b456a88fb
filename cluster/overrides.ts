import type { KV } from '@nats-io/kv';
import { InvalidArgument } from '../runtime/index.js';
import { json, listKeys } from './cluster-kv.js';

/** Pins a shard to a node (`overrides.<shard>`): placement respects it while the node lives. */
export async function moveShard(kv: KV, shardCount: number, shard: number, node: string): Promise<void> {
  if (!Number.isInteger(shard) || shard < 0 || shard >= shardCount) {
    throw new InvalidArgument(`shard ${shard} is outside 0-${shardCount - 1}`, { fields: ['shard'] });
  }
  await kv.put(`overrides.${shard}`, json(node));
}

/** Clears every manual placement; returns how many there were. */
export async function clearOverrides(kv: KV): Promise<number> {
  const keys = await listKeys(kv, 'overrides.>');
  await Promise.all(keys.map((k) => kv.purge(k)));
  return keys.length;
}
