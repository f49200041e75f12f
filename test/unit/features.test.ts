import { describe, expect, it } from 'vitest';
import {
  extractUrls,
  featurizeRows,
  featurizeSparseRows,
  featurizeText,
  hashedBuckets,
  htmlToText,
  murmur3,
  murmur3String,
  normalizeText,
  parseEmail,
  sparseFeatures,
  wordTokens,
} from '../../lib/features';
import type { HashedNgramFeaturizer } from '../../lib/schema';

const words: HashedNgramFeaturizer = {
  kind: 'hashed-ngrams',
  field: 'message',
  view: 'body',
  unit: 'word',
  ngram: [1, 2],
  buckets: 1024,
  seed: 42,
  maxLength: 100,
  output: 'log-l2',
};
const chars: HashedNgramFeaturizer = { ...words, unit: 'char', ngram: [3, 4], output: 'ids', maxIds: 64 };

describe('murmur3 (x86, 32-bit)', () => {
  it('matches the reference implementation on published vectors', () => {
    expect(murmur3String('', 0)).toBe(0);
    expect(murmur3String('', 1)).toBe(0x514e28b7);
    expect(murmur3String('', 0xffffffff)).toBe(0x81f16f39);
    expect(murmur3String('hello', 0)).toBe(0x248bfa47);
    expect(murmur3String('Hello, world!', 1234)).toBe(0xfaf6cdb3);
    expect(murmur3String('The quick brown fox jumps over the lazy dog', 0)).toBe(0x2e4ff723);
  });

  it('hashes a byte range the same as the bytes alone', () => {
    const bytes = new TextEncoder().encode('xxabcdefyy');
    expect(murmur3(bytes, 7, 2, 8)).toBe(murmur3String('abcdef', 7));
  });
});

describe('hashed n-gram featurizers', () => {
  const text = 'FREE money!!! Visit www.example.com now — café naïve ｆｕｌｌｗｉｄｔｈ';

  it('are deterministic and pinned: the same text gives the same buckets in every runtime', () => {
    const a = hashedBuckets(text, words);
    expect(Array.from(hashedBuckets(text, words))).toEqual(Array.from(a));
    // Pinned so any change to hashing or tokenisation (a train/serve skew) fails loudly.
    expect(Array.from(a.slice(0, 8))).toMatchInlineSnapshot(`
      [
        193,
        567,
        604,
        604,
        604,
        602,
        310,
        282,
      ]
    `);
  });

  it('word n-grams hash the tokens joined by one space', () => {
    const spec = { ...words, ngram: [2, 2] as [number, number] };
    expect(Array.from(hashedBuckets('Hello  World', spec))).toEqual([murmur3String('hello world', 42) % 1024]);
  });

  it('char n-grams hash each n-gram of the normalised text (multi-byte characters included)', () => {
    const spec = { ...chars, ngram: [3, 3] as [number, number] };
    const got = Array.from(hashedBuckets('Café!', spec));
    const expected = ['caf', 'afé', 'fé!'].map((g) => murmur3String(g, 42) % 1024);
    expect(got).toEqual(expected);
  });

  it('normalises compatibility forms and case, so look-alike text hashes the same', () => {
    expect(normalizeText('ＦＲＥＥ  Money')).toBe('free money');
    expect(Array.from(hashedBuckets('ＦＲＥＥ money', words))).toEqual(Array.from(hashedBuckets('free MONEY', words)));
  });

  it('log-l2 rows have unit norm; counts rows count', () => {
    const v = sparseFeatures(hashedBuckets('a a a b', words), words);
    const norm = Math.sqrt(v.values.reduce((s, x) => s + x * x, 0));
    expect(norm).toBeCloseTo(1, 6);
    const c = sparseFeatures(Int32Array.from([5, 3, 5, 5]), { ...words, output: 'counts' });
    expect(Array.from(c.indices)).toEqual([3, 5]);
    expect(Array.from(c.values)).toEqual([1, 3]);
  });

  it('ids are bucket + 1, zero-padded to maxIds', () => {
    const ids = featurizeText('abcd', { ...chars, ngram: [3, 3] });
    expect(ids).toBeInstanceOf(BigInt64Array);
    expect(ids.length).toBe(64);
    expect(ids[0]).toBe(BigInt((murmur3String('abc', 42) % 1024) + 1));
    expect(ids[2]).toBe(0n);
  });

  it('tokenises words, dotted names, prices and spam symbols', () => {
    expect(wordTokens(normalizeText('Win $1,000.50 at Example.COM!!'), 50)).toEqual([
      'win',
      '$',
      '1',
      '000.50',
      'at',
      'example.com',
      '!',
      '!',
    ]);
  });

  it('with ideographs split, Chinese and Japanese give one word per ideograph or hiragana', () => {
    // 免费 = "free", 発送します = "will ship": a run without spaces is a sentence, not one word
    const text = normalizeText('免费 offer: 今すぐ発送します, カタカナ 100元!');
    expect(wordTokens(text, 50)).toEqual(['免费', 'offer', '今すぐ発送します', 'カタカナ', '100元', '!']);
    expect(wordTokens(text, 50, true)).toEqual([
      ...['免', '费', 'offer', '今', 'す', 'ぐ', '発', '送', 'し', 'ま', 'す'],
      // katakana stays a run (as in UAX #29); a digit run stops before an ideograph
      ...['カタカナ', '100', '元', '!'],
    ]);
    // astral ideographs (CJK extension B) too, and a separator does not join across one
    expect(wordTokens('𠀀𠀁 a.𠀂', 10, true)).toEqual(['𠀀', '𠀁', 'a', '𠀂']);
    // word 1-2 grams over split ideographs are characters and character bigrams
    const spec = { ...words, ideographs: 'split' as const };
    const grams = ['免', '费', '券', '免 费', '费 券'].map((g) => murmur3String(g, 42) % 1024);
    expect(Array.from(hashedBuckets('免费券', spec)).sort()).toEqual(grams.sort());
    expect(Array.from(hashedBuckets('免费券', words))).toEqual([murmur3String('免费券', 42) % 1024]);
  });

  it('sparse rows hold the dense rows non-zeros, padded with (id 0, value 0) to the longest row', () => {
    const texts = ['free money free', '', 'a much longer message about money and more money'];
    for (const output of ['counts', 'log-l2'] as const) {
      const spec = { ...words, output, layout: 'sparse' as const };
      const { ids, values, width } = featurizeSparseRows(texts, spec);
      const dense = featurizeRows(texts, { ...spec, layout: 'dense' }) as Float32Array;
      expect(ids.length).toBe(texts.length * width);
      texts.forEach((_, i) => {
        const row = new Float32Array(words.buckets);
        for (let j = 0; j < width; j++) {
          const b = Number(ids[i * width + j]);
          row[b] = (row[b] as number) + (values[i * width + j] as number);
        }
        expect(row).toEqual(dense.subarray(i * words.buckets, (i + 1) * words.buckets));
      });
      // the empty text is all padding; the longest row sets the width and has no padding
      expect(Array.from(values.subarray(width, 2 * width)).every((v) => v === 0)).toBe(true);
      expect(Array.from(values.subarray(2 * width, 3 * width)).every((v) => v > 0)).toBe(true);
    }
    expect(featurizeSparseRows([''], { ...words, layout: 'sparse' }).width).toBe(1);
  });

  it('splitting ideographs changes nothing in text without them', () => {
    const text = normalizeText('Win $1,000.50 at Example.COM!! Ünïcödé wörds, ελληνικά, русский, 한국어 텍스트');
    expect(wordTokens(text, 100, true)).toEqual(wordTokens(text, 100));
    const spec = { ...words, ideographs: 'split' as const };
    expect(Array.from(hashedBuckets(text, spec))).toEqual(Array.from(hashedBuckets(text, words)));
  });
});

