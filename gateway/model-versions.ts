import { status } from '@grpc/grpc-js';
import { UnknownModelVersion, type ModelManifest, type ModelRegistry } from '../actors/training/index.js';
import { activateVersion, type ClusterClient } from '../cluster/index.js';
import { InvalidArgument } from '../runtime/index.js';
import type { ActivateModelVersionRequest__Output } from '../protos/generated/reel/v1/ActivateModelVersionRequest.js';
import type { ActivateModelVersionResponse } from '../protos/generated/reel/v1/ActivateModelVersionResponse.js';
import type { GetModelVersionRequest__Output } from '../protos/generated/reel/v1/GetModelVersionRequest.js';
import type { GetModelVersionResponse } from '../protos/generated/reel/v1/GetModelVersionResponse.js';
import type { ListModelVersionsRequest__Output } from '../protos/generated/reel/v1/ListModelVersionsRequest.js';
import type { ListModelVersionsResponse } from '../protos/generated/reel/v1/ListModelVersionsResponse.js';
import type { ModelVersion } from '../protos/generated/reel/v1/ModelVersion.js';
import { ApiError } from './errors.js';
import { pageOf } from './page-token.js';
import { timestamp } from './timestamps.js';
import { RequestCheck } from './validate.js';

/** reel's model names as `reel.v1.ModelType`. */
export const MODEL_TYPES: Record<string, NonNullable<ModelVersion['modelType']>> = { mf: 'MODEL_TYPE_MF_SGD', als: 'MODEL_TYPE_MF_ALS', bpr: 'MODEL_TYPE_BPR', svdpp: 'MODEL_TYPE_SVDPP', lightgcn: 'MODEL_TYPE_LIGHTGCN' };

/** A manifest as AdminService gives it. Training jobs are named by the version they train. */
export function modelVersionOf(m: ModelManifest): ModelVersion {
  return {
    modelVersion: m.id,
    modelType: MODEL_TYPES[m.model] ?? 'MODEL_TYPE_UNSPECIFIED',
    trainingJobId: m.id,
    state: `MODEL_VERSION_STATE_${m.state}` as ModelVersion['state'],
    metrics: m.metrics,
    dimensions: m.factors,
    createTime: timestamp(m.createdAtMs),
  };
}

/** Newest first, then by id: the order of AdminService's lists. */
export function newestFirst(a: ModelManifest, b: ModelManifest): number {
  return b.createdAtMs - a.createdAtMs || (a.id < b.id ? -1 : 1);
}


/**
 * AdminService's model-version methods over the cluster's registry (as `reel models` reads it).
 * `registry()` is undefined while no version was ever trained: the list is empty, a get NOT_FOUND.
 */
export function modelVersionHandlers(registry: () => Promise<ModelRegistry | undefined>, client: ClusterClient) {
  const get = async (field: string, id: string): Promise<ModelManifest> => {
    const m = await (await registry())?.get(id);
    if (m === undefined) throw ApiError.notFound('MODEL_VERSION_NOT_FOUND', `model version ${id} does not exist`, { model_version: id });
    return m;
  };
  return {
    ListModelVersions: async (req: ListModelVersionsRequest__Output): Promise<ListModelVersionsResponse> => {
      const c = new RequestCheck();
      const size = c.pageSize('page_size', req.pageSize);
      c.done();
      // Newest first; a version created between pages shifts the list by one (no snapshot is kept).
      const all = ((await (await registry())?.list()) ?? []).sort(newestFirst);
      const page = pageOf(all, { ...req }, size, 'model-versions');
      return { modelVersions: page.items.map(modelVersionOf), nextPageToken: page.nextPageToken };
    },
    GetModelVersion: async (req: GetModelVersionRequest__Output): Promise<GetModelVersionResponse> => {
      const c = new RequestCheck();
      const id = c.id('model_version', req.modelVersion);
      c.done();
      return { modelVersion: modelVersionOf(await get('model_version', id)) };
    },
    ActivateModelVersion: async (req: ActivateModelVersionRequest__Output): Promise<ActivateModelVersionResponse> => {
      const c = new RequestCheck();
      const id = c.id('model_version', req.modelVersion);
      c.done();
      const m = await get('model_version', id);
      if (m.state === 'TRAINING' || m.state === 'FAILED') {
        throw new ApiError(status.FAILED_PRECONDITION, 'MODEL_VERSION_NOT_READY', `model version ${id} is ${m.state}: only a READY, RETIRED or ACTIVE version can be activated`, [], { model_version: id, state: m.state });
      }
      if (req.validateOnly) return { modelVersion: modelVersionOf(m) };
      const reg = (await registry())!;
      try {
        return { modelVersion: modelVersionOf((await activateVersion(reg, client, id)).manifest) };
      } catch (err) {
        // Its state changed between the check and the activation.
        if (err instanceof UnknownModelVersion) throw ApiError.notFound('MODEL_VERSION_NOT_FOUND', `model version ${id} does not exist`, { model_version: id });
        if (err instanceof InvalidArgument) throw new ApiError(status.FAILED_PRECONDITION, 'MODEL_VERSION_NOT_READY', err.message, [], { model_version: id });
        throw err;
      }
    },
  };
}
