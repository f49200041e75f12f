export { applyTemperature, fitLogitTemperature, fitTemperature } from './calibration';
export { type FusedAnswer, type FuseOptions, fuse, fuseMatrices } from './fuse';
export { argmax, entropy, LOG_EPS, softmax } from './math';
export { checkProbMatrix, meanLogLoss, type ProbMatrix, rowsOf } from './matrix';
export { uncertaintyOf } from './uncertainty';
export { checkMemberProbabilities, type MemberProbabilities, normalizeWeights } from './validate';
export { geometricPool, hardVote, softVote, stackingApply } from './vote';
export {
  accuracyWeights,
  type EnsembleSelectionOptions,
  type EnsembleSelectionResult,
  ensembleSelection,
} from './weights';
