import { Kvm, type KV, type KvEntry } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';

/**
 * The cluster's metadata bucket, `<prefix>_cluster`, keyed by `config`, `members.<node>`,
 * `shards.<n>`, `overrides.<n>` and `lock.rebalance`. Values are JSON so that operators can
 * read them with the `nats` CLI; a value that does not parse is treated as poisoned.
 */
export async function openClusterKv(nc: NatsConnection, prefix: string): Promise<KV> {
  return new Kvm(nc).create(`${prefix}_cluster`, { history: 1 });
}

/** Parses a JSON entry; `undefined` for a missing, deleted or unparseable value. */
export function readJson<T>(e: KvEntry | null): T | undefined {
  if (e === null || e.operation !== 'PUT' || e.length === 0) return undefined;
  try {
    return JSON.parse(new TextDecoder().decode(e.value)) as T;
  } catch {
    return undefined;
  }
}

export function json(v: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(v));
}

/** True when a KV write failed because the expected revision did not match (someone else wrote). */
export function isRevisionConflict(err: unknown): boolean {
  // JetStream API error 10071: "wrong last sequence" (nats-server 2.9).
  if ((err as { code?: unknown } | null)?.code === 10071) return true;
  return /wrong last sequence/.test(err instanceof Error ? err.message : String(err));
}
