import { ChorusError } from '../errors';
import { type HashedNgramFeaturizer, HashedNgramFeaturizerSchema } from '../schema';
import { murmur3 } from './hash';
import { MAX_TOKEN_CHARS, nextToken, takeNormalizedPrefix } from './text';

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

function checkText(text: unknown): asserts text is string {
  if (typeof text !== 'string') throw new ChorusError('invalid_argument', `text must be a string, got ${typeof text}`);
}

// Scratch space reused by every call. The featurizers are synchronous, so no call can observe
// another's; buffers only ever grow (to the largest message seen), never per token.
let utf8 = new Uint8Array(1 << 15);
/** char unit: byte offset of each code point; word unit: byte offset where each token starts */
let starts = new Int32Array(1 << 12);
/** word unit: byte offset where each token ends */
let ends = new Int32Array(1 << 12);
let bucketScratch = new Int32Array(1 << 14);
let distinctScratch = new Int32Array(1 << 12);
const span = new Int32Array(2);

function growBytes(needed: number): void {
  if (needed <= utf8.length) return;
  const next = new Uint8Array(Math.max(needed, utf8.length * 2));
  next.set(utf8);
  utf8 = next;
}

function growOffsets(needed: number): void {
  if (needed <= starts.length) return;
  const size = Math.max(needed, starts.length * 2);
  const s = new Int32Array(size);
  s.set(starts);
  starts = s;
  const e = new Int32Array(size);
  e.set(ends);
  ends = e;
}

/**
 * UTF-8 of s[from, to) into `utf8` at `off` (room for 3 bytes per unit must exist); returns the
 * new offset. A lone surrogate, including a pair cut by `to`, becomes U+FFFD, as TextEncoder does.
 */
function encodeUtf8(s: string, from: number, to: number, off: number): number {
  const out = utf8;
  let o = off;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) {
      out[o++] = c;
    } else if (c < 0x800) {
      out[o++] = 0xc0 | (c >> 6);
      out[o++] = 0x80 | (c & 0x3f);
    } else if (c < 0xd800 || c > 0xdfff) {
      out[o++] = 0xe0 | (c >> 12);
      out[o++] = 0x80 | ((c >> 6) & 0x3f);
      out[o++] = 0x80 | (c & 0x3f);
    } else {
      const d = i + 1 < to ? s.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) {
        const cp = ((c - 0xd800) << 10) + (d - 0xdc00) + 0x10000;
        out[o++] = 0xf0 | (cp >> 18);
        out[o++] = 0x80 | ((cp >> 12) & 0x3f);
        out[o++] = 0x80 | ((cp >> 6) & 0x3f);
        out[o++] = 0x80 | (cp & 0x3f);
        i++;
      } else {
        out[o++] = 0xef;
        out[o++] = 0xbf;
        out[o++] = 0xbd;
      }
    }
  }
  return o;
}

/**
 * Char unit: the UTF-8 of the first `max` code points of `normalized` into `utf8`, with
 * `starts[i]` the offset of code point i and `starts[count]` the end. Returns the count.
 */
function encodeCodePoints(normalized: string, max: number): number {
  const units = Math.min(normalized.length, max * 2);
  growBytes(units * 3);
  growOffsets(Math.min(units, max) + 1);
  let count = 0;
  let i = 0;
  let off = 0;
  while (i < normalized.length && count < max) {
    const c = normalized.charCodeAt(i);
    const width =
      c >= 0xd800 && c <= 0xdbff && i + 1 < normalized.length && (normalized.charCodeAt(i + 1) & 0xfc00) === 0xdc00
        ? 2
        : 1;
    starts[count++] = off;
    off = encodeUtf8(normalized, i, i + width, off);
    i += width;
  }
  starts[count] = off;
  return count;
}

/**
 * Word unit: the first `max` tokens of `normalized`, each cut to MAX_TOKEN_CHARS units, as
 * UTF-8 joined by single spaces in `utf8`; token i is bytes [starts[i], ends[i]). An n-gram of
 * consecutive tokens is then the contiguous range [starts[i], ends[i + n - 1]). Returns the count.
 */
function encodeTokens(normalized: string, max: number, splitIdeographs: boolean): number {
  let count = 0;
  let off = 0;
  let pos = 0;
  while (count < max && nextToken(normalized, pos, span, splitIdeographs)) {
    const start = span[0] as number;
    pos = span[1] as number;
    const stop = Math.min(pos, start + MAX_TOKEN_CHARS);
    growBytes(off + (stop - start) * 3 + 1);
    growOffsets(count + 1);
    starts[count] = off;
    off = encodeUtf8(normalized, start, stop, off);
    ends[count] = off;
    utf8[off++] = 0x20;
    count++;
  }
  return count;
}

/** Number of n-grams of sizes lo..hi over `units` units. */
function ngramCount(units: number, lo: number, hi: number): number {
  let total = 0;
  for (let n = lo; n <= hi; n++) total += Math.max(0, units - n + 1);
  return total;
}

