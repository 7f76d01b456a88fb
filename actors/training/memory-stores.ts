import { InvalidArgument } from '../../runtime/index.js';
import {
  checkActivatable,
  checkBlobName,
  checkNewManifest,
  checkUpdate,
  UnknownModelVersion,
  type BlobStore,
  type ModelManifest,
  type ModelRegistry,
} from './stores.js';

/** Registries list versions oldest first, ties by id, so that listings are stable. */
export function byCreation(a: ModelManifest, b: ModelManifest): number {
  return a.createdAtMs - b.createdAtMs || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/**
 * Model manifests in this process: the in-process default and unit tests. Callers get copies, so
 * that nothing they change reaches the registry except through `update`.
 */
export class MemoryModelRegistry implements ModelRegistry {
  private readonly byId = new Map<string, ModelManifest>();
  private activeId: string | undefined;

  /** `nowMs`: the wall clock that stamps `updatedAtMs` on activation (a label for people). */
  constructor(private readonly nowMs: () => number = Date.now) {}

  async list(): Promise<ModelManifest[]> {
    return [...this.byId.values()].map((m) => structuredClone(m)).sort(byCreation);
  }

  async get(id: string): Promise<ModelManifest | undefined> {
    const m = this.byId.get(id);
    return m && structuredClone(m);
  }

  async create(m: ModelManifest): Promise<void> {
    checkNewManifest(m);
    if (this.byId.has(m.id)) throw new InvalidArgument(`model version ${m.id} already exists`, { fields: ['id'] });
    this.byId.set(m.id, structuredClone(m));
  }

  async update(id: string, change: (m: ModelManifest) => ModelManifest): Promise<ModelManifest> {
    const cur = this.byId.get(id);
    if (!cur) throw new UnknownModelVersion(id);
    const next = change(structuredClone(cur));
    checkUpdate(cur, next);
    this.byId.set(id, structuredClone(next));
    return structuredClone(next);
  }

  async active(): Promise<string | undefined> {
    return this.activeId;
  }

  async activate(id: string): Promise<ModelManifest> {
    const target = this.byId.get(id);
    if (!target) throw new UnknownModelVersion(id);
    checkActivatable(target);
    const now = this.nowMs();
    const previous = this.activeId !== undefined ? this.byId.get(this.activeId) : undefined;
    if (previous && previous.id !== id) this.byId.set(previous.id, { ...previous, state: 'RETIRED', updatedAtMs: now });
    if (target.state !== 'ACTIVE') this.byId.set(id, { ...target, state: 'ACTIVE', updatedAtMs: now });
    this.activeId = id;
    return structuredClone(this.byId.get(id)!);
  }
}

/** Blobs in this process; stored and returned as copies. */
export class MemoryBlobStore implements BlobStore {
  private readonly blobs = new Map<string, Uint8Array>();

  async put(name: string, data: Uint8Array): Promise<void> {
    checkBlobName(name);
    this.blobs.set(name, data.slice());
  }

  async get(name: string): Promise<Uint8Array | undefined> {
    return this.blobs.get(name)?.slice();
  }

  async list(prefix: string): Promise<string[]> {
    return [...this.blobs.keys()].filter((n) => n.startsWith(prefix)).sort();
  }

  async deletePrefix(prefix: string): Promise<number> {
    const names = await this.list(prefix);
    for (const n of names) this.blobs.delete(n);
    return names.length;
  }
}
