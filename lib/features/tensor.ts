import type { FeatureDtype } from '../schema';

/**
 * What a featurizer hands a model: the same shape as the engine's InputTensor (lib/ensemble),
 * declared here so that features never import the engine.
 */
export interface FeatureTensor {
  readonly dtype: FeatureDtype;
  /** numbers, or texts for dtype `string` */
  readonly data: Float32Array | Float64Array | BigInt64Array | Int32Array | readonly string[];
  readonly dims: readonly number[];
}
