import { Kind, TitleMsg, UserMsg, type TitleSummary, type UserSummary } from '../actors/index.js';
import type { ClusterClient } from '../cluster/index.js';
import type { ServerUnaryCall } from '@grpc/grpc-js';
import type { GetTitleRequest__Output } from '../protos/generated/reel/v1/GetTitleRequest.js';
import type { GetTitleResponse } from '../protos/generated/reel/v1/GetTitleResponse.js';
import type { GetUserRequest__Output } from '../protos/generated/reel/v1/GetUserRequest.js';
import type { GetUserResponse } from '../protos/generated/reel/v1/GetUserResponse.js';
import type { Title } from '../protos/generated/reel/v1/Title.js';
import type { User } from '../protos/generated/reel/v1/User.js';
import { askDeadlineMs } from './deadline.js';
import { ApiError } from './errors.js';
import { timestamp } from './model-versions.js';
import { RequestCheck } from './validate.js';

/** How long a catalog read waits on the cluster when the client gives no deadline. */
const READ_DEADLINE_MS = 2_000;

/** A title actor's summary as `reel.v1.Title`. */
export function titleOf(t: TitleSummary): Title {
  return {
    titleId: t.titleId,
    displayName: t.displayName,
    genres: t.genres,
    releaseYear: t.releaseYear,
    labels: t.labels,
    interactionCount: t.interactionCount,
    ...(t.updateTimeMs > 0 ? { updateTime: timestamp(t.updateTimeMs) } : {}),
  };
}

/** A user actor's summary as `reel.v1.User`. */
export function userOf(u: UserSummary): User {
  return { userId: u.userId, interactionCount: u.interactionCount, ...(u.updateTimeMs > 0 ? { updateTime: timestamp(u.updateTimeMs) } : {}) };
}

/** A title no interaction and no metadata ever reached: the catalog does not know it. */
function unknownTitle(t: TitleSummary): boolean {
  return t.interactionCount === 0 && t.displayName === '' && t.genres.length === 0 && t.tags.length === 0 && Object.keys(t.labels).length === 0;
}

/** CatalogService's reads, from the title and user actors' live state. */
export function catalogHandlers(client: ClusterClient) {
  return {
    GetTitle: async (req: GetTitleRequest__Output, call: ServerUnaryCall<unknown, unknown>): Promise<GetTitleResponse> => {
      const c = new RequestCheck();
      const id = c.id('title_id', req.titleId);
      c.done();
      const t = await client.system.ask<TitleSummary>(Kind.Title, id, TitleMsg.Summary, undefined, { deadlineMs: askDeadlineMs(call, READ_DEADLINE_MS) });
      if (unknownTitle(t)) throw ApiError.notFound('TITLE_NOT_FOUND', `title ${id} is not in the catalog`, { title_id: id });
      return { title: titleOf(t) };
    },
    GetUser: async (req: GetUserRequest__Output, call: ServerUnaryCall<unknown, unknown>): Promise<GetUserResponse> => {
      const c = new RequestCheck();
      const id = c.id('user_id', req.userId);
      c.done();
      const u = await client.system.ask<UserSummary>(Kind.User, id, UserMsg.Summary, undefined, { deadlineMs: askDeadlineMs(call, READ_DEADLINE_MS) });
      // Users exist through their interactions (upserts come later): none, no user.
      if (u.interactionCount === 0) throw ApiError.notFound('USER_NOT_FOUND', `user ${id} has no interactions here`, { user_id: id });
      return { user: userOf(u) };
    },
  };
}
