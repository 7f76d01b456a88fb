import { decodeValue, encodeValue, InvalidArgument, Unavailable } from '../../runtime/index.js';
import {
  checkPart,
  checkpointPrefix,
  decodeGlobal,
  decodeManifest,
  decodePart,
  encodeGlobal,
  encodeManifest,
  encodePart,
  globalName,
  manifestName,
  partName,
  type CheckpointGlobal,
  type CheckpointPart,
} from './checkpoint.js';
import type { BlobStore, ModelManifest } from './stores.js';

/** One shard's rows of one kind. */
export interface ShardPart {
  /** `user` or `title`. */
  kind: string;
  shard: number;
  part: CheckpointPart;
}

/** A complete checkpoint as read back. */
export interface Checkpoint {
  /** The manifest written last, with `checkpoint` naming this checkpoint. */
  manifest: ModelManifest;
  global: CheckpointGlobal;
  /** Sorted by kind, then shard. */
  parts: ShardPart[];
}

/** A checkpoint's place in the store; `complete` once its manifest is there. */
export interface CheckpointEntry {
  epoch: number;
  prefix: string;
  complete: boolean;
}

/** Parts written at once: enough to keep the store busy without a burst of every shard's rows in flight. */
const PUT_CONCURRENCY = 16;

/**
 * Writes a whole checkpoint of `manifest.id` at epoch `manifest.epochsDone`: the parts, the global
 * parameters, and the manifest last, so that a reader never takes a half-written checkpoint for one.
 * Returns the manifest as written, its `checkpoint` naming this one (for the registry).
 */
export async function writeCheckpoint(store: BlobStore, manifest: ModelManifest, global: CheckpointGlobal, parts: ShardPart[]): Promise<ModelManifest> {
  const prefix = checkpointPrefixOf(manifest);
  await writeCheckpointParts(store, prefix, parts);
  return commitCheckpoint(store, manifest, global, parts.length);
}

/** Writes parts under `prefix` (a node writes the shards it owns); nothing reads them before `commitCheckpoint`. */
export async function writeCheckpointParts(store: BlobStore, prefix: string, parts: ShardPart[]): Promise<void> {
  const seen = new Set<string>();
  for (const p of parts) {
    const name = partName(prefix, p.kind, p.shard);
    if (seen.has(name)) throw new InvalidArgument(`checkpoint ${prefix}: two parts for ${p.kind} shard ${p.shard}`, { fields: ['parts'] });
    seen.add(name);
  }
  let next = 0;
  const worker = async () => {
    while (next < parts.length) {
      const p = parts[next++]!;
      await store.put(partName(prefix, p.kind, p.shard), encodePart(p.part));
    }
  };
  await Promise.all(Array.from({ length: Math.min(PUT_CONCURRENCY, parts.length) }, worker));
}

/** The name of a group of one kind's parts: `<prefix>/<kind>/g-<group>`. */
export function groupName(prefix: string, kind: string, group: string): string {
  return `${prefix}/${kind}/g-${group}`;
}

/**
 * Writes the parts one node holds as one blob per kind (`g-<group>`): a put per kind instead
 * of one per shard, which is what a checkpoint of many shards costs in object-store puts.
 * Readers see the parts as if each were its own blob.
 */
export async function writeCheckpointGroup(store: BlobStore, prefix: string, group: string, parts: ShardPart[]): Promise<void> {
  const byKind = new Map<string, ShardPart[]>();
  for (const p of parts) (byKind.get(p.kind) ?? byKind.set(p.kind, []).get(p.kind)!).push(p);
  await Promise.all(
    [...byKind].map(([kind, ps]) => {
      const shards = ps.map((p) => p.shard);
      if (new Set(shards).size !== shards.length) throw new InvalidArgument(`checkpoint ${prefix}: two parts for one ${kind} shard`, { fields: ['parts'] });
      return store.put(groupName(prefix, kind, group), encodeValue({ shards, parts: ps.map((p) => ({ keys: p.part.keys, factors: p.part.factors, rows: p.part.rows })) }));
    }),
  );
}

/** The group a worker writes in an attempt: its blobs are told apart from those of an earlier attempt's. */
export function groupOf(attempt: number, node: string): string {
  return `a${attempt}-${node}`;
}

/** Deletes the groups under `prefix` whose name does not start with `keep` (left by an earlier attempt); returns how many. */
export async function dropOtherGroups(store: BlobStore, prefix: string, keep: string): Promise<number> {
  let n = 0;
  for (const name of await store.list(`${prefix}/`)) {
    const m = /^[^/]+\/g-(.+)$/.exec(name.slice(prefix.length + 1));
    if (m && !m[1]!.startsWith(keep)) n += await store.deletePrefix(name);
  }
  return n;
}

/**
 * Completes the checkpoint of `manifest` at its `epochsDone` once all `partCount` parts are written:
 * the global parameters, then the manifest. Returns the manifest as written.
 */
export async function commitCheckpoint(store: BlobStore, manifest: ModelManifest, global: CheckpointGlobal, partCount: number): Promise<ModelManifest> {
  const prefix = checkpointPrefixOf(manifest);
  const written: ModelManifest = { ...manifest, checkpoint: { epoch: manifest.epochsDone, prefix, parts: partCount } };
  await store.put(globalName(prefix), encodeGlobal(global));
  await store.put(manifestName(prefix), encodeManifest(written));
  return written;
}

function checkpointPrefixOf(m: ModelManifest): string {
  if (!Number.isInteger(m.epochsDone) || m.epochsDone < 0) {
    throw new InvalidArgument(`model version ${m.id}: a checkpoint needs epochsDone, a whole number ≥ 0 (got ${m.epochsDone})`, { fields: ['epochsDone'] });
  }
  return checkpointPrefix(m.id, m.epochsDone);
}

