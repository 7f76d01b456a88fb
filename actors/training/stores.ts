/**
 * Where training keeps what outlives a job's processes: model manifests (a registry of
 * versions) and checkpoint blobs. Declared here, implemented by the cluster on JetStream
 * (KV for manifests, object store for blobs) and in memory for the in-process default.
 */

/** A model version's lifecycle. Only READY versions may become ACTIVE; one version is ACTIVE at a time. */
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
  /** The last complete checkpoint: its blob name prefix and epoch. */
  checkpoint?: { epoch: number; prefix: string };
  /** Why the version FAILED. */
  error?: string;
}

/** Model manifests by version id. */
export interface ModelRegistry {
  list(): Promise<ModelManifest[]>;
  get(id: string): Promise<ModelManifest | undefined>;
  /** Creates a manifest; throws `InvalidArgument` if the id exists. */
  create(m: ModelManifest): Promise<void>;
  /** Read-modify-write by compare-and-set, retried on conflict; returns what was written. Throws `NotFound`-like `InvalidArgument` for an unknown id. */
  update(id: string, change: (m: ModelManifest) => ModelManifest): Promise<ModelManifest>;
  /** The ACTIVE version's id, if any. */
  active(): Promise<string | undefined>;
  /** Makes `id` (READY, RETIRED or already ACTIVE) the ACTIVE version and the previous one RETIRED. */
  activate(id: string): Promise<ModelManifest>;
}

/** Named binary blobs (checkpoint parts). Names are `/`-separated paths of `[A-Za-z0-9_.=-]` segments. */
export interface BlobStore {
  put(name: string, data: Uint8Array): Promise<void>;
  /** Undefined when absent. */
  get(name: string): Promise<Uint8Array | undefined>;
  /** Names starting with `prefix`, sorted. */
  list(prefix: string): Promise<string[]>;
  /** Deletes every blob whose name starts with `prefix`; returns how many. */
  deletePrefix(prefix: string): Promise<number>;
}
