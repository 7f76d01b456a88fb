import { InvalidArgument } from '../../runtime/index.js';

/**
 * Where training keeps what outlives a job's processes: model manifests (a registry of
 * versions) and checkpoint blobs. Declared here, implemented by the cluster on JetStream
 * (KV for manifests, object store for blobs) and in memory for the in-process default.
 */

/**
 * A model version's lifecycle. Only `activate` makes a version ACTIVE, and only from READY, RETIRED
 * or ACTIVE; one version is ACTIVE at a time, and the one it replaces becomes RETIRED.
 */
export const MODEL_STATES = ['TRAINING', 'READY', 'ACTIVE', 'RETIRED', 'FAILED'] as const;
export type ModelState = (typeof MODEL_STATES)[number];

/** Hyperparameter values as a manifest records them. */
export type HyperparameterValue = number | string | boolean;

/** What a model version is: written when its job starts, updated per epoch and at the end. */
export interface ModelManifest {
  /** Version id, `[A-Za-z0-9_-]`, unique in the cluster (e.g. `mf-20261130-110501-3f2a`). */
  id: string;
  /** `mf`, `svdpp`, `als`, `bpr`. */
  model: string;
  factors: number;
  hyperparameters: Record<string, HyperparameterValue>;
  seed: number;
  /** Fingerprint of the training data (models/fingerprint.ts). */
  dataFingerprint: string;
  /** Latest metrics, e.g. `{ train_rmse, validation_rmse, updates_per_s }`. */
  metrics: Record<string, number>;
  state: ModelState;
  /** Wall-clock ms since the Unix epoch: labels for people. */
  createdAtMs: number;
  updatedAtMs: number;
  /** Epochs finished (and checkpointed). */
  epochsDone: number;
  /** Epochs asked for. */
  epochs: number;
  /** The last complete checkpoint: its blob name prefix, its epoch and how many part blobs it has. */
  checkpoint?: { epoch: number; prefix: string; parts?: number };
  /** Why the version FAILED. */
  error?: string;
}

/** Model manifests by version id. */
export interface ModelRegistry {
  list(): Promise<ModelManifest[]>;
  get(id: string): Promise<ModelManifest | undefined>;
  /** Creates a manifest; throws `InvalidArgument` if the id exists. */
  create(m: ModelManifest): Promise<void>;
  /**
   * Read-modify-write by compare-and-set, retried on conflict (so `change` may run more than once);
   * returns what was written. Throws `UnknownModelVersion` for an unknown id, and `InvalidArgument`
   * when `change` alters the id or moves the state to or from ACTIVE (that is `activate`'s alone).
   */
  update(id: string, change: (m: ModelManifest) => ModelManifest): Promise<ModelManifest>;
  /** The ACTIVE version's id, if any. */
  active(): Promise<string | undefined>;
  /**
   * Makes `id` (READY, RETIRED or already ACTIVE) the ACTIVE version and the previous one RETIRED.
   * Throws `UnknownModelVersion`, or `InvalidArgument` for a TRAINING or FAILED version.
   */
  activate(id: string): Promise<ModelManifest>;
}

/** Named binary blobs (checkpoint parts). Names are `/`-separated paths of `[A-Za-z0-9_.=-]` segments (`checkBlobName`). */
export interface BlobStore {
  put(name: string, data: Uint8Array): Promise<void>;
  /** Undefined when absent. */
  get(name: string): Promise<Uint8Array | undefined>;
  /** Names starting with `prefix`, sorted. */
  list(prefix: string): Promise<string[]>;
  /** Deletes every blob whose name starts with `prefix`; returns how many. */
  deletePrefix(prefix: string): Promise<number>;
}

/** A version id: one KV key token and one blob name segment. */
export const MODEL_VERSION_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;

/** States `activate` accepts. */
export const ACTIVATABLE_STATES: readonly ModelState[] = ['READY', 'RETIRED', 'ACTIVE'];

/** No model version has this id. An `InvalidArgument`, so callers that only know that still see the contract's error. */
export class UnknownModelVersion extends InvalidArgument {
  constructor(readonly version: string) {
    super(`no model version '${version}'`, { fields: ['id'] });
    this.name = 'UnknownModelVersion';
  }
}

/** Checks a manifest a registry is asked to create: a valid id and state, never ACTIVE (only `activate` makes that). */
export function checkNewManifest(m: ModelManifest): void {
  if (typeof m.id !== 'string' || !MODEL_VERSION_PATTERN.test(m.id)) {
    throw new InvalidArgument(`model version id '${String(m.id)}' must match ${MODEL_VERSION_PATTERN}`, { fields: ['id'] });
  }
  if (!MODEL_STATES.includes(m.state)) throw new InvalidArgument(`model version ${m.id}: unknown state '${String(m.state)}' (one of ${MODEL_STATES.join(', ')})`, { fields: ['state'] });
  if (m.state === 'ACTIVE') throw new InvalidArgument(`model version ${m.id} cannot be created ACTIVE: create it READY and activate it`, { fields: ['state'] });
}

/** Checks what an `update` would write over `before`. */
export function checkUpdate(before: ModelManifest, after: ModelManifest): void {
  if (after.id !== before.id) throw new InvalidArgument(`model version ${before.id}: an update may not change the id (to '${after.id}')`, { fields: ['id'] });
  if (!MODEL_STATES.includes(after.state)) throw new InvalidArgument(`model version ${before.id}: unknown state '${String(after.state)}'`, { fields: ['state'] });
  if ((before.state === 'ACTIVE') !== (after.state === 'ACTIVE')) {
    throw new InvalidArgument(`model version ${before.id}: an update may not move the state from ${before.state} to ${after.state}; activate another version instead`, {
      fields: ['state'],
    });
  }
}

/** Throws `InvalidArgument` unless `m` may be activated, saying why not. */
export function checkActivatable(m: ModelManifest): void {
  if (ACTIVATABLE_STATES.includes(m.state)) return;
  const why = m.state === 'TRAINING' ? 'its training has not finished' : `its training failed${m.error ? `: ${m.error}` : ''}`;
  const states = `${ACTIVATABLE_STATES.slice(0, -1).join(', ')} or ${ACTIVATABLE_STATES.at(-1)}`;
  throw new InvalidArgument(`model version ${m.id} is ${m.state} and cannot be activated (${why}); only a ${states} version can`, {
    fields: ['state'],
  });
}

/** A blob name as `BlobStore` takes it. */
export const BLOB_NAME_PATTERN = /^[A-Za-z0-9_.=-]+(\/[A-Za-z0-9_.=-]+)*$/;

export function checkBlobName(name: string): void {
  if (!BLOB_NAME_PATTERN.test(name)) throw new InvalidArgument(`blob name '${name}' must be /-separated segments of [A-Za-z0-9_.=-]`, { fields: ['name'] });
}
