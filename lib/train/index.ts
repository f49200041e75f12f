export { type FastTextOptions, trainFastText } from './fasttext';
export {
  calibrateTemperature,
  type FamilyInputs,
  type FamilyOptions,
  featurizeForFamily,
  logitsMatrix,
  probabilityMatrix,
  subsetInputs,
  trainFamily,
} from './fit';
export { bucketIds } from './ids';
export { type LogRegOptions, trainLogisticRegression } from './logreg';
export {
  accuracy,
  calibrationBins,
  classificationMetrics,
  expectedCalibrationError,
  falsePositiveRate,
  macroF1,
  selectRows,
  truePositiveRate,
} from './metrics';
export { type MlpOptions, trainMlp } from './mlp';
export {
  affineSparse,
  type FastTextModel,
  fastTextLogits,
  type LinearModel,
  linearLogits,
  type MlpModel,
  mlpForward,
  predictProba,
  rawLogits,
  type SparseRow,
  type TrainedModel,
} from './model';
export { type NaiveBayesOptions, trainNaiveBayes } from './naive-bayes';
export * from './onnx';
export * from './pipeline';
export { createRng, shuffledIndices } from './random';
export {
  isTrainable,
  isTrainableFamily,
  TRAINABLE_FAMILIES,
  type TrainableFamily,
  type TrainableMember,
} from './trainable';