/**
 * Reads the checkpoint under `prefix`; undefined when its manifest is absent (not written, or not
 * yet). A manifest whose parts or global parameters are missing or malformed is an `InvalidArgument`
 * naming the blob: the manifest is written last, so that is damage, not a checkpoint in progress.
 */
export async function readCheckpoint(store: BlobStore, prefix: string): Promise<Checkpoint | undefined> {
  const mBytes = await store.get(manifestName(prefix));
  if (mBytes === undefined) return undefined;
  const manifest = decodeManifest(mBytes, manifestName(prefix));
  const gBytes = await store.get(globalName(prefix));
  if (gBytes === undefined) throw new InvalidArgument(`checkpoint ${prefix} has a manifest but no ${globalName(prefix)}`, { fields: [globalName(prefix)] });
  const global = decodeGlobal(gBytes, globalName(prefix));
  const partPattern = /^([^/]+)\/s(\d+)$/;
  const groupPattern = /^([^/]+)\/g-[^/]+$/;
  const parts: ShardPart[] = [];
  const add = (name: string, kind: string, shard: number, part: CheckpointPart) => {
    if (part.factors !== manifest.factors) {
      throw new InvalidArgument(`checkpoint part ${name} has ${part.factors} factors, its manifest ${manifest.factors}`, { fields: [name] });
    }
    parts.push({ kind, shard, part });
  };
  for (const name of await store.list(`${prefix}/`)) {
    const rel = name.slice(prefix.length + 1);
    const m = partPattern.exec(rel);
    const g = m ? null : groupPattern.exec(rel);
    if (!m && !g) continue;
    const bytes = await store.get(name);
    // Pruned while read (a newer checkpoint completed): the reader may try again, for that one.
    if (bytes === undefined) throw new Unavailable(`checkpoint part ${name} vanished while it was read`, {});
    if (m) {
      add(name, m[1]!, Number(m[2]), decodePart(bytes, name));
      continue;
    }
    const v = decodeGroup(bytes, name);
    for (let x = 0; x < v.shards.length; x++) add(name, g![1]!, v.shards[x]!, checkPart(v.parts[x], `${name}#${v.shards[x]}`));
  }
  const expected = manifest.checkpoint?.parts;
  if (expected !== undefined && expected !== parts.length) {
    throw new InvalidArgument(`checkpoint ${prefix} is damaged: its manifest counts ${expected} parts, the store holds ${parts.length}`, { fields: [prefix] });
  }
  parts.sort((a, b) => (a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : a.shard - b.shard));
  return { manifest, global, parts };
}

/** A version's checkpoints, complete or not, by epoch. */
export async function listCheckpoints(store: BlobStore, version: string): Promise<CheckpointEntry[]> {
  const root = `models/${version}/`;
  const byEpoch = new Map<number, CheckpointEntry>();
  for (const name of await store.list(root)) {
    const m = /^e(\d+)\/(.+)$/.exec(name.slice(root.length));
    if (!m) continue;
    const epoch = Number(m[1]);
    const prefix = checkpointPrefix(version, epoch);
    // A name of another padding (e01 beside e0001) is not one this code wrote: ignore it.
    if (!name.startsWith(`${prefix}/`)) continue;
    const e = byEpoch.get(epoch) ?? { epoch, prefix, complete: false };
    if (m[2] === 'manifest') e.complete = true;
    byEpoch.set(epoch, e);
  }
  return [...byEpoch.values()].sort((a, b) => a.epoch - b.epoch);
}

/** The version's complete checkpoint of the highest epoch, read whole; undefined when it has none. */
export async function latestCheckpoint(store: BlobStore, version: string): Promise<Checkpoint | undefined> {
  const latest = (await listCheckpoints(store, version)).filter((c) => c.complete).pop();
  return latest && readCheckpoint(store, latest.prefix);
}

/**
 * Keeps the version's `keep` newest complete checkpoints and deletes older ones, and incomplete
 * ones older than the newest complete (abandoned by a crash); an incomplete one past it may be
 * being written and stays. Returns the epochs deleted.
 */
export async function pruneCheckpoints(store: BlobStore, version: string, keep: number): Promise<number[]> {
  if (!Number.isInteger(keep) || keep < 1) throw new InvalidArgument(`pruneCheckpoints: keep must be a whole number ≥ 1 (got ${keep})`, { fields: ['keep'] });
  const all = await listCheckpoints(store, version);
  const complete = all.filter((c) => c.complete);
  const kept = new Set(complete.slice(-keep).map((c) => c.epoch));
  const newest = complete.at(-1)?.epoch ?? -1;
  const doomed = all.filter((c) => (c.complete ? !kept.has(c.epoch) : c.epoch < newest));
  for (const c of doomed) {
    // The manifest goes first: a checkpoint half deleted is then incomplete, never read as whole.
    await store.deletePrefix(manifestName(c.prefix));
    await store.deletePrefix(`${c.prefix}/`);
  }
  return doomed.map((c) => c.epoch);
}

/** A group blob's content, checked. */
function decodeGroup(bytes: Uint8Array, name: string): { shards: number[]; parts: unknown[] } {
  let v: unknown;
  try {
    v = decodeValue(bytes);
  } catch {
    throw new InvalidArgument(`checkpoint part ${name} is malformed`, { fields: [name] });
  }
  const o = v as { shards?: unknown; parts?: unknown } | null;
  if (o === null || typeof o !== 'object' || !Array.isArray(o.shards) || !Array.isArray(o.parts) || o.shards.length !== o.parts.length || !o.shards.every((x) => Number.isInteger(x))) {
    throw new InvalidArgument(`checkpoint part ${name} is malformed`, { fields: [name] });
  }
  return o as { shards: number[]; parts: unknown[] };
}
