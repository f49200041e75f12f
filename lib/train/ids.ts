/**
 * The embedding-bag id rule, in one place for lib/train: bucket b is id b + 1 (row 0 of the
 * embedding is padding and carries nothing), at most `maxIds` ids, in order. Training, the
 * TypeScript reference forward pass and (through lib/features) the serving featurizer agree on
 * it; to be replaced by lib/features' `paddedIds` once that lands.
 */
export function bucketIds(buckets: ArrayLike<number>, maxIds: number): Int32Array {
  const ids = new Int32Array(Math.min(buckets.length, maxIds));
  for (let j = 0; j < ids.length; j++) ids[j] = (buckets[j] as number) + 1;
  return ids;
}
