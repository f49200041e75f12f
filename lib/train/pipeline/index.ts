export { type EvalDataset, Evaluator, fuseWith, labelledRows } from './evaluate';
export {
  type ExportedVariant,
  exportVariants,
  type ModelRef,
  storeModel,
  type Variant,
  withExport,
} from './export-variants';
export { duplicateKey, FOLD_SEED, foldRows, groupedFolds, groupKey, rowGroupKeys } from './folds';
export { refitMember, servingTemperature } from './refit';
export {
  fitMetaLearner,
  META_LEARNER_RECIPE,
  metaFeatures,
  outOfFold,
  type Stacked,
  type StackingMember,
  type StackingRows,
  stackMembers,
} from './stacking';