/**
 * The featurizer's token stream: bucket of every n-gram, sizes lo..hi, each size in order of
 * appearance, as a view of `bucketScratch` (valid until the next call). A view, not a count,
 * because the scratch may be replaced by a larger one here.
 */
function fillBuckets(text: string, spec: HashedNgramFeaturizer): Int32Array {
  const [lo, hi] = spec.ngram;
  const { buckets, seed, maxLength } = spec;
  let units = 0;
  if (spec.unit === 'char') {
    // Normalise only as much of the text as the first maxLength code points need.
    takeNormalizedPrefix(text, maxLength + (maxLength >> 2) + 16, (normalized) => {
      units = encodeCodePoints(normalized, maxLength);
      return units >= maxLength;
    });
  } else {
    takeNormalizedPrefix(text, maxLength * 8 + 64, (normalized) => {
      units = encodeTokens(normalized, maxLength, spec.ideographs === 'split');
      return units >= maxLength;
    });
  }
  const total = ngramCount(units, lo, hi);
  if (total > bucketScratch.length) bucketScratch = new Int32Array(Math.max(total, bucketScratch.length * 2));
  const bytes = utf8;
  const out = bucketScratch;
  // hash mod buckets; for a power of two (every zoo member) the same as the low bits
  const mask = (buckets & (buckets - 1)) === 0 ? buckets - 1 : -1;
  // n-gram i of size n: chars [starts[i], starts[i + n]); words [starts[i], ends[i + n - 1])
  const stops = spec.unit === 'char' ? starts : ends;
  const shift = spec.unit === 'char' ? 0 : -1;
  let o = 0;
  for (let n = lo; n <= hi; n++) {
    for (let i = 0; i + n <= units; i++) {
      const h = murmur3(bytes, seed, starts[i] as number, stops[i + n + shift] as number);
      out[o++] = mask >= 0 ? h & mask : h % buckets;
    }
  }
  return out.subarray(0, o);
}

/** Bucket of every n-gram of the text, in order of appearance (the featurizer's token stream). */
export function hashedBuckets(text: string, spec: HashedNgramFeaturizer): Int32Array {
  checkSpec(spec);
  checkText(text);
  return fillBuckets(text, spec).slice();
}

/** Bucket counts as a sparse vector, transformed per `spec.output` (`counts` or `log-l2`). */
export function sparseFeatures(buckets: Int32Array, spec: HashedNgramFeaturizer): SparseVector {
  const sorted = Int32Array.from(buckets).sort();
  let distinct = 0;
  for (let i = 0; i < sorted.length; i++) if (i === 0 || sorted[i] !== sorted[i - 1]) distinct++;
  const indices = new Int32Array(distinct);
  const values = new Float32Array(distinct);
  for (let i = 0, d = -1; i < sorted.length; i++) {
    if (i === 0 || sorted[i] !== sorted[i - 1]) indices[++d] = sorted[i] as number;
    values[d] = (values[d] as number) + 1;
  }
  if (spec.output === 'log-l2') logL2(values, distinct);
  return { indices, values };
}

/**
 * In place: count -> log1p(count), L2-normalised, the norm summed in increasing bucket order
 * as it always was (float addition is not associative). Slot j is `slots[j]` (a dense row
 * indexed by bucket) or j itself (sparse values). Counts are exact in float32 and log1p is
 * recomputed from them, so each value is the same double as before, then rounded to float32.
 */
function logL2(values: Float32Array, n: number, slots?: Int32Array): void {
  let norm = 0;
  for (let j = 0; j < n; j++) {
    const v = Math.log1p(values[slots ? (slots[j] as number) : j] as number);
    norm += v * v;
  }
  norm = Math.sqrt(norm);
  for (let j = 0; j < n; j++) {
    const s = slots ? (slots[j] as number) : j;
    const v = Math.log1p(values[s] as number);
    values[s] = norm > 0 ? v / norm : v;
  }
}

export function toDense(v: SparseVector, size: number): Float32Array {
  const out = new Float32Array(size);
  for (let i = 0; i < v.indices.length; i++) out[v.indices[i] as number] = v.values[i] as number;
  return out;
}

/**
 * The one place of the ids rule: id = bucket + 1 (id 0 is the embedding's padding row), the
 * first `maxIds` buckets, zero-padded. Writes id j to target[j * stride]; the rest of the
 * target must be zero already.
 */
function writeIds(buckets: ArrayLike<number>, count: number, maxIds: number, target: Int32Array, stride: number): void {
  const n = Math.min(count, maxIds);
  for (let j = 0; j < n; j++) target[j * stride] = (buckets[j] as number) + 1;
}

/**
 * Ids for embedding-bag models as int32: bucket + 1 (0 is the padding row), the first `maxIds`,
 * zero-padded to `maxIds`. The unpadded ids are `.subarray(0, Math.min(buckets.length, maxIds))`.
 */
