import type { HashedNgramFeaturizer } from '../schema';
import { hashedBuckets, sparseFeatures } from './hashed';

/** A batch of sparse feature rows as two [rows, width] tensors' data (`layout: 'sparse'`). */
export interface SparseBatch {
  /** bucket of each non-zero, int64; padding is id 0 */
  ids: BigInt64Array;
  /** its value (count or log-l2), the same float32 the dense row holds there; padding is 0 */
  values: Float32Array;
  /** the most non-zeros of a row in the batch (at least 1, so an empty batch row still has a shape) */
  width: number;
}

const LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

/**
 * The sparse rows of several texts: each row's distinct buckets in increasing order with the
 * values the dense row holds at them, padded with (id 0, value 0), which adds nothing to a
 * weighted sum of gathered weight rows — so a graph that gathers answers what the dense MatMul
 * does, at the cost of the row's n-grams instead of the bucket count.
 */
export function featurizeSparseRows(texts: readonly string[], spec: HashedNgramFeaturizer): SparseBatch {
  const rows = texts.map((text) => sparseFeatures(hashedBuckets(text, spec), spec));
  let width = 1;
  for (const r of rows) width = Math.max(width, r.indices.length);
  const ids = new BigInt64Array(rows.length * width);
  const values = new Float32Array(rows.length * width);
  // ids through an int32 view (low word = bucket, high word = 0): no BigInt per entry
  const words = LITTLE_ENDIAN ? new Int32Array(ids.buffer, ids.byteOffset, ids.length * 2) : undefined;
  rows.forEach((r, i) => {
    const base = i * width;
    values.set(r.values, base);
    for (let j = 0; j < r.indices.length; j++) {
      if (words) words[2 * (base + j)] = r.indices[j] as number;
      else ids[base + j] = BigInt(r.indices[j] as number);
    }
  });
  return { ids, values, width };
}
