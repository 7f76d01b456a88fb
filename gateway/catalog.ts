import type { ServerUnaryCall } from '@grpc/grpc-js';
import { Kind, MAX_DISPLAY_NAME_CHARS, MAX_GENRES, MAX_TERM_CHARS, TitleMsg, UserMsg, type TitleMetadataBody, type TitleSummary, type UserProfileBody, type UserSummary } from '../actors/index.js';
import type { ClusterClient } from '../cluster/index.js';
import type { BatchUpsertTitlesRequest__Output } from '../protos/generated/reel/v1/BatchUpsertTitlesRequest.js';
import type { BatchUpsertTitlesResponse } from '../protos/generated/reel/v1/BatchUpsertTitlesResponse.js';
import type { BatchUpsertUsersRequest__Output } from '../protos/generated/reel/v1/BatchUpsertUsersRequest.js';
import type { BatchUpsertUsersResponse } from '../protos/generated/reel/v1/BatchUpsertUsersResponse.js';
import type { GetTitleRequest__Output } from '../protos/generated/reel/v1/GetTitleRequest.js';
import type { GetTitleResponse } from '../protos/generated/reel/v1/GetTitleResponse.js';
import type { GetUserRequest__Output } from '../protos/generated/reel/v1/GetUserRequest.js';
import type { GetUserResponse } from '../protos/generated/reel/v1/GetUserResponse.js';
import type { Title, Title__Output } from '../protos/generated/reel/v1/Title.js';
import type { User, User__Output } from '../protos/generated/reel/v1/User.js';
import type { BatchAskMessage } from '../runtime/index.js';
import { ServingMsg, type CatalogEntry } from '../actors/serving/index.js';
import type { DeleteTitleRequest__Output } from '../protos/generated/reel/v1/DeleteTitleRequest.js';
import type { DeleteTitleResponse } from '../protos/generated/reel/v1/DeleteTitleResponse.js';
import type { DeleteUserRequest__Output } from '../protos/generated/reel/v1/DeleteUserRequest.js';
import type { DeleteUserResponse } from '../protos/generated/reel/v1/DeleteUserResponse.js';
import type { ListTitlesRequest__Output } from '../protos/generated/reel/v1/ListTitlesRequest.js';
import type { ListTitlesResponse } from '../protos/generated/reel/v1/ListTitlesResponse.js';
import { askDeadlineMs } from './deadline.js';
import { checkTokenFingerprint, decodePageToken, encodePageToken, requestFingerprint } from './page-token.js';
import { ApiError } from './errors.js';
import { timestamp } from './timestamps.js';
import { userInteractionHandlers } from './user-interactions.js';
import { RequestCheck } from './validate.js';

/** How long a catalog read waits on the cluster when the client gives no deadline. */
const READ_DEADLINE_MS = 2_000;
/** How long an upsert of a batch waits on the cluster when the client gives no deadline. */
const WRITE_DEADLINE_MS = 10_000;
/** Titles or users in one batch upsert, at most. */
export const MAX_UPSERT_BATCH = 1000;

/** A title actor's summary as `reel.v1.Title`. */
export function titleOf(t: TitleSummary): Title {
  return {
    titleId: t.titleId,
    displayName: t.displayName,
    genres: t.genres,
    releaseYear: t.releaseYear,
    labels: t.labels,
    hidden: t.hidden,
    ...(t.publishTimeMs > 0 ? { publishTime: timestamp(t.publishTimeMs) } : {}),
    interactionCount: t.interactionCount,
    ...(t.updateTimeMs > 0 ? { updateTime: timestamp(t.updateTimeMs) } : {}),
  };
}

/** A catalog entry as `reel.v1.Title`. */
export function titleOfEntry(e: CatalogEntry): Title {
  return {
    titleId: e.titleId,
    displayName: e.displayName,
    genres: e.genres,
    releaseYear: e.releaseYear,
    hidden: e.hidden,
    labels: e.labels,
    ...(e.publishTimeMs > 0 ? { publishTime: timestamp(e.publishTimeMs) } : {}),
    interactionCount: e.interactionCount,
    ...(e.updateTimeMs > 0 ? { updateTime: timestamp(e.updateTimeMs) } : {}),
  };
}