export function paddedIds(buckets: ArrayLike<number>, maxIds: number): Int32Array {
  const out = new Int32Array(maxIds);
  writeIds(buckets, buckets.length, maxIds, out, 1);
  return out;
}

const LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

/** Ids into an int64 row: through its int32 view, low word = id and high word = 0 (ids are < 2^31). */
function writeIdsInt64(buckets: Int32Array, count: number, maxIds: number, out: BigInt64Array): void {
  if (LITTLE_ENDIAN) {
    const words = new Int32Array(out.buffer, out.byteOffset, out.length * 2);
    words.fill(0);
    writeIds(buckets, count, maxIds, words, 2);
    return;
  }
  const ids = new Int32Array(maxIds);
  writeIds(buckets, count, maxIds, ids, 1);
  for (let j = 0; j < maxIds; j++) out[j] = BigInt(ids[j] as number);
}

/** Ids for embedding-bag models: bucket + 1 (0 is the padding row), truncated/zero-padded. */
export function toIds(buckets: Int32Array, maxIds: number): BigInt64Array {
  const out = new BigInt64Array(maxIds);
  writeIdsInt64(buckets, buckets.length, maxIds, out);
  return out;
}

/** featurizeInto; `zeroed` says the row is known to be all zeros (a fresh one). */
function writeRow(text: string, spec: HashedNgramFeaturizer, out: Float32Array | BigInt64Array, zeroed: boolean): void {
  checkSpec(spec);
  checkText(text);
  if (spec.output === 'ids') {
    const maxIds = spec.maxIds;
    if (maxIds === undefined) throw new ChorusError('invalid_manifest', "featurizer output 'ids' needs maxIds");
    if (!(out instanceof BigInt64Array) || out.length !== maxIds) {
      throw new ChorusError('invalid_argument', `ids row must be a BigInt64Array of ${maxIds}`);
    }
    const ids = fillBuckets(text, spec);
    writeIdsInt64(ids, ids.length, maxIds, out);
    return;
  }
  if (!(out instanceof Float32Array) || out.length !== spec.buckets) {
    throw new ChorusError('invalid_argument', `feature row must be a Float32Array of ${spec.buckets}`);
  }
  const grams = fillBuckets(text, spec);
  const n = grams.length;
  if (!zeroed) out.fill(0);
  if (spec.output === 'counts') {
    for (let i = 0; i < n; i++) {
      const b = grams[i] as number;
      out[b] = (out[b] as number) + 1;
    }
    return;
  }
  // log-l2: count, noting each bucket the first time it is seen, then normalise in
  // increasing bucket order.
  if (n > distinctScratch.length) distinctScratch = new Int32Array(Math.max(n, distinctScratch.length * 2));
  let distinct = 0;
  for (let i = 0; i < n; i++) {
    const b = grams[i] as number;
    const c = out[b] as number;
    if (c === 0) distinctScratch[distinct++] = b;
    out[b] = c + 1;
  }
  logL2(out, distinct, distinctScratch.subarray(0, distinct).sort());
}

/**
 * Writes the feature row of one text into `out`, which the caller owns (e.g. a row of a batch
 * tensor): a Float32Array of `spec.buckets` for `counts`/`log-l2`, a BigInt64Array of
 * `spec.maxIds` for `ids`. The same values as `featurizeText`, without allocating the row.
 */
export function featurizeInto(text: string, spec: HashedNgramFeaturizer, out: Float32Array | BigInt64Array): void {
  writeRow(text, spec, out, false);
}

/**
 * The rows of several texts stacked into one batch tensor's data ([texts.length, width]), each
 * written straight into its slice of one fresh array: no row of its own, no copy.
 */
export function featurizeRows(texts: readonly string[], spec: HashedNgramFeaturizer): Float32Array | BigInt64Array {
  checkSpec(spec);
  if (spec.output === 'ids') {
    const width = spec.maxIds;
    if (width === undefined) throw new ChorusError('invalid_manifest', "featurizer output 'ids' needs maxIds");
    const out = new BigInt64Array(texts.length * width);
    texts.forEach((text, i) => {
      writeRow(text, spec, out.subarray(i * width, (i + 1) * width), true);
    });
    return out;
  }
  const width = spec.buckets;
  const out = new Float32Array(texts.length * width);
  texts.forEach((text, i) => {
    writeRow(text, spec, out.subarray(i * width, (i + 1) * width), true);
  });
  return out;
}

/** Feature row of one text for a hashed featurizer, in the form the model's input expects. */
export function featurizeText(text: string, spec: HashedNgramFeaturizer): Float32Array | BigInt64Array {
  checkSpec(spec);
  if (spec.output === 'ids') {
    if (spec.maxIds === undefined) throw new ChorusError('invalid_manifest', "featurizer output 'ids' needs maxIds");
    const row = new BigInt64Array(spec.maxIds);
    writeRow(text, spec, row, true);
    return row;
  }
  const row = new Float32Array(spec.buckets);
  writeRow(text, spec, row, true);
  return row;
}
