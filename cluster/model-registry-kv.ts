import { Kvm, type KV, type KvEntry } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { byCreation } from '../actors/training/memory-stores.js';
import {
  checkActivatable,
  checkNewManifest,
  checkUpdate,
  MODEL_VERSION_PATTERN,
  UnknownModelVersion,
  type ModelManifest,
  type ModelRegistry,
} from '../actors/training/stores.js';
import { consistentKvOptions, createConcurrently, InvalidArgument, Unavailable } from '../runtime/index.js';
import { clusterReplicas, isRevisionConflict, json, listKeys, openKvIfExists, readJson } from './cluster-kv.js';

/** Name of the model registry bucket. */
export function modelsBucket(prefix: string): string {
  return `${prefix}_models`;
}

/** Compare-and-set attempts before giving up with `Unavailable`: enough for any plausible contention. */
const MAX_CAS_ATTEMPTS = 100;
/** Reconcile passes an activation makes before giving up: each pass ends when the pointer held still. */
const MAX_RECONCILE_PASSES = 20;
const ACTIVE_KEY = 'active';
const VERSION_KEYS = 'versions.>';

function versionKey(id: string): string {
  return `versions.${id}`;
}

/** The `active` entry: which version serves, and which one it replaced (for people). */
interface ActivePointer {
  id: string;
  previous?: string;
}

/**
 * A manifest as the pointer says it is. The pointer is the truth and manifests follow it (a crash
 * between the two writes, or two racing activations, can leave a manifest behind for a moment).
 */
function asPointerSays(m: ModelManifest, activeId: string | undefined): ModelManifest {
  if (m.id === activeId && m.state !== 'ACTIVE') return { ...m, state: 'ACTIVE' };
  if (m.id !== activeId && m.state === 'ACTIVE') return { ...m, state: 'RETIRED' };
  return m;
}

/**
 * Model manifests in a JetStream KV bucket, `<prefix>_models`: one JSON value per version at
 * `versions.<id>`, and `active` naming the ACTIVE version. Every write is a compare-and-set by
 * revision, retried on conflict.
 *
 * Activation writes the `active` pointer first (a CAS: of two racing activations, each either wins
 * or retries on the other's pointer, so they serialise there), then brings the manifests in line
 * with it. Readers judge ACTIVE by the pointer alone, so a crash between the writes, or a late
 * manifest write of an activation that lost the race, never shows two ACTIVE versions; the next
 * activation repairs the stored manifests.
 */
export class KvModelRegistry implements ModelRegistry {
  private constructor(
    private readonly kv: KV,
    private readonly nowMs: () => number,
  ) {}

  /** Opens the bucket, creating it if absent (what training does). */
  static async open(nc: NatsConnection, prefix: string, opts: { nowMs?: () => number } = {}): Promise<KvModelRegistry> {
    const replicas = await clusterReplicas(nc, prefix);
    return new KvModelRegistry(await createConcurrently(() => new Kvm(nc).create(modelsBucket(prefix), { history: 1, ...consistentKvOptions(replicas) })), opts.nowMs ?? Date.now);
  }

  /** The bucket if it exists, creating nothing (what operator commands do); undefined when no version was ever written. */
  static async openExisting(nc: NatsConnection, prefix: string, opts: { nowMs?: () => number } = {}): Promise<KvModelRegistry | undefined> {
    const kv = await openKvIfExists(nc, modelsBucket(prefix));
    return kv && new KvModelRegistry(kv, opts.nowMs ?? Date.now);
  }

  async list(): Promise<ModelManifest[]> {
    const activeId = await this.active();
    const out: ModelManifest[] = [];
    for (const key of await this.versionKeys()) {
      const m = readJson<ModelManifest>(await this.kv.get(key));
      if (m) out.push(asPointerSays(m, activeId));
    }
    return out.sort(byCreation);
  }

  async get(id: string): Promise<ModelManifest | undefined> {
    if (!validKeyToken(id)) return undefined;
    const m = readJson<ModelManifest>(await this.kv.get(versionKey(id)));
    return m && asPointerSays(m, await this.active());
  }

  async create(m: ModelManifest): Promise<void> {
    checkNewManifest(m);
    try {
      await this.kv.create(versionKey(m.id), json(m));
    } catch (err) {
      if (isRevisionConflict(err)) throw new InvalidArgument(`model version ${m.id} already exists`, { fields: ['id'] });
      throw err;
    }
  }