describe('e-mail views', () => {
  const raw = [
    'From: "Promo Team" <deals@promo.example>',
    'To: a@x.test, b@x.test',
    'Subject: Cheap meds',
    'MIME-Version: 1.0',
    'Content-Type: multipart/alternative; boundary="b1"',
    '',
    '--b1',
    'Content-Type: text/html; charset=utf-8',
    '',
    '<html><style>p{}</style><p>Buy&nbsp;now at <a href="http://203.0.113.5:8080/buy?x=1">here</a></p></html>',
    '--b1--',
    '',
  ].join('\r\n');

  it('parses the subject and sender name (not collection markers), body text from HTML, and URLs', async () => {
    const v = await parseEmail(raw);
    expect(v['subject+headers']).toContain('Cheap meds');
    expect(v['subject+headers']).not.toContain('fromdomain:');
    expect(v['subject+headers']).not.toContain('html:');
    expect(v['subject+headers']).not.toContain('ctype:');
    expect(v.body).toContain('Buy now at');
    expect(v.body).not.toContain('<p>');
    expect(v.urls).toContain('host:203.0.113.5');
    expect(v.urls).toContain('iphost');
    expect(v.urls).toContain('hasport');
  });

  it('a message without URLs has an empty URL view (a member reading it abstains)', async () => {
    const v = await parseEmail('Subject: hi\r\n\r\nplain text only\r\n');
    expect(v.urls).toBe('');
    expect(v.body.trim()).toBe('plain text only');
  });

  it('htmlToText and extractUrls handle entities and bare www links', () => {
    expect(htmlToText('a&amp;b &#65;&#x42;<br>c')).toBe('a&b AB\nc');
    expect(extractUrls('see www.example.org/x and https://a.test/y.')).toEqual([
      'www.example.org/x',
      'https://a.test/y.',
    ]);
  });
});

describe('featurizer bad input', () => {
  it('raises typed errors for invalid specs and non-text input', async () => {
    const { ChorusError } = await import('../../lib/errors');
    expect(() => hashedBuckets('x', { ...words, buckets: 0 })).toThrow(ChorusError);
    expect(() => hashedBuckets('x', { ...words, buckets: 0 })).toThrow(/buckets/);
    expect(() => hashedBuckets('x', { ...words, ngram: [3, 1] })).toThrow(/ngram/);
    expect(() => featurizeText('x', { ...chars, maxIds: undefined })).toThrow(/maxIds/);
    expect(() => hashedBuckets(42 as unknown as string, words)).toThrow(/must be a string/);
  });
});
