import type { HashedNgramFeaturizer } from '../schema';
import { hashedBuckets } from './hashed';

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

// Per bucket, the row (generation) that last saw it and its slot among that row's distinct
// buckets: counting a row touches only its own n-grams, and only the distinct ones are sorted.
// Reused by every call (featurizers are synchronous) and grown to the largest bucket count seen.
let seenIn = new Int32Array(0);
let slotOf = new Int32Array(0);
let generation = 0;

interface Row {
  /** distinct buckets, increasing */
  indices: Int32Array;
  /** the dense row's value at each */
  values: Float32Array;
}

function sparseRow(text: string, spec: HashedNgramFeaturizer): Row {
  const buckets = hashedBuckets(text, spec);
  if (seenIn.length < spec.buckets) {
    seenIn = new Int32Array(spec.buckets);
    slotOf = new Int32Array(spec.buckets);
    generation = 0;
  }
  if (++generation === 0x7fffffff) {
    seenIn.fill(0);
    generation = 1;
  }
  const distinct = new Int32Array(buckets.length);
  const counts = new Float32Array(buckets.length);
  let n = 0;
  for (let i = 0; i < buckets.length; i++) {
    const b = buckets[i] as number;
    if (seenIn[b] !== generation) {
      seenIn[b] = generation;
      slotOf[b] = n;
      distinct[n++] = b;
    }
    const s = slotOf[b] as number;
    counts[s] = (counts[s] as number) + 1;
  }
  const indices = distinct.subarray(0, n).sort();
  const values = new Float32Array(n);
  for (let j = 0; j < n; j++) values[j] = counts[slotOf[indices[j] as number] as number] as number;
  if (spec.output === 'log-l2') {
    // as the dense row: log1p of each count, the norm summed in increasing bucket order
    let norm = 0;
    for (let j = 0; j < n; j++) {
      const v = Math.log1p(values[j] as number);
      norm += v * v;
    }
    norm = Math.sqrt(norm);
    for (let j = 0; j < n; j++) {
      const v = Math.log1p(values[j] as number);
      values[j] = norm > 0 ? v / norm : v;
    }
  }
  return { indices, values };
}

/**
 * The sparse rows of several texts: each row's distinct buckets in increasing order with the
 * values the dense row holds at them, padded with (id 0, value 0), which adds nothing to a
 * weighted sum of gathered weight rows — so a graph that gathers answers what the dense MatMul
 * does, at the cost of the row's n-grams instead of the bucket count.
 */
export function featurizeSparseRows(texts: readonly string[], spec: HashedNgramFeaturizer): SparseBatch {
  const rows = texts.map((text) => sparseRow(text, spec));
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
