// The numeric core's public surface: runtime-free code over typed arrays. Imports nothing
// from runtime/, cluster/, actors/ or NATS.
export { IdIndex } from './id-index.js';
export { RatingsTableBuilder, ratingsTableFrom, selectRows, splitRatings, countsOf, ratingRange } from './ratings.js';
export { fingerprint } from './fingerprint.js';
export { EpochOrders, Rng, identityOrder } from './rng.js';
export { ModelArgumentError, NonFiniteEmbedding, TfBackendUnavailable, TrainingDiverged, WasmKernelMissing } from './errors.js';
export {
  DEFAULT_MF_EPOCHS,
  DEFAULT_MF_FACTORS,
  DEFAULT_MF_INIT_STD,
  DEFAULT_MF_LR,
  DEFAULT_MF_LR_DECAY,
  DEFAULT_MF_REG_BIAS,
  DEFAULT_MF_REG_FACTOR,
  MAX_MF_FACTORS,
  checkEpochs,
  defaultMfHyperparameters,
  parseMfHyperparameters,
} from './mf-options.js';
export { checkTableFits, createMfModel, mfScorer, predictMf, predictTable, runSgdEpochs, scoreItemsMf, sgdEpoch, stepOf, stepRegs, trainMf, tsKernel } from './mf.js';
export { DEFAULT_MF_KERNEL, MF_KERNELS, WasmMfSession, defaultMfKernelFile, loadMfKernel, sgdEpochWasm, wasmKernel } from './mf-wasm.js';
export { DEFAULT_MF_TUNE_GRID, DEFAULT_TUNE_PATIENCE_EPOCHS, DEFAULT_VALIDATION_FRACTION, MF_FAMILY, expandGrid, tuneMf, tuneSgd } from './mf-tune.js';
export {
  DEFAULT_SVDPP_EPOCHS,
  DEFAULT_SVDPP_FACTORS,
  DEFAULT_SVDPP_LR,
  DEFAULT_SVDPP_LR_DECAY,
  DEFAULT_SVDPP_REG_BIAS,
  DEFAULT_SVDPP_REG_FACTOR,
  DEFAULT_SVDPP_REG_Y,
  defaultSvdppHyperparameters,
  parseSvdppHyperparameters,
} from './svdpp-options.js';
export { createSvdppModel, predictSvdppTable, svdppAsMf, svdppEpoch, svdppScorer, trainSvdpp, tsSvdppKernel } from './svdpp.js';
export { SVDPP_KERNELS, WasmSvdppSession, svdppEpochWasm, wasmSvdppKernel } from './svdpp-wasm.js';
export { DEFAULT_SVDPP_TUNE_GRID, SVDPP_FAMILY, tuneSvdpp } from './svdpp-tune.js';
export { UserGroupedOrders } from './user-grouped-orders.js';
export { predictKnnTable, trainKnnBaseline, transposeTable } from './knn-baseline.js';
export { evaluateTopK, mae, rmse, userItemsOf } from './metrics.js';
export { TopK } from './top-k.js';
export { scoreRowsReference, WasmRowScorer } from './score-rows.js';
export { decodeNpy, encodeNpy, npyHeader } from './npy.js';
export { splitByUserRatio, splitCounts } from './split.js';
export { popularityScorer } from './popularity.js';
export { interactionRows } from './interactions.js';
export { dot4, scoreDots } from './factor-scores.js';
export { AliasTable } from './alias-table.js';
export {
  DEFAULT_ALS_ALPHA,
  DEFAULT_ALS_CG_STEPS,
  DEFAULT_ALS_EPOCHS,
  DEFAULT_ALS_EPSILON,
  DEFAULT_ALS_FACTORS,
  DEFAULT_ALS_INIT_STD,
  DEFAULT_ALS_REG,
  DEFAULT_ALS_REG_EXPONENT,
  DEFAULT_ALS_UNOBSERVED_WEIGHT,
  defaultAlsHyperparameters,
  parseAlsHyperparameters,
} from './als-options.js';
export { CG_RESIDUAL_FLOOR, alsHalfSweep, alsLoss, alsProblem, alsScorer, createAlsModel, gramian, trainAls, tsAlsKernel } from './als.js';
export { WasmAlsSession, alsHalfSweepWasm, gramianWasm, wasmAlsKernel } from './als-wasm.js';
export {
  DEFAULT_BPR_EPOCHS,
  DEFAULT_BPR_FACTORS,
  DEFAULT_BPR_INIT_STD,
  DEFAULT_BPR_LR,
  DEFAULT_BPR_LR_DECAY,
  DEFAULT_BPR_POPULARITY_EXPONENT,
  DEFAULT_BPR_REG,
  DEFAULT_BPR_REG_BIAS,
  defaultBprHyperparameters,
  parseBprHyperparameters,
} from './bpr-options.js';
export { BprSampler } from './bpr-sampler.js';
export { bprEpoch, bprScorer, createBprModel, softplus, trainBpr, tsBprKernel } from './bpr.js';
export { TsBprRows, WasmBprRows, WasmBprSession, bprEpochWasm, bprRows, wasmBprKernel } from './bpr-wasm.js';
export { TsMfRows, WasmMfRows, mfRows, packedRowsAt, rowFloats } from './mf-rows.js';
export { WasmArena } from './wasm-arena.js';

