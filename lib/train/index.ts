export { type FastTextOptions, trainFastText } from './fasttext';
export {
  calibrateTemperature,
  type Family,
  type FamilyInputs,
  type FamilyOptions,
  featurizeForFamily,
  logitsMatrix,
  probabilityMatrix,
  subsetInputs,
  trainFamily,
} from './fit';
export { type LogRegOptions, trainLogisticRegression } from './logreg';
export {
  accuracy,
  calibrationBins,
  classificationMetrics,
  expectedCalibrationError,
  falsePositiveRate,
  macroF1,
  selectRows,
} from './metrics';
export { type MlpOptions, mlpForward, trainMlp } from './mlp';
export {
  affineSparse,
  type FastTextModel,
  fastTextLogits,
  type LinearModel,
  linearLogits,
  type MlpModel,
  predictProba,
  rawLogits,
  type SparseRow,
  type TrainedModel,
} from './model';
export { type NaiveBayesOptions, trainNaiveBayes } from './naive-bayes';
export * from './onnx';
export { createRng, shuffledIndices } from './random';