/** A user actor's summary as `reel.v1.User`. */
export function userOf(u: UserSummary): User {
  return { userId: u.userId, labels: u.labels, preferredGenres: u.preferredGenres, interactionCount: u.interactionCount, ...(u.updateTimeMs > 0 ? { updateTime: timestamp(u.updateTimeMs) } : {}) };
}

/**
 * The metadata upserts of a batch, every title checked before anything is sent: each
 * violation named by its proto path (`titles[3].release_year`), the batch refused whole.
 */
export function titleUpserts(titles: readonly Title__Output[]): Array<{ titleId: string; body: TitleMetadataBody }> {
  const c = new RequestCheck();
  const ids = batchIds(c, 'titles', 'title_id', titles.map((t) => t.titleId));
  const out = titles.map((t, i) => {
    const at = `titles[${i}]`;
    const titleId = ids[i]!;
    const body: TitleMetadataBody = { hidden: t.hidden, genres: t.genres };
    if (t.displayName !== '') {
      if (t.displayName.length > MAX_DISPLAY_NAME_CHARS) c.add(`${at}.display_name`, 'VALUE_OUT_OF_RANGE', `must be at most ${MAX_DISPLAY_NAME_CHARS} characters`);
      body.displayName = t.displayName;
    }
    if (t.releaseYear !== 0) body.releaseYear = c.range(`${at}.release_year`, t.releaseYear, 1, 9999);
    if (t.genres.length > MAX_GENRES) c.add(`${at}.genres`, 'VALUE_OUT_OF_RANGE', `must hold at most ${MAX_GENRES} genres`);
    checkTerms(c, `${at}.genres`, t.genres);
    if (checkLabels(c, `${at}.labels`, t.labels)) body.labels = t.labels;
    if (t.publishTime !== null) {
      const ms = Number(t.publishTime.seconds) * 1000 + Math.floor(t.publishTime.nanos / 1e6);
      if (!Number.isSafeInteger(ms) || ms < 0) c.add(`${at}.publish_time`, 'VALUE_OUT_OF_RANGE', 'must be at or after 1970-01-01T00:00:00Z');
      else body.publishTimeMs = ms;
    }
    return { titleId, body };
  });
  c.done();
  return out;
}

/**
 * The ids of a batch's items (`items[i].<idField>`): 1 to `MAX_UPSERT_BATCH` items, each id
 * present and appearing once.
 */
function batchIds(c: RequestCheck, items: string, idField: string, ids: readonly string[]): string[] {
  if (ids.length === 0) c.add(items, 'MISSING_FIELD', `must hold 1 to ${MAX_UPSERT_BATCH} items`);
  if (ids.length > MAX_UPSERT_BATCH) c.add(items, 'BATCH_TOO_LARGE', `must hold at most ${MAX_UPSERT_BATCH} items (got ${ids.length})`);
  const first = new Map<string, number>();
  return ids.map((raw, i) => {
    const id = c.id(`${items}[${i}].${idField}`, raw);
    const seen = first.get(id);
    if (seen !== undefined && id !== '') c.add(`${items}[${i}].${idField}`, 'VALUE_OUT_OF_RANGE', `repeats ${items}[${seen}].${idField}`);
    else first.set(id, i);
    return id;
  });
}

/** At most `MAX_GENRES` genres, each a non-empty short string. */
function checkTerms(c: RequestCheck, field: string, list: readonly string[]): void {
  if (list.length > MAX_GENRES) c.add(field, 'VALUE_OUT_OF_RANGE', `must hold at most ${MAX_GENRES} entries`);
  list.forEach((g, j) => {
    if (g === '' || g.length > MAX_TERM_CHARS) c.add(`${field}[${j}]`, 'VALUE_OUT_OF_RANGE', `must be a non-empty string of at most ${MAX_TERM_CHARS} characters`);
  });
}