export type { ExternalId } from './id-index.js';
export type { RatingLike, RatingsTable, TableIndices } from './ratings.js';
export type { MfHyperparameters } from './mf-options.js';
export type { EpochReport, EpochRunner, Kernel, MfEpochRunner, MfKernel, MfModel, SgdStep, TrainOptions } from './mf.js';
export type { MfKernelName, WasmModule } from './mf-wasm.js';
export type { Grid, MfGrid, MfTrial, MfTuneOptions, MfTuneResult, SgdModelFamily, Trial, TuneOptions, TuneResult } from './mf-tune.js';
export type { SvdppHyperparameters } from './svdpp-options.js';
export type { SvdppKernel, SvdppModel, SvdppStep } from './svdpp.js';
export type { KnnBaselineModel, KnnBaselineOptions } from './knn-baseline.js';
export type { Scorer, TopKMetrics, TopKOptions, UserItems } from './metrics.js';
export type { NpyMatrix } from './npy.js';
export type { UserSplit } from './split.js';
export type { InteractionRows } from './interactions.js';
export type { AlsConfidence, AlsHyperparameters } from './als-options.js';
export type { AlsKernel, AlsModel, AlsProblem, AlsSide, AlsSweepRunner, AlsTrainOptions } from './als.js';
export type { BprHyperparameters, BprNegatives } from './bpr-options.js';
export type { BprTriples } from './bpr-sampler.js';
export type { BprEpochRunner, BprKernel, BprModel, BprStep, BprTrainOptions } from './bpr.js';
export type { KernelBase } from './wasm-arena.js';
export type { MfRowsRunner, RowsAt } from './mf-rows.js';
export type { BprRowsRunner } from './bpr-wasm.js';
export { coldStartSplit, evaluateColdStart, genreColdScorer, genreYearColdScorer, randomColdScorer, YEAR_BUCKET, type ColdInteraction, type ColdScorer, type ColdStartSplit, type ColdTitle } from './cold-start.js';
export { NormalizedGraph, layerMean, propagateReference, type Propagate } from './lightgcn-graph.js';
export { WasmPropagator } from './lightgcn-wasm.js';
export { lightGcnScorer, parseLightGcnHyperparameters, trainLightGcn, type LightGcnHyperparameters, type LightGcnModel, type LightGcnTrainOptions } from './lightgcn.js';
export { Adam, parseAdamOptions, type AdamOptions, type AdamState } from './adam.js';
export { encode, encodeReference, encoderGradients, encoderLayers, encoderWeightCount, initEncoderWeights, type EncoderBatch, type EncoderGradients, type EncoderShape } from './feature-encoder.js';
export { featureNodes, meanOfFeatureNodes, type FeatureNodes } from './feature-nodes.js';
export { coldRow, extendedWidth, featureIdsOf, knownFeatureIds, scaleSums, standardised, targetScaleOf, type ContentEncoderModel, type ScaleSums, type TargetScale } from './content-rows.js';
export { genreYearFeatures, mergeTitleFeatures, metadataFeatureNames, normaliseTag, TitleFeaturesBuilder, type TitleFeatures } from './title-features.js';
export { DEFAULT_TF_BACKENDS, loadTf, startTf, type Tf, type TfBackend, type TfRuntime } from './tf.js';
export {
  DEFAULT_COLD_ALPHA,
  DEFAULT_COLD_POPULARITY_WEIGHT,
  DEFAULT_CONTENT_ENCODE_EVERY_EPOCHS,
  DEFAULT_CONTENT_ENCODER_BATCH_SIZE,
  DEFAULT_CONTENT_ENCODER_LR,
  DEFAULT_CONTENT_ENCODER_PASSES,
  DEFAULT_CONTENT_HIDDEN,
  DEFAULT_CONTENT_POPULARITY_LOSS_WEIGHT,
  defaultContentGnnHyperparameters,
  parseColdMix,
  parseContentGnnHyperparameters,
  type ColdMix,
  type ContentGnnHyperparameters,
  type ParsedContentGnnHyperparameters,
} from './content-gnn-options.js';
export { contentColdScorer, titleEmbeddings, trainContentGnn, type ContentGnnModel, type ContentGnnRound, type ContentGnnTrainOptions } from './content-gnn.js';
