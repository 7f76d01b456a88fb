export { NodeTraining } from './node-training.js';
export { NodeParams } from './node-params.js';
export { beginTrainingJob, cancelTrainingJob, followTrainingJob, runTrainingJob, trainingJobStatus } from './driver.js';
export { DEFAULT_TRAIN_SEED, newVersionId, trainSpecFrom, type TrainRequest } from './spec-from.js';
export { checkTrainSpec, JOB_VERSION_PATTERN, MAX_EPOCHS, parseConsistency, stalenessOf, DISTRIBUTED_MODELS, TITLE_UPDATES, DEFAULT_ADAGRAD_STEP, DEFAULT_CLOCKS_PER_EPOCH, DEFAULT_LIGHTGCN_BATCH, DEFAULT_LIGHTGCN_LAYERS, DEFAULT_KEEP_CHECKPOINTS, DEFAULT_VALIDATION_FRACTION, DEFAULT_WORKER_TIMEOUT_MS } from './spec.js';
export { CANCELLED_ERROR, JobMsg, NodeMsg } from './messages.js';
export { MemoryBlobStore, MemoryModelRegistry } from './memory-stores.js';
export {
  commitCheckpoint,
  latestCheckpoint,
  listCheckpoints,
  pruneCheckpoints,
  readCheckpoint,
  writeCheckpoint,
  writeCheckpointParts,
} from './checkpoints.js';
export { checkpointPrefix } from './checkpoint.js';
export { ACTIVATABLE_STATES, MODEL_STATES, MODEL_VERSION_PATTERN, UnknownModelVersion } from './stores.js';

export type { TrainingDeps } from './node-training.js';
export type { RunJobOptions } from './driver.js';
export type { TrainSpec, Consistency, DistributedModel, TitleUpdate } from './spec.js';
export type { EpochSummary, JobStatus, ClockStats } from './messages.js';
export type { BlobStore, HyperparameterValue, ModelManifest, ModelRegistry, ModelState } from './stores.js';
export type { CheckpointGlobal, CheckpointPart } from './checkpoint.js';
export type { Checkpoint, CheckpointEntry, ShardPart } from './checkpoints.js';
export { TrainedModel } from './trained-model.js';
export { coldBias, contentModelBlob, DEFAULT_CONTENT_SPEC, readContentModel, type ContentSpec, type ServedContentModel } from './content-phase.js';
