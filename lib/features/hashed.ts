import { ChorusError } from '../errors';
import { type HashedNgramFeaturizer, HashedNgramFeaturizerSchema } from '../schema';
import { murmur3 } from './hash';
import { MAX_TOKEN_CHARS, normalizeText, wordTokens } from './text';

const MAX_TOKEN_BYTES = MAX_TOKEN_CHARS * 4;

const encoder = new TextEncoder();

/** Sparse vector with strictly increasing indices. */
export interface SparseVector {
  indices: Int32Array;
  values: Float32Array;
}

const checkedSpecs = new WeakSet<HashedNgramFeaturizer>();

/** Validates a spec once per object (manifests are parsed already; this guards direct callers). */
function checkSpec(spec: HashedNgramFeaturizer): void {
  if (checkedSpecs.has(spec)) return;
  const parsed = HashedNgramFeaturizerSchema.safeParse(spec);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ChorusError(
      'invalid_argument',
      `invalid featurizer spec at ${issue?.path.join('.') || '(root)'}: ${issue?.message}`,
    );
  }
  checkedSpecs.add(spec);
}

/** Bucket of every n-gram of the text, in order of appearance (the featurizer's token stream). */
export function hashedBuckets(text: string, spec: HashedNgramFeaturizer): Int32Array {
  checkSpec(spec);
  if (typeof text !== 'string') throw new ChorusError('invalid_argument', `text must be a string, got ${typeof text}`);
  const normalized = normalizeText(text);
  const [lo, hi] = spec.ngram;
  const out: number[] = [];
  if (spec.unit === 'char') {
    // Hash each n-gram's UTF-8 bytes in place: encode once, slice by code-point boundaries.
    const chars = Array.from(normalized.slice(0, spec.maxLength * 2)).slice(0, spec.maxLength);
    const bytes = encoder.encode(chars.join(''));
    const bounds = new Int32Array(chars.length + 1);
    for (let i = 0, off = 0; i < chars.length; i++) {
      bounds[i] = off;
      const cp = (chars[i] as string).codePointAt(0) as number;
      off += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
      bounds[i + 1] = off;
    }
    for (let n = lo; n <= hi; n++) {
      for (let i = 0; i + n <= chars.length; i++) {
        out.push(murmur3(bytes, spec.seed, bounds[i] as number, bounds[i + n] as number) % spec.buckets);
      }
    }
  } else {
    const tokens = wordTokens(normalized, spec.maxLength).map((t) => encoder.encode(t));
    // A token is at most MAX_TOKEN_CHARS code points of at most 4 UTF-8 bytes each.
    const scratch = new Uint8Array(MAX_TOKEN_BYTES * hi + hi);
    for (let n = lo; n <= hi; n++) {
      for (let i = 0; i + n <= tokens.length; i++) {
        let len = 0;
        for (let j = 0; j < n; j++) {
          if (j > 0) scratch[len++] = 0x20; // n-gram = tokens joined by one space
          const t = tokens[i + j] as Uint8Array;
          scratch.set(t, len);
          len += t.length;
        }
        out.push(murmur3(scratch, spec.seed, 0, len) % spec.buckets);
      }
    }
  }
  return Int32Array.from(out);
}

/** Bucket counts as a sparse vector, transformed per `spec.output` (`counts` or `log-l2`). */
export function sparseFeatures(buckets: Int32Array, spec: HashedNgramFeaturizer): SparseVector {
  const sorted = Int32Array.from(buckets).sort();
  const indices: number[] = [];
  const values: number[] = [];
  for (let i = 0; i < sorted.length; i++) {
    const b = sorted[i] as number;
    if (indices.length > 0 && indices[indices.length - 1] === b) {
      values[values.length - 1] = (values[values.length - 1] as number) + 1;
    } else {
      indices.push(b);
      values.push(1);
    }
  }
  if (spec.output === 'log-l2') {
    let norm = 0;
    for (let i = 0; i < values.length; i++) {
      const v = Math.log1p(values[i] as number);
      values[i] = v;
      norm += v * v;
    }
    norm = Math.sqrt(norm);
    if (norm > 0) for (let i = 0; i < values.length; i++) values[i] = (values[i] as number) / norm;
  }
  return { indices: Int32Array.from(indices), values: Float32Array.from(values) };
}

export function toDense(v: SparseVector, size: number): Float32Array {
  const out = new Float32Array(size);
  for (let i = 0; i < v.indices.length; i++) out[v.indices[i] as number] = v.values[i] as number;
  return out;
}

/** Ids for embedding-bag models: bucket + 1 (0 is the padding row), truncated/zero-padded. */
export function toIds(buckets: Int32Array, maxIds: number): BigInt64Array {
  const out = new BigInt64Array(maxIds);
  const n = Math.min(buckets.length, maxIds);
  for (let i = 0; i < n; i++) out[i] = BigInt((buckets[i] as number) + 1);
  return out;
}

/** Feature row of one text for a hashed featurizer, in the form the model's input expects. */
export function featurizeText(text: string, spec: HashedNgramFeaturizer): Float32Array | BigInt64Array {
  const buckets = hashedBuckets(text, spec);
  if (spec.output === 'ids') {
    if (spec.maxIds === undefined) throw new ChorusError('invalid_manifest', "featurizer output 'ids' needs maxIds");
    return toIds(buckets, spec.maxIds);
  }
  return toDense(sparseFeatures(buckets, spec), spec.buckets);
}
