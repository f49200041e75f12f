import type { TensorDtype } from '../schema';

/**
 * What a featurizer hands a model: the same shape as the engine's InputTensor (lib/ensemble),
 * declared here so that features never import the engine.
 */
export interface FeatureTensor {
  readonly dtype: TensorDtype;
  readonly data: Float32Array | BigInt64Array | Int32Array;
  readonly dims: readonly number[];
}
