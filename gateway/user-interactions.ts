import type { ServerUnaryCall } from '@grpc/grpc-js';
import { Kind, MAX_LOG_DELETE_TITLES, UserMsg, type LogCursor, type LoggedInteraction, type LoggedType, type LogPage } from '../actors/index.js';
import type { ClusterClient } from '../cluster/index.js';
import type { DeleteUserInteractionsRequest__Output } from '../protos/generated/reel/v1/DeleteUserInteractionsRequest.js';
import type { DeleteUserInteractionsResponse } from '../protos/generated/reel/v1/DeleteUserInteractionsResponse.js';
import type { Interaction } from '../protos/generated/reel/v1/Interaction.js';
import type { ListUserInteractionsRequest__Output } from '../protos/generated/reel/v1/ListUserInteractionsRequest.js';
import type { ListUserInteractionsResponse } from '../protos/generated/reel/v1/ListUserInteractionsResponse.js';
import { askDeadlineMs } from './deadline.js';
import { ApiError } from './errors.js';
import { checkTokenFingerprint, decodePageToken, encodePageToken, requestFingerprint } from './page-token.js';
import { timestamp } from './timestamps.js';
import { RequestCheck } from './validate.js';

/** How long a read of a user's log waits on the cluster when the client gives no deadline. */
const READ_DEADLINE_MS = 2_000;
/** How long a delete waits on the cluster when the client gives no deadline. */
const WRITE_DEADLINE_MS = 10_000;
/** What a ListUserInteractions page token's listing name starts with. */
const TOKEN_LIST = 'interactions:';

const PREFIX = 'INTERACTION_TYPE_';

/** The `types` of a request as the log names them; an unknown value is INVALID_ENUM. */
function typesOf(c: RequestCheck, field: string, types: ReadonlyArray<string | number>): LoggedType[] {
  return types.map((t, i) => c.enumValue(`${field}[${i}]`, t, `${PREFIX}UNSPECIFIED`).slice(PREFIX.length) as LoggedType);
}

/** One interaction of the log as `reel.v1.Interaction`; an event time the log does not know (0) is left unset. */
export function interactionOf(userId: string, i: LoggedInteraction): Interaction {
  return { eventId: i.eventId, userId, titleId: i.titleId, type: `${PREFIX}${i.type}`, value: i.value, ...(i.eventTimeMs > 0 ? { eventTime: timestamp(i.eventTimeMs) } : {}) };
}

/** The cursor a page token carries (keyset paging: the last interaction served). */
function cursorOf(list: string): LogCursor {
  const invalid = () => ApiError.invalid('PAGE_TOKEN_INVALID', [{ field: 'page_token', description: 'is not a ListUserInteractions page token' }]);
  if (!list.startsWith(TOKEN_LIST)) throw invalid();
  let v: unknown;
  try {
    v = JSON.parse(list.slice(TOKEN_LIST.length));
  } catch {
    throw invalid();
  }
  if (!Array.isArray(v) || v.length !== 5) throw invalid();
  const [eventTimeMs, titleId, type, eventId, at] = v as [unknown, unknown, unknown, unknown, unknown];
  if (typeof eventTimeMs !== 'number' || typeof titleId !== 'string' || typeof type !== 'string' || typeof eventId !== 'string' || !Number.isSafeInteger(at)) throw invalid();
  return { eventTimeMs, titleId, type: type as LoggedType, eventId, at: at as number };
}

/**
 * ListUserInteractions and DeleteUserInteractions, from the user actor's interaction log. Pages
 * are keyset pages: the token holds the last interaction served, so interactions recorded or
 * deleted between pages never make a page repeat one.
 */
export function userInteractionHandlers(client: Pick<ClusterClient, 'system'>) {
  return {
    ListUserInteractions: async (req: ListUserInteractionsRequest__Output, call: ServerUnaryCall<unknown, unknown>): Promise<ListUserInteractionsResponse> => {
      const c = new RequestCheck();
      const userId = c.id('user_id', req.userId);
      const pageSize = c.pageSize('page_size', req.pageSize);
      const types = typesOf(c, 'types', req.types);
      c.done();
      const fingerprint = requestFingerprint(req as unknown as Record<string, unknown>);
      let after: LogCursor | undefined;
      if (req.pageToken !== '') {
        const t = decodePageToken(req.pageToken);
        checkTokenFingerprint(t, fingerprint);
        after = cursorOf(t.recommendationId);
      }
      const page = await client.system.ask<LogPage>(Kind.User, userId, UserMsg.Interactions, { types, limit: pageSize, ...(after ? { after } : {}) }, { deadlineMs: askDeadlineMs(call, READ_DEADLINE_MS) });
      if (!page.known) throw ApiError.notFound('USER_NOT_FOUND', `user ${userId} is not known (no profile, no interactions)`, { user_id: userId });
      const n = page.next;
      const nextPageToken = n === undefined ? '' : encodePageToken({ recommendationId: TOKEN_LIST + JSON.stringify([n.eventTimeMs, n.titleId, n.type, n.eventId, n.at]), offset: 0, fingerprint });
      return { interactions: page.interactions.map((i) => interactionOf(userId, i)), nextPageToken };
    },
    DeleteUserInteractions: async (req: DeleteUserInteractionsRequest__Output, call: ServerUnaryCall<unknown, unknown>): Promise<DeleteUserInteractionsResponse> => {
      const c = new RequestCheck();
      const userId = c.id('user_id', req.userId);
      if (req.titleIds.length > MAX_LOG_DELETE_TITLES) c.add('title_ids', 'BATCH_TOO_LARGE', `must hold at most ${MAX_LOG_DELETE_TITLES} title ids (got ${req.titleIds.length})`);
      const titleIds = req.titleIds.slice(0, MAX_LOG_DELETE_TITLES).map((t, i) => c.id(`title_ids[${i}]`, t));
      const types = typesOf(c, 'types', req.types);
      c.done();
      // A user nobody knows has nothing to delete: 0, not NOT_FOUND (API.md §4).
      const deletedCount = await client.system.ask<number>(Kind.User, userId, UserMsg.DeleteInteractions, { titleIds, types }, { deadlineMs: askDeadlineMs(call, WRITE_DEADLINE_MS) });
      return { deletedCount };
    },
  };
}
