import { decodeValue, encodeValue, InvalidArgument } from '../../runtime/index.js';
import type { ModelManifest } from './stores.js';

/**
 * A checkpoint of a model version at one epoch, as blobs under one prefix:
 * - `<prefix>/manifest`: the `ModelManifest` (JSON, UTF-8), written last: a checkpoint
 *   without it is incomplete and never read;
 * - `<prefix>/global`: the job's global parameters (`CheckpointGlobal`, msgpack);
 * - `<prefix>/<kind>/s<shard>`: one `CheckpointPart` per shard and kind (`user`, `title`).
 */
export interface CheckpointPart {
  /** Actor keys, one per row. */
  keys: string[];
  factors: number;
  /** `keys.length × (factors + 1)`: each row's factors, then its bias. */
  rows: Float32Array;
}

/** Parameters of a job that belong to no actor. */
export interface CheckpointGlobal {
  /** Global mean rating. */
  mean: number;
}

/** `models/<version>/e<epoch>`: where a version's checkpoint of an epoch lives. */
export function checkpointPrefix(version: string, epoch: number): string {
  return `models/${version}/e${String(epoch).padStart(4, '0')}`;
}

export function partName(prefix: string, kind: string, shard: number): string {
  return `${prefix}/${kind}/s${shard}`;
}

export function manifestName(prefix: string): string {
  return `${prefix}/manifest`;
}

export function globalName(prefix: string): string {
  return `${prefix}/global`;
}

export function encodePart(p: CheckpointPart): Uint8Array {
  return encodeValue({ keys: p.keys, factors: p.factors, rows: p.rows });
}

/** msgpack that does not decode reads as nothing, so that the shape check names the blob. */
function decodeOrNull(bytes: Uint8Array): unknown {
  try {
    return decodeValue(bytes);
  } catch {
    return null;
  }
}

/** Decodes a part, checking its shape; `name` is for the error. */
export function decodePart(bytes: Uint8Array, name: string): CheckpointPart {
  return checkPart(decodeOrNull(bytes), name);
}

/** A decoded value as a part, its shape checked; `name` is for the error. */
export function checkPart(value: unknown, name: string): CheckpointPart {
  const v = value as Partial<CheckpointPart> | null;
  const ok =
    v !== null &&
    typeof v === 'object' &&
    Array.isArray(v.keys) &&
    Number.isInteger(v.factors) &&
    v.factors! > 0 &&
    v.rows instanceof Float32Array &&
    v.rows.length === v.keys.length * (v.factors! + 1);
  if (!ok) throw new InvalidArgument(`checkpoint part ${name} is malformed`, { fields: [name] });
  return v as CheckpointPart;
}

export function encodeGlobal(g: CheckpointGlobal): Uint8Array {
  return encodeValue(g);
}

export function decodeGlobal(bytes: Uint8Array, name: string): CheckpointGlobal {
  const v = decodeOrNull(bytes) as Partial<CheckpointGlobal> | null;
  if (v === null || typeof v !== 'object' || typeof v.mean !== 'number') throw new InvalidArgument(`checkpoint global ${name} is malformed`, { fields: [name] });
  return v as CheckpointGlobal;
}

export function encodeManifest(m: ModelManifest): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(m));
}

export function decodeManifest(bytes: Uint8Array, name: string): ModelManifest {
  try {
    return JSON.parse(new TextDecoder().decode(bytes)) as ModelManifest;
  } catch {
    throw new InvalidArgument(`checkpoint manifest ${name} is not JSON`, { fields: [name] });
  }
}
