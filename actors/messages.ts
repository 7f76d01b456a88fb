/**
 * Message types and bodies of the user and title actors, shaped after the public API
 * (`reel.v1.Interaction`) so that the gateway can forward them without translation.
 */

/** `reel.v1.InteractionType` without the `INTERACTION_TYPE_` prefix. */
export type InteractionType = 'PLAY' | 'COMPLETE' | 'RATING' | 'THUMBS_UP' | 'THUMBS_DOWN' | 'IMPRESSION' | 'ADD_TO_LIST';

/** One interaction, as recorded by `RecordInteractions`. */
export interface InteractionBody {
  /** Idempotency key (`event_id`). */
  eventId: string;
  userId: string;
  titleId: string;
  type: InteractionType;
  /** RATING: 0.5–5 stars; PLAY: watched fraction 0–1; otherwise ignored. */
  value: number;
  /** Event time, ms since the Unix epoch. */
  eventTimeMs: number;
}

export const UserMsg = { Interaction: 'interaction', Summary: 'summary' } as const;
export const TitleMsg = { Interaction: 'interaction', Summary: 'summary' } as const;

export interface UserSummary {
  userId: string;
  interactionCount: number;
  /** Mean of RATING values; 0 when none. */
  meanRating: number;
  /** Most recent titles first. */
  recentTitleIds: string[];
  updateTimeMs: number;
}

export interface TitleSummary {
  titleId: string;
  interactionCount: number;
  meanRating: number;
  updateTimeMs: number;
}
