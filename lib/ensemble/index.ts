export type { InferenceBackend, InputTensor, ModelSession, OutputTensor, TensorData, TensorDtype } from './backend';
