export { abstainsOn } from './abstain';
export type {
  InferenceBackend,
  InputTensor,
  ModelSession,
  OutputTensor,
  TensorData,
  TensorDtype,
  ValueInfo,
} from './backend';
export {
  fusionPlan,
  type PredictOptions,
  predictEnsemble,
  type SessionSource,
  strategyCalibration,
} from './engine';
export { checkManifestGraphs, memberGraphProblems } from './graph-check';
export { Featurizer } from './inputs';
export { type OrtSessionLike, wrapOrtSession } from './ort-session';
export { SessionCache } from './sessions';
export { type InputIssue, inputError, validateInputs } from './validate-inputs';