/** At most `MAX_GENRES` labels, non-empty keys, short values; true when there are any. */
function checkLabels(c: RequestCheck, field: string, labels: Readonly<Record<string, string>>): boolean {
  const entries = Object.entries(labels);
  if (entries.length > MAX_GENRES) c.add(field, 'VALUE_OUT_OF_RANGE', `must hold at most ${MAX_GENRES} entries`);
  for (const [k, v] of entries) {
    if (k === '' || k.length > MAX_TERM_CHARS || v.length > MAX_TERM_CHARS) c.add(`${field}["${k}"]`, 'VALUE_OUT_OF_RANGE', `must map a non-empty key to a value, each of at most ${MAX_TERM_CHARS} characters`);
  }
  return entries.length > 0;
}

/** The profile upserts of a batch of users, checked as `titleUpserts` checks titles. */
export function userUpserts(users: readonly User__Output[]): Array<{ userId: string; body: UserProfileBody }> {
  const c = new RequestCheck();
  const ids = batchIds(c, 'users', 'user_id', users.map((u) => u.userId));
  const out = users.map((u, i) => {
    const at = `users[${i}]`;
    checkTerms(c, `${at}.preferred_genres`, u.preferredGenres);
    const body: UserProfileBody = { preferredGenres: [...new Set(u.preferredGenres)] };
    if (checkLabels(c, `${at}.labels`, u.labels)) body.labels = u.labels;
    return { userId: ids[i]!, body };
  });
  c.done();
  return out;
}

/** Asks every message of a batch; the first refusal fails the call (retrying is safe: upserts are idempotent). */
async function askAll<R>(client: Pick<ClusterClient, 'system'>, msgs: BatchAskMessage[], deadlineMs: number): Promise<R[]> {
  const outcomes = await client.system.askBatch<R>(msgs, { deadlineMs });
  return outcomes.map((o) => {
    if (o.error !== undefined) throw o.error;
    return o.value;
  });
}

/** A title no interaction and no metadata ever reached: the catalog does not know it. */
function unknownTitle(t: TitleSummary): boolean {
  return t.interactionCount === 0 && t.displayName === '' && t.genres.length === 0 && t.tags.length === 0 && Object.keys(t.labels).length === 0;
}

