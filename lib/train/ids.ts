import { paddedIds } from '../features';

/**
 * The embedding-bag ids of a document for training and the TypeScript reference forward pass:
 * the serving featurizer's own rule (lib/features `paddedIds`: bucket b is id b + 1, row 0 is
 * padding), without the trailing padding.
 */
export function bucketIds(buckets: ArrayLike<number>, maxIds: number): Int32Array {
  return paddedIds(buckets, maxIds).subarray(0, Math.min(buckets.length, maxIds));
}
