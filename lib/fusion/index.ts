export { applyTemperature, fitLogitTemperature, fitTemperature } from './calibration';
export {
  type CurvePoint,
  type DecisionRule,
  decide,
  operatingCurve,
  rocAuc,
  thresholdForCost,
  thresholdForFpr,
} from './decision';
export { enoughEvidence, type FusedAnswer, type FuseOptions, fuse, fuseMatrices, fuseRows } from './fuse';
export { argmax, entropy, LOG_EPS, softmax } from './math';
export { checkProbMatrix, meanLogLoss, type ProbMatrix, rowsOf } from './matrix';
export { uncertaintyOf } from './uncertainty';
export { checkMemberProbabilities, type MemberProbabilities, normalizeWeights } from './validate';
export { geometricPool, hardVote, LOG_ODDS_CLIP, metaFeatureRow, softVote, stackingApply } from './vote';
export {
  accuracyWeights,
  type EnsembleSelectionOptions,
  type EnsembleSelectionResult,
  ensembleSelection,
} from './weights';