/** CatalogService, from the title and user actors' live state and the nodes' catalogs. */
export function catalogHandlers(client: Pick<ClusterClient, 'system' | 'ownerNodes'>) {
  let next = 0;
  return {
    ...userInteractionHandlers(client),
    ListTitles: async (req: ListTitlesRequest__Output, call: ServerUnaryCall<unknown, unknown>): Promise<ListTitlesResponse> => {
      const c = new RequestCheck();
      const pageSize = c.pageSize('page_size', req.pageSize);
      c.filter('filter', req.filter);
      c.done();
      // Keyset pages in title id order: the token holds the last id served, so a page never repeats one.
      const fingerprint = requestFingerprint(req as unknown as Record<string, unknown>);
      let after = '';
      if (req.pageToken !== '') {
        const t = decodePageToken(req.pageToken);
        checkTokenFingerprint(t, fingerprint);
        if (!t.recommendationId.startsWith('titles:')) throw ApiError.invalid('PAGE_TOKEN_INVALID', [{ field: 'page_token', description: 'is not a ListTitles page token' }]);
        after = t.recommendationId.slice('titles:'.length);
      }
      // Every node's catalog holds every title: one asked, in turn.
      const owners = client.ownerNodes();
      if (owners.length === 0) throw ApiError.unavailable('CLUSTER_UNAVAILABLE', 'no node serves the catalog now');
      const node = owners[next++ % owners.length]!;
      const page = (await client.system.askNode<CatalogEntry[]>(node, ServingMsg.Titles, { after, limit: pageSize + 1, ...(req.filter ? { filter: req.filter } : {}) }, { deadlineMs: askDeadlineMs(call, READ_DEADLINE_MS) })).value;
      const items = page.slice(0, pageSize);
      const last = items[items.length - 1];
      return { titles: items.map(titleOfEntry), nextPageToken: page.length > pageSize && last ? encodePageToken({ recommendationId: `titles:${last.titleId}`, offset: 0, fingerprint }) : '' };
    },
    DeleteTitle: async (req: DeleteTitleRequest__Output, call: ServerUnaryCall<unknown, unknown>): Promise<DeleteTitleResponse> => {
      const c = new RequestCheck();
      const id = c.id('title_id', req.titleId);
      c.done();
      const existed = await client.system.ask<boolean>(Kind.Title, id, TitleMsg.Delete, undefined, { deadlineMs: askDeadlineMs(call, WRITE_DEADLINE_MS) });
      if (!existed && !req.allowMissing) throw ApiError.notFound('TITLE_NOT_FOUND', `title ${id} is not in the catalog (allow_missing makes that no error)`, { title_id: id });
      return {};
    },
    DeleteUser: async (req: DeleteUserRequest__Output, call: ServerUnaryCall<unknown, unknown>): Promise<DeleteUserResponse> => {
      const c = new RequestCheck();
      const id = c.id('user_id', req.userId);
      c.done();
      const existed = await client.system.ask<boolean>(Kind.User, id, UserMsg.Delete, undefined, { deadlineMs: askDeadlineMs(call, WRITE_DEADLINE_MS) });
      if (!existed && !req.allowMissing) throw ApiError.notFound('USER_NOT_FOUND', `user ${id} is not known (allow_missing makes that no error)`, { user_id: id });
      return {};
    },
    GetTitle: async (req: GetTitleRequest__Output, call: ServerUnaryCall<unknown, unknown>): Promise<GetTitleResponse> => {
      const c = new RequestCheck();
      const id = c.id('title_id', req.titleId);
      c.done();
      const t = await client.system.ask<TitleSummary>(Kind.Title, id, TitleMsg.Summary, undefined, { deadlineMs: askDeadlineMs(call, READ_DEADLINE_MS) });
      if (unknownTitle(t)) throw ApiError.notFound('TITLE_NOT_FOUND', `title ${id} is not in the catalog`, { title_id: id });
      return { title: titleOf(t) };
    },
    BatchUpsertTitles: async (req: BatchUpsertTitlesRequest__Output, call: ServerUnaryCall<unknown, unknown>): Promise<BatchUpsertTitlesResponse> => {
      const upserts = titleUpserts(req.titles);
      if (req.validateOnly) return { titles: req.titles.map((t) => ({ ...t, interactionCount: 0 })) };
      const deadlineMs = askDeadlineMs(call, WRITE_DEADLINE_MS);
      await askAll(client, upserts.map((u) => ({ kind: Kind.Title, key: u.titleId, type: TitleMsg.Metadata, body: u.body })), deadlineMs);
      const stored = await askAll<TitleSummary>(client, upserts.map((u) => ({ kind: Kind.Title, key: u.titleId, type: TitleMsg.Summary })), deadlineMs);
      return { titles: stored.map(titleOf) };
    },
    BatchUpsertUsers: async (req: BatchUpsertUsersRequest__Output, call: ServerUnaryCall<unknown, unknown>): Promise<BatchUpsertUsersResponse> => {
      const upserts = userUpserts(req.users);
      if (req.validateOnly) return { users: req.users.map((u) => ({ ...u, interactionCount: 0 })) };
      const deadlineMs = askDeadlineMs(call, WRITE_DEADLINE_MS);
      await askAll(client, upserts.map((u) => ({ kind: Kind.User, key: u.userId, type: UserMsg.Profile, body: u.body })), deadlineMs);
      const stored = await askAll<UserSummary>(client, upserts.map((u) => ({ kind: Kind.User, key: u.userId, type: UserMsg.Summary })), deadlineMs);
      return { users: stored.map(userOf) };
    },
    GetUser: async (req: GetUserRequest__Output, call: ServerUnaryCall<unknown, unknown>): Promise<GetUserResponse> => {
      const c = new RequestCheck();
      const id = c.id('user_id', req.userId);
      c.done();
      const u = await client.system.ask<UserSummary>(Kind.User, id, UserMsg.Summary, undefined, { deadlineMs: askDeadlineMs(call, READ_DEADLINE_MS) });
      // A user exists once an upsert or an interaction reached it.
      if (!u.known) throw ApiError.notFound('USER_NOT_FOUND', `user ${id} is not known (no profile, no interactions)`, { user_id: id });
      return { user: userOf(u) };
    },
  };
}
