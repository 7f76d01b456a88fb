import type { ActorSystem } from '../runtime/index.js';
import { Kind } from './kinds.js';
import { TitleActor } from './title.js';
import { UserActor } from './user.js';

/** Registers reel's actor kinds on a node. */
export function registerReelActors(system: ActorSystem): ActorSystem {
  return system.register(Kind.User, (a) => new UserActor(a)).register(Kind.Title, (a) => new TitleActor(a));
}

export { Kind } from './kinds.js';
export { ingestInteractions, DEFAULT_INGEST_BATCH } from './ingest.js';
export { INTERACTION_TYPES, TitleMsg, UserMsg } from './messages.js';
export { decodeInteraction, MAX_EVENT_ID_CHARS, MAX_ID_CHARS } from './decode.js';
export { IdentitySet } from './identity-set.js';
export { interactionHash } from './interaction-identity.js';
export { USER_RECENT_TITLES } from './user.js';

export type { IngestOptions } from './ingest.js';
export type { OwnKeyField } from './decode.js';
export type { InteractionBody, InteractionType, TitleSummary, UserSummary } from './messages.js';
