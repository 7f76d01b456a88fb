export { Catalog, CompiledFilter, TitleBook, type CatalogEntry, type CatalogPull, type TitleFilterSpec } from './catalog.js';
export { NodeServing, ServingMsg, popularList, type ScoreBody, type ScoredTitles, CATALOG_REFRESH_MS, SNAPSHOT_TTL_MS, type PopularList, type PopularityWindow, type ServingDeps } from './node-serving.js';
export { MAX_RANKED, type UserVector, type ExplainAnswer, type ExplainBody, type RecommendAnswer, type RecommendBody, type RecommendedItem, type SimilarBody } from './recommend.js';
export { rankByGenres, rankForUser, rankPopular, rankSimilar, MMR_PLACES, type Ranked, type RankOptions, type ReasonKind } from './rank.js';
export { TitleMatrix } from './title-matrix.js';
export { DEFAULT_INTERACTION_WEIGHTS, parseInteractionWeights, type InteractionWeights } from './interaction-weights.js';
