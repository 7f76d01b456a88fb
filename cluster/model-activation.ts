import { NodeMsg, type ModelManifest, type ModelRegistry } from '../actors/training/index.js';
import type { ClusterClient } from './client.js';

/** What activating a version did: the manifest, the version it replaced, the nodes that switched at once. */
export interface Activation {
  manifest: ModelManifest;
  previous: string | null;
  /** Nodes serving the version now. */
  nodes: string[];
  /** Shards no node's answer covered: their nodes follow the registry within `FOLLOW_ACTIVE_MS`. */
  missingShards: number[];
}

/**
 * The one place a model version is activated (`reel models activate`, AdminService): the
 * registry's pointer first (the version every node follows), then every node told to serve it
 * now (each loads the rows it lacks from the checkpoint). Throws `UnknownModelVersion`, or
 * `InvalidArgument` for a version that is not READY, RETIRED or ACTIVE.
 */
export async function activateVersion(registry: ModelRegistry, client: ClusterClient, version: string): Promise<Activation> {
  const previous = (await registry.active()) ?? null;
  const manifest = await registry.activate(version);
  const g = await client.scatter.gather(NodeMsg.Activate, { version }, { deadlineMs: 30_000 });
  return { manifest, previous, nodes: g.answers.map((a) => a.node).sort(), missingShards: g.missingShards };
}
