export type { InferenceBackend, InputTensor, ModelSession, OutputTensor, TensorData, TensorDtype } from './backend';
export { fusionPlan, type PredictOptions, predictEnsemble, type SessionSource } from './engine';
export { Featurizer, validateInputs } from './inputs';
export { type OrtSessionLike, wrapOrtSession } from './ort-session';
export { SessionCache } from './sessions';
