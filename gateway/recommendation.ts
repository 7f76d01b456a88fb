import type { ServerUnaryCall } from '@grpc/grpc-js';
import { Kind, TitleMsg, UserMsg } from '../actors/index.js';
import type { CatalogEntry, ExplainAnswer, ExplainBody, RecommendAnswer, RecommendBody, RecommendedItem, Ranked, SimilarBody } from '../actors/serving/index.js';
import type { ExplainRecommendationRequest__Output } from '../protos/generated/reel/v1/ExplainRecommendationRequest.js';
import type { ExplainRecommendationResponse } from '../protos/generated/reel/v1/ExplainRecommendationResponse.js';
import type { ClusterClient } from '../cluster/index.js';
import type { PopularTitlesRequest__Output } from '../protos/generated/reel/v1/PopularTitlesRequest.js';
import type { PopularTitlesResponse } from '../protos/generated/reel/v1/PopularTitlesResponse.js';
import type { RecommendedTitle } from '../protos/generated/reel/v1/RecommendedTitle.js';
import type { RecommendRequest__Output } from '../protos/generated/reel/v1/RecommendRequest.js';
import type { RecommendResponse } from '../protos/generated/reel/v1/RecommendResponse.js';
import type { SimilarTitlesRequest__Output } from '../protos/generated/reel/v1/SimilarTitlesRequest.js';
import type { SimilarTitlesResponse } from '../protos/generated/reel/v1/SimilarTitlesResponse.js';
import type { Title } from '../protos/generated/reel/v1/Title.js';
import { InvalidArgument, ReelError } from '../runtime/index.js';
import { askDeadlineMs } from './deadline.js';
import { ApiError } from './errors.js';
import type { GatewayMetrics } from './metrics.js';
import { checkTokenFingerprint, decodePageToken, encodePageToken, requestFingerprint } from './page-token.js';
import type { PopularLists } from './popular.js';
import { titleOfEntry } from './catalog.js';
import { timestamp } from './timestamps.js';
import { traceIdOf } from './trace.js';
import { RequestCheck } from './validate.js';
import type { UnaryHandlers } from './server.js';

/** The personalised path's latency budget per request, by default (API.md: 50 ms). */
export const DEFAULT_BUDGET_MS = 50;

/** `reel.v1.FallbackReason` names. */
type FallbackReason = 'FALLBACK_REASON_UNSPECIFIED' | 'FALLBACK_REASON_DEADLINE' | 'FALLBACK_REASON_SHARD_UNAVAILABLE' | 'FALLBACK_REASON_NO_ACTIVE_MODEL';

export interface RecommendationOptions {
  /** The personalised path's budget, ms: past it (or on its failure) the fallback list answers. */
  budgetMs?: number;
  /** How old a user's last ranking of the same request may be to answer a first page again (0: never), ms. */
  cacheMs?: number;
  metrics?: GatewayMetrics;
}


function recommended(i: RecommendedItem): RecommendedTitle {
  return {
    titleId: i.titleId,
    score: i.score,
    reason: { kind: `REASON_KIND_${i.reason.kind}`, text: i.reason.text, evidenceTitleIds: i.reason.evidenceTitleIds },
    ...(i.details ? { title: titleOfEntry(i.details) } : {}),
  } as RecommendedTitle;
}

const POPULAR_TEXT: Record<string, string> = { TRENDING: 'Trending now', POPULAR_NOW: 'Popular now' };

/**
 * RecommendationService: Recommend from the user's actor (one message to the user's node,
 * which ranks from its own title rows and catalog) and SimilarTitles from the user's or the
 * title's, with the gateway's popular list as the fallback when that fails or misses the
 * budget; PopularTitles from that list.
 */