  async update(id: string, change: (m: ModelManifest) => ModelManifest): Promise<ModelManifest> {
    if (!validKeyToken(id)) throw new UnknownModelVersion(id);
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      const e = await this.kv.get(versionKey(id));
      const stored = readJson<ModelManifest>(e);
      if (!e || !stored) throw new UnknownModelVersion(id);
      const cur = asPointerSays(stored, await this.active());
      const next = change(structuredClone(cur));
      checkUpdate(cur, next);
      if (await this.casPut(versionKey(id), next, e.revision)) return next;
    }
    throw new Unavailable(`model version ${id}: gave up after ${MAX_CAS_ATTEMPTS} conflicting updates`);
  }

  async active(): Promise<string | undefined> {
    return readJson<ActivePointer>(await this.kv.get(ACTIVE_KEY))?.id;
  }

  async activate(id: string): Promise<ModelManifest> {
    if (!validKeyToken(id)) throw new UnknownModelVersion(id);
    for (let attempt = 0; ; attempt++) {
      if (attempt === MAX_CAS_ATTEMPTS) throw new Unavailable(`activating model version ${id}: gave up after ${MAX_CAS_ATTEMPTS} conflicting activations`);
      const stored = readJson<ModelManifest>(await this.kv.get(versionKey(id)));
      if (!stored) throw new UnknownModelVersion(id);
      const ptrEntry = await this.kv.get(ACTIVE_KEY);
      const ptr = readJson<ActivePointer>(ptrEntry);
      checkActivatable(asPointerSays(stored, ptr?.id));
      if (ptr?.id === id) break;
      const value: ActivePointer = ptr ? { id, previous: ptr.id } : { id };
      // The pointer's revision (0: no entry yet) fences the write: a racing activation makes it fail, and this one retries on top of it.
      if (await this.casPut(ACTIVE_KEY, value, ptrEntry?.revision ?? 0)) break;
    }
    await this.reconcile();
    return (await this.get(id))!;
  }

  /**
   * Brings every stored manifest in line with the pointer, pass after pass until a pass starts and
   * ends on the same pointer revision (an activation that lands meanwhile gets another pass).
   */
  private async reconcile(): Promise<void> {
    for (let pass = 0; pass < MAX_RECONCILE_PASSES; pass++) {
      const before = await this.kv.get(ACTIVE_KEY);
      const activeId = readJson<ActivePointer>(before)?.id;
      for (const key of await this.versionKeys()) await this.followPointer(key, activeId);
      const after = await this.kv.get(ACTIVE_KEY);
      if ((after?.revision ?? 0) === (before?.revision ?? 0)) return;
    }
    throw new Unavailable(`model registry: the active version changed on every one of ${MAX_RECONCILE_PASSES} passes`);
  }

  /** Rewrites one stored manifest whose state disagrees with `activeId`, by CAS; a conflict re-reads it. */
  private async followPointer(key: string, activeId: string | undefined): Promise<void> {
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      const e: KvEntry | null = await this.kv.get(key);
      const m = readJson<ModelManifest>(e);
      if (!e || !m) return;
      const want = asPointerSays(m, activeId);
      if (want === m) return;
      if (await this.casPut(key, { ...want, updatedAtMs: this.nowMs() }, e.revision)) return;
    }
    throw new Unavailable(`model registry: ${key} kept changing while it was brought in line with the active version`);
  }

  /** Writes `value` at `key` if its revision is still `revision` (0: the key must not exist); false on a conflict. */
  private async casPut(key: string, value: unknown, revision: number): Promise<boolean> {
    try {
      if (revision === 0) await this.kv.create(key, json(value));
      else await this.kv.update(key, json(value), revision);
      return true;
    } catch (err) {
      if (isRevisionConflict(err)) return false;
      throw err;
    }
  }

  private versionKeys(): Promise<string[]> {
    return listKeys(this.kv, VERSION_KEYS);
  }
}

/** Ids that are no version id (`a.b`, `*`, empty: not even a key token) name no version; they are not sent to the server. */
function validKeyToken(id: string): boolean {
  return MODEL_VERSION_PATTERN.test(id);
}

/** The cluster's model registry, its bucket created if absent (what training does). */
export function openModelRegistry(nc: NatsConnection, prefix: string, opts: { nowMs?: () => number } = {}): Promise<ModelRegistry> {
  return KvModelRegistry.open(nc, prefix, opts);
}

/** The cluster's model registry if its bucket exists, creating nothing (what operator commands do). */
export function openExistingModelRegistry(nc: NatsConnection, prefix: string, opts: { nowMs?: () => number } = {}): Promise<ModelRegistry | undefined> {
  return KvModelRegistry.openExisting(nc, prefix, opts);
}
