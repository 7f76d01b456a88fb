/**
 * Message types and bodies of the user and title actors, shaped after the public API
 * (`reel.v1.Interaction`) so that the gateway can forward them without translation.
 */

/** `reel.v1.InteractionType` values without the `INTERACTION_TYPE_` prefix. */
export const INTERACTION_TYPES = ['PLAY', 'COMPLETE', 'RATING', 'THUMBS_UP', 'THUMBS_DOWN', 'IMPRESSION', 'ADD_TO_LIST'] as const;

/** `reel.v1.InteractionType` without the `INTERACTION_TYPE_` prefix. */
export type InteractionType = (typeof INTERACTION_TYPES)[number];

/** A type as the user's interaction log reports it: UNSPECIFIED for one kept before the log kept types. */
export type LoggedType = InteractionType | 'UNSPECIFIED';

/** One interaction, as recorded by `RecordInteractions`. Actors accept it only through `decodeInteraction`. */
export interface InteractionBody {
  /**
   * Idempotency key (`event_id`), at most 128 characters. Empty when the source has none
   * (MovieLens): then (userId, titleId, eventTimeMs, type) identifies the interaction.
   */
  eventId: string;
  /** Non-empty, at most 256 characters. */
  userId: string;
  /** Non-empty, at most 256 characters. */
  titleId: string;
  type: InteractionType;
  /** RATING: 0.5–5 stars; PLAY: watched fraction 0–1; otherwise any finite number (0 when absent). */
  value: number;
  /** Event time, ms since the Unix epoch: a non-negative safe integer. */
  eventTimeMs: number;
}

/**
 * `interaction` answers `true` when applied, `false` for a repeat of an applied one; `summary`
 * takes no body; `recommend` ranks titles for the user (`RecommendBody` → `RecommendAnswer`),
 * `similar` titles like one, without those the user watched (`SimilarBody` → `RecommendAnswer`);
 * `watched` answers the ids of every title the user interacted with (no body); `record` is
 * `interaction` made durable before it answers (an interaction from the stream, acknowledged
 * there only once it cannot be lost); `explain` says why a title has its place among the
 * user's recommendations (`ExplainBody` → `ExplainAnswer`); `delete` forgets the user (its
 * history, profile and rows), durably, and answers whether it was known.
 *
 * The interaction log: `interactions` (read-only) answers a page of it, newest first
 * (`LogQuery` → `LogPage`); `deleteInteractions` removes the interactions a `LogDelete`
 * matches, rebuilds what derives from the log (counters, recent and watched titles, dislikes,
 * the cached ranking, the row of the active version), durably, and answers how many went.
 *
 * `vector` (read-only, no body) answers the user's row of the active version and its watched
 * titles (`UserVector`): what a scatter-gather ranking over the title shards needs of the user.
 * Serving ranks on the user's node instead; `bench:serve` measures the two.
 */
export const UserMsg = {
  Interaction: 'interaction', Summary: 'summary', Profile: 'profile', Recommend: 'recommend', Similar: 'similar', Watched: 'watched', Record: 'record', Explain: 'explain', Delete: 'delete',
  Interactions: 'interactions', DeleteInteractions: 'deleteInteractions', Vector: 'vector',
} as const;

/** One interaction of a user's log, as `interactions` answers it. */
export interface LoggedInteraction {
  /** '' when it had none (MovieLens). */
  eventId: string;
  titleId: string;
  type: LoggedType;
  /** As recorded: a rating, a play's watched fraction; 0 otherwise. */
  value: number;
  /** Ms since the Unix epoch; 0 when unknown (kept before the log kept times). */
  eventTimeMs: number;
}

/**
 * Where a page of the log ends: the last interaction served, by the log's order (newest first:
 * event time descending, then title id, type and event id ascending, then position). The next
 * page starts after it, so that interactions recorded or deleted between pages never make a
 * page repeat one.
 */
export interface LogCursor {
  eventTimeMs: number;
  titleId: string;
  type: LoggedType;
  eventId: string;
  /** Position in the log: the last tiebreak (only interactions kept before times and ids were can need it). */
  at: number;
}

/** `interactions`'s body. */
export interface LogQuery {
  /** Only these types; empty or absent: every type. */
  types?: LoggedType[];
  /** Interactions at most, 1 to 1000. */
  limit: number;
  /** Absent: the first page. */
  after?: LogCursor;
}

/** `interactions`'s answer. */
export interface LogPage {
  interactions: LoggedInteraction[];
  /** Where the next page starts; absent on the last page. */
  next?: LogCursor;
  /** As `UserSummary.known`: false for a user nobody has seen. */
  known: boolean;
}

/** `deleteInteractions`'s body: the interactions with any of these titles and any of these types (empty or absent: all). */
export interface LogDelete {
  titleIds?: string[];
  types?: LoggedType[];
}
/**
 * As `UserMsg`, for title actors; `metadata` upserts a `TitleMetadataBody` and answers `true`
 * when it changed something, `false` when the title already held all of it.
 */
export const TitleMsg = { Interaction: 'interaction', Summary: 'summary', Metadata: 'metadata', Similar: 'similar', Record: 'record', Delete: 'delete' } as const;

/**
 * What a title is, after the public API's `reel.v1.Title` (display_name, release_year, genres,
 * labels), plus MovieLens's free-text tags. Every field is optional: an absent one is left as
 * it is. Actors accept it only through `decodeTitleMetadata`.
 */
export interface TitleMetadataBody {
  /** "Toy Story (1995)". Replaces the name held. */
  displayName?: string;
  /** A year from 1 to 9999. Replaces the year held. */
  releaseYear?: number;
  /** Genre names; replace those held (repeats count once). An empty list clears them. */
  genres?: string[];
  /** Free-text tags, merged as a set into those held: a tag is never removed. */
  tags?: string[];
  /** Identifiers and the like (`imdbId`, `tmdbId`), merged key by key into those held. */
  labels?: Record<string, string>;
  /** A hidden title is never recommended (a temporary removal). Replaces the flag held. */
  hidden?: boolean;
  /** When the title was published, ms since the Unix epoch. Replaces the time held. */
  publishTimeMs?: number;
}

export interface UserSummary {
  userId: string;
  interactionCount: number;
  /** Mean of RATING values; 0 when none. */
  meanRating: number;
  /** Most recent titles first. */
  recentTitleIds: string[];
  updateTimeMs: number;
  labels: Record<string, string>;
  /** Genres chosen at onboarding. */
  preferredGenres: string[];
  /** False while neither a profile upsert nor an interaction reached it: no such user. */
  known: boolean;
}

/** A title as `summary` reports it: shaped after `reel.v1.Title` (camelCase), with its counters and tags. */
export interface TitleSummary {
  titleId: string;
  /** '' when no metadata gave one. */
  displayName: string;
  /** 0 when unknown (proto3's default). */
  releaseYear: number;
  genres: string[];
  /** In the order first seen. */
  tags: string[];
  labels: Record<string, string>;
  hidden: boolean;
  /** 0 when unknown. */
  publishTimeMs: number;
  interactionCount: number;
  meanRating: number;
  updateTimeMs: number;
}
