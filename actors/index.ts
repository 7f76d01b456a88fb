import type { ActorSystem } from '../runtime/index.js';
import { Kind } from './kinds.js';
import { TitleActor } from './title.js';
import { UserActor } from './user.js';
import { NodeParams } from './training/node-params.js';
import { TitleMsg, UserMsg } from './messages.js';
import type { NodeServing } from './serving/node-serving.js';

/**
 * Registers reel's actor kinds on a node; `params` holds the node's model parameters and
 * training views, `serving` what recommendations are ranked from (without it, users cannot
 * recommend). Reads (summaries, recommendations) are not remembered for deduplication, and
 * every handler that persists does so as its last act (`persistsLast`: a handoff does not write
 * what the handler already wrote).
 */
export function registerReelActors(system: ActorSystem, params: NodeParams = new NodeParams(), serving?: NodeServing): ActorSystem {
  return system
    .register(Kind.User, (a) => new UserActor(a, params, serving), { reads: [UserMsg.Summary, UserMsg.Recommend, UserMsg.Similar, UserMsg.Watched, UserMsg.Explain, UserMsg.Interactions, UserMsg.Vector], persistsLast: true })
    .register(Kind.Title, (a) => new TitleActor(a, params, serving), { reads: [TitleMsg.Summary, TitleMsg.Similar], persistsLast: true });
}

export { Kind } from './kinds.js';
export { ingestInteractions, DEFAULT_INGEST_BATCH } from './ingest.js';
export { askAcked, ingestAcked, NotAcknowledged } from './ingest-acked.js';
export { INTERACTION_TYPES, TitleMsg, UserMsg } from './messages.js';
export { decodeInteraction, MAX_EVENT_ID_CHARS, MAX_ID_CHARS, VALUE_RANGES } from './decode.js';
export { decodeTitleMetadata, MAX_DISPLAY_NAME_CHARS, MAX_GENRES, MAX_TERM_CHARS } from './title-metadata.js';
export { decodeUserProfile, type UserProfileBody } from './user-profile.js';
export { IdentitySet } from './identity-set.js';
export { interactionHash } from './interaction-identity.js';
export { USER_RECENT_TITLES } from './user.js';
export { MAX_LOG_DELETE_TITLES, MAX_LOG_PAGE } from './user-log.js';

export type { IngestOptions } from './ingest.js';
export type { AckedIngestOptions } from './ingest-acked.js';
export type { OwnKeyField } from './decode.js';
export type { InteractionBody, InteractionType, LogCursor, LogDelete, LoggedInteraction, LoggedType, LogPage, LogQuery, TitleMetadataBody, TitleSummary, UserSummary } from './messages.js';
export { NodeParams } from './training/node-params.js';
export { TitleInterner, UserHistory, type StoredHistory } from './training/node-params.js';