export function recommendationHandlers(client: Pick<ClusterClient, 'system'>, popular: PopularLists, opts: RecommendationOptions = {}): UnaryHandlers {
  const budget = opts.budgetMs ?? DEFAULT_BUDGET_MS;
  const cacheMs = opts.cacheMs ?? 0;
  const metrics = opts.metrics;

  /** A page of the popular list as a fallback answer: no next page (the ranking is not a snapshot). */
  const fallback = (req: RecommendRequest__Output | SimilarTitlesRequest__Output, pageSize: number, reason: FallbackReason): RecommendResponse => {
    metrics?.fallback(reason);
    const { ranked } = popular.ranked('ALL_TIME', req.filter ?? undefined, () => false, pageSize);
    return {
      titles: ranked.map((r) => popularTitle(r, req.includeTitleDetails ? popular.entry(r.titleId) : undefined)),
      nextPageToken: '',
      recommendationId: '',
      modelVersion: '',
      fallback: true,
      fallbackReason: reason,
    };
  };

  /**
   * What Recommend and SimilarTitles share: their common fields checked (with the fields `c`
   * already holds; every violation thrown at once), the request's fingerprint, and the body,
   * its page token checked against the request and decoded.
   */
  const rankingBody = (c: RequestCheck, req: RecommendRequest__Output | SimilarTitlesRequest__Output): { pageSize: number; fingerprint: string; body: RecommendBody } => {
    const pageSize = c.pageSize('page_size', req.pageSize);
    c.range('diversity', req.diversity, 0, 1);
    c.context('context', req.context);
    c.filter('filter', req.filter);
    c.done();
    const fingerprint = requestFingerprint(req as unknown as Record<string, unknown>);
    const body: RecommendBody = {
      pageSize,
      ...(req.filter ? { filter: req.filter } : {}),
      ...(req.diversity !== undefined ? { diversity: req.diversity } : {}),
      disableBackfill: req.disableBackfill,
      includeTitleDetails: req.includeTitleDetails,
    };
    if (req.pageToken !== '') {
      const t = decodePageToken(req.pageToken);
      checkTokenFingerprint(t, fingerprint);
      body.page = { recommendationId: t.recommendationId, offset: t.offset };
    }
    return { pageSize, fingerprint, body };
  };

  /**
   * Asks for a ranking within the budget and shapes the response; a first page that fails or
   * misses the budget is answered from the popular list instead (a later page cannot be: its
   * titles must not repeat those of the user's snapshot).
   */
  const ranked = async (req: RecommendRequest__Output | SimilarTitlesRequest__Output, pageSize: number, fingerprint: string, body: RecommendBody, ask: () => Promise<RecommendAnswer>, what: string): Promise<RecommendResponse> => {
    let a: RecommendAnswer;
    try {
      a = await ask();
    } catch (err) {
      // A request the node refused is the caller's to fix: no fallback hides it.
      if (err instanceof InvalidArgument) throw err;
      const late = err instanceof ReelError && err.code === 'DeadlineExceeded';
      if (body.page !== undefined) throw late ? ApiError.unavailable('CLUSTER_UNAVAILABLE', `${what}: the node did not answer in time (${(err as Error).message})`) : err;
      if (!popular.ready) throw ApiError.unavailable('CLUSTER_UNAVAILABLE', `${what} failed and no fallback list exists yet: ${(err as Error).message}`);
      return fallback(req, pageSize, late ? 'FALLBACK_REASON_DEADLINE' : 'FALLBACK_REASON_SHARD_UNAVAILABLE');
    }
    if (a.status === 'expired') throw ApiError.invalid('PAGE_TOKEN_EXPIRED', [{ field: 'page_token', description: 'its ranking is no longer kept (30 minutes, or the user moved); start again from the first page' }]);
    if (a.status === 'unknown-version') throw ApiError.notFound('MODEL_VERSION_NOT_FOUND', `no model version '${body.modelVersion}' with title rows to rank from`, { model_version: body.modelVersion ?? '' });
    if (a.status === 'unknown-title') throw ApiError.notFound('TITLE_NOT_FOUND', `no title '${(body as SimilarBody).titleId}'`, { title_id: (body as SimilarBody).titleId });
    if (a.fallback) metrics?.fallback(a.fallbackReason);
    metrics?.backfilled(a.backfilled);
    if (body.cacheMs) metrics?.cache(a.cached === true);
    const offset = body.page?.offset ?? 0;
    return {
      titles: a.titles.map(recommended),
      nextPageToken: offset + pageSize < a.total ? encodePageToken({ recommendationId: a.recommendationId, offset: offset + pageSize, fingerprint }) : '',
      recommendationId: a.recommendationId,
      modelVersion: a.modelVersion,
      fallback: a.fallback,
      fallbackReason: a.fallbackReason,
    };
  };

  return {
    Recommend: async (req: RecommendRequest__Output, call: ServerUnaryCall<unknown, unknown>): Promise<RecommendResponse> => {
      const c = new RequestCheck();
      const userId = c.id('user_id', req.userId);
      const { pageSize, fingerprint, body: common } = rankingBody(c, req);
      const body: RecommendBody = { ...common, ...(req.modelVersion ? { modelVersion: req.modelVersion } : {}) };
      // The fingerprint leaves the page size out: a cached ranking serves any first page of the same request.
      if (cacheMs > 0 && body.page === undefined) Object.assign(body, { cacheMs, cacheKey: fingerprint });
      return ranked(req, pageSize, fingerprint, body, () => client.system.ask<RecommendAnswer>(Kind.User, userId, UserMsg.Recommend, body, { deadlineMs: askDeadlineMs(call, budget), trace: traceIdOf(call.metadata) }), `recommendations for ${userId}`);
    },

    SimilarTitles: async (req: SimilarTitlesRequest__Output, call: ServerUnaryCall<unknown, unknown>): Promise<SimilarTitlesResponse> => {
      const c = new RequestCheck();
      const titleId = c.id('title_id', req.titleId);
      const userId = c.optionalId('user_id', req.userId);
      const { pageSize, fingerprint, body: common } = rankingBody(c, req);
      const body: SimilarBody = { ...common, titleId };
      const opts = { deadlineMs: askDeadlineMs(call, budget), trace: traceIdOf(call.metadata) };
      // With a user, its node ranks (it knows what the user watched); without, the title's node.
      const ask = () => (userId !== '' ? client.system.ask<RecommendAnswer>(Kind.User, userId, UserMsg.Similar, body, opts) : client.system.ask<RecommendAnswer>(Kind.Title, titleId, TitleMsg.Similar, body, opts));
      return ranked(req, pageSize, fingerprint, body, ask, `titles like ${titleId}`);
    },

    ExplainRecommendation: async (req: ExplainRecommendationRequest__Output, call: ServerUnaryCall<unknown, unknown>): Promise<ExplainRecommendationResponse> => {
      const c = new RequestCheck();
      const userId = c.id('user_id', req.userId);
      const titleId = c.id('title_id', req.titleId);
      c.context('context', req.context);
      c.filter('filter', req.filter);
      c.done();
      const body: ExplainBody = { titleId, ...(req.filter ? { filter: req.filter } : {}) };
      // No fallback: an explanation of another ranking would explain nothing. A debugging call: the read deadline, not the budget.
      const a = await client.system.ask<ExplainAnswer>(Kind.User, userId, UserMsg.Explain, body, { deadlineMs: askDeadlineMs(call, 2_000), trace: traceIdOf(call.metadata) });
      if (a.status === 'unknown-title') throw ApiError.notFound('TITLE_NOT_FOUND', `no title '${titleId}'`, { title_id: titleId });
      return {
        score: a.score,
        rank: a.rank,
        excludedBy: `EXCLUSION_REASON_${a.excludedBy}`,
        components: a.components,
        evidence: a.evidence.map((e) => ({ titleId: e.titleId, similarity: e.similarity, interactionType: `INTERACTION_TYPE_${e.interactionType}` })),
        reason: { kind: `REASON_KIND_${a.reason.kind}`, text: a.reason.text, evidenceTitleIds: a.reason.evidenceTitleIds },
        modelVersion: a.modelVersion,
      } as ExplainRecommendationResponse;
    },

    PopularTitles: async (req: PopularTitlesRequest__Output, call: ServerUnaryCall<unknown, unknown>): Promise<PopularTitlesResponse> => {
      const c = new RequestCheck();
      const pageSize = c.pageSize('page_size', req.pageSize);
      const userId = c.optionalId('user_id', req.userId);
      const w = c.enumValue('window', req.window as string | number, 'POPULARITY_WINDOW_UNSPECIFIED');
      c.context('context', req.context);
      c.filter('filter', req.filter);
      c.done();
      const fingerprint = requestFingerprint(req as unknown as Record<string, unknown>);
      // Keyset paging: a token holds the last title served and its count. Counts only grow (all
      // time), so a title served once stays ahead of the key and never comes again.
      let after: { count: number; titleId: string } | undefined;
      if (req.pageToken !== '') {
        const t = decodePageToken(req.pageToken);
        checkTokenFingerprint(t, fingerprint);
        const m = /^popular:(\d+):(.*)$/s.exec(t.recommendationId);
        if (m === null) throw ApiError.invalid('PAGE_TOKEN_INVALID', [{ field: 'page_token', description: 'is not a PopularTitles page token' }]);
        after = { count: Number(m[1]), titleId: m[2]! };
      }
      if (!popular.ready) throw ApiError.unavailable('CLUSTER_UNAVAILABLE', 'no popular list has been computed yet: the cluster has not answered');
      const window = w === 'POPULARITY_WINDOW_UNSPECIFIED' ? 'ALL_TIME' : (w.replace('POPULARITY_WINDOW_', '') as 'DAY' | 'WEEK' | 'MONTH' | 'ALL_TIME');
      let watched: ReadonlySet<string> = new Set();
      if (userId !== '' && !req.filter?.includeWatched) watched = await watchedBy(client, userId, askDeadlineMs(call, 2_000));
      const beyond = (r: Ranked) => after === undefined || r.score < after.count || (r.score === after.count && r.titleId > after.titleId);
      const { ranked, computedAtMs } = popular.ranked(window, req.filter ?? undefined, (t) => watched.has(t), 1000);
      const rest = ranked.filter(beyond);
      const items = rest.slice(0, pageSize);
      const last = items[items.length - 1];
      const key = (r: Ranked) => `popular:${r.score}:${r.titleId}`;
      return {
        titles: items.map((r) => popularTitle(r, undefined)),
        nextPageToken: rest.length > pageSize && last !== undefined ? encodePageToken({ recommendationId: key(last), offset: 0, fingerprint }) : '',
        recommendationId: `popular-${window}-${computedAtMs}`,
        ...(computedAtMs > 0 ? { computeTime: timestamp(computedAtMs) } : {}),
      };
    },
  };
}

/** The titles a user interacted with. */
async function watchedBy(client: Pick<ClusterClient, 'system'>, userId: string, deadlineMs: number): Promise<ReadonlySet<string>> {
  return new Set(await client.system.ask<string[]>(Kind.User, userId, UserMsg.Watched, undefined, { deadlineMs }));
}

function popularTitle(r: Ranked, details: CatalogEntry | undefined): RecommendedTitle {
  return {
    titleId: r.titleId,
    score: r.score,
    reason: { kind: `REASON_KIND_${r.reason}`, text: POPULAR_TEXT[r.reason] ?? '', evidenceTitleIds: [] },
    ...(details ? { title: titleOfEntry(details) } : {}),
  } as RecommendedTitle;
}
