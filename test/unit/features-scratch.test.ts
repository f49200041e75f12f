/**
 * The hashed featurizers keep their n-gram buckets in a module-level scratch buffer that grows to
 * the largest message seen. The message that makes it grow must be featurized from its own
 * n-grams, not from what the previous message left in the old buffer. Its own file: vitest gives
 * each file a fresh module, so the buffer starts at its initial size here and every call below
 * grows it (a test that found it already grown could not fail). Each test imports lib/features
 * afresh, so every test starts from the initial buffer.
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { HashedNgramFeaturizer } from '../../lib/schema';
import { legacyFeaturizeText, legacyHashedBuckets, legacySparseFeatures } from './features-legacy';

const spec = (output: HashedNgramFeaturizer['output'], extra: Partial<HashedNgramFeaturizer> = {}) =>
  ({
    kind: 'hashed-ngrams',
    field: 'body',
    unit: 'word',
    ngram: [1, 2],
    buckets: 4096,
    seed: 7,
    maxLength: 1_000_000,
    output,
    ...extra,
  }) as HashedNgramFeaturizer;

/** `words` distinct-ish words: 2 × words − 1 word 1–2-grams. */
const text = (words: number, salt: string) =>
  Array.from({ length: words }, (_, i) => `${salt}${i % 997}x${Math.floor(i / 997)}`).join(' ');

// Each size makes more n-grams than the buffer the one before it left (initially 16,384).
const SIZES = [9_000, 40_000, 170_000];

type Features = typeof import('../../lib/features');
let features: Features;
beforeEach(async () => {
  vi.resetModules();
  features = await import('../../lib/features');
});

describe('a message that outgrows the featurizer scratch', () => {
  it('hashedBuckets returns its own n-grams', () => {
    const s = spec('counts');
    features.hashedBuckets(text(100, 'warm'), s); // leaves its buckets at the start of the buffer
    for (const words of SIZES) {
      const t = text(words, `b${words}`);
      expect(features.hashedBuckets(t, s)).toEqual(legacyHashedBuckets(t, s));
    }
  });

  it('dense counts and log-l2 rows count every n-gram of the message', () => {
    for (const output of ['counts', 'log-l2'] as const) {
      const s = spec(output, { seed: output === 'counts' ? 11 : 13 });
      for (const words of SIZES) {
        const t = text(words, `${output}${words}`);
        const row = features.featurizeText(t, s) as Float32Array;
        expect(row).toEqual(legacyFeaturizeText(t, s));
        if (output === 'counts') expect(row.reduce((a, v) => a + v, 0)).toBe(2 * words - 1);
      }
    }
  });

  it('sparse rows equal the dense row of the same message', () => {
    const s = spec('log-l2', { seed: 17, layout: 'sparse' });
    for (const words of SIZES) {
      const t = text(words, `sparse${words}`);
      const { ids, values, width } = features.featurizeSparseRows([t], s);
      const expected = legacySparseFeatures(legacyHashedBuckets(t, s), s);
      expect(width).toBe(expected.indices.length);
      expect(Array.from(ids, Number)).toEqual(Array.from(expected.indices));
      expect(values).toEqual(Float32Array.from(expected.values));
      expect(features.toDense({ indices: Int32Array.from(ids, Number), values }, s.buckets)).toEqual(
        legacyFeaturizeText(t, s),
      );
    }
  });

  it('embedding-bag ids come from the message itself', () => {
    const s = spec('ids', { unit: 'char', ngram: [3, 5], maxIds: 100_000, seed: 19, buckets: 65536 });
    for (const chars of [6_000, 20_000, 80_000]) {
      const t = 'abcdefghij'.repeat(chars / 10).replace(/j/g, () => String.fromCharCode(97 + (chars % 26)));
      expect(features.featurizeText(t, s)).toEqual(legacyFeaturizeText(t, s));
    }
  });
});
