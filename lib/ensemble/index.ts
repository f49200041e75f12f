export { abstainsOn } from './abstain';
export type {
  InferenceBackend,
  InputTensor,
  ModelSession,
  OutputTensor,
  SessionOptions,
  TensorData,
  TensorDtype,
  ValueInfo,
} from './backend';
export { diffManifests } from './diff';
export {
  evidenceOptions,
  fusionPlan,
  type PredictOptions,
  predictEnsemble,
  type SessionSource,
  strategyCalibration,
} from './engine';
export { checkManifestGraphs, memberGraphProblems } from './graph-check';
export { Featurizer } from './inputs';
export {
  isRuntimeAbort,
  type OrtSessionLike,
  ortSessionConfig,
  residentEstimate,
  wrapOrtSession,
} from './ort-session';
export { type FoldPolicy, parseFoldPolicy, SessionCache } from './sessions';
export { type EngineInput, type InputIssue, inputError, validateInputs } from './validate-inputs';
