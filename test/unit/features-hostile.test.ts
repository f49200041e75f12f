/**
 * Hostile e-mails (test/bench/featurize.ts builds them; the bench times them): for each class,
 * the outcome at 100 KB and at 1 MiB — the text it reduces to, or the ChorusError naming the
 * cap it exceeds — and, without a clock, the work done: characters examined by our scanners,
 * counted through String.prototype, grow linearly with the input.
 */
import { describe, expect, it } from 'vitest';
import { ChorusError } from '../../lib/errors';
import {
  EMAIL_LIMITS,
  type EmailLimit,
  type EmailViews,
  featurizeText,
  hashedBuckets,
  htmlToText,
  murmur3String,
  normalizeText,
  parseEmail,
} from '../../lib/features';
import { ZOO } from '../../models/zoo';
import { featurizeMessage, fill, HOSTILE_CLASSES, KB100, MIB1 } from '../bench/featurize';

const SIZES = [KB100, MIB1] as const;
const bodyWords = ZOO.find((m) => m.id === 'body-logreg')?.featurizer;
const bodyChars = ZOO.find((m) => m.id === 'body-chars-fasttext')?.featurizer;
if (!bodyWords || !bodyChars) throw new Error('zoo changed: body-logreg / body-chars-fasttext missing');

function make(name: string, size: number): string {
  const c = HOSTILE_CLASSES.find((h) => h.name === name);
  if (!c) throw new Error(`no hostile class ${name}`);
  return c.make(size);
}

/** The body of a single-part message: everything after the header block. */
const content = (raw: string): string => raw.slice(raw.indexOf('\r\n\r\n') + 4);
/** The same as postal-mime hands it over: it ends the last line with a newline. */
const decoded = (raw: string): string => `${content(raw)}\n`;

const clip = (s: string, max: number): string => s.slice(0, max);

/** toBe for long strings: on a mismatch, shows where (a diff of two 1 MiB strings takes minutes). */
function expectSameText(got: string, want: string): void {
  if (got === want) return;
  let i = 0;
  while (i < got.length && got[i] === want[i]) i++;
  expect({ at: i, length: got.length, got: got.slice(i, i + 40) }).toEqual({
    at: i,
    length: want.length,
    got: want.slice(i, i + 40),
  });
}

/** What parseEmail does to the HTML of an HTML-only message, given how `transform` reduces it. */
function expectedHtmlBody(raw: string, transform: (html: string) => string): string {
  return clip(transform(clip(decoded(raw), EMAIL_LIMITS.maxHtmlChars)), EMAIL_LIMITS.maxViewChars);
}

async function rejection(raw: string): Promise<{ limit: EmailLimit; max: number } | 'accepted'> {
  try {
    await parseEmail(raw);
    return 'accepted';
  } catch (e) {
    expect(e).toBeInstanceOf(ChorusError);
    expect((e as ChorusError).code).toBe('invalid_input');
    return (e as ChorusError).details as { limit: EmailLimit; max: number };
  }
}

/**
 * Work done by `fn`, deterministically: characters examined by String.prototype.indexOf (from
 * where it starts to where it stops), charCodeAt calls, and characters given to normalize —
 * every way the featurizer's own scanners (HTML passes, tokenizer, prefix normalisation, UTF-8
 * encoder) look at text. Slices and joins only copy what they output.
 */
function countWork(fn: () => void): number {
  const proto = String.prototype as unknown as Record<'indexOf' | 'charCodeAt' | 'normalize', unknown>;
  const { indexOf, charCodeAt, normalize } = String.prototype;
  let work = 0;
  proto.indexOf = function (this: string, search: string, from?: number): number {
    const start = Math.max(0, Math.min(from ?? 0, this.length));
    const found = indexOf.call(this, search, start);
    work += (found < 0 ? this.length : found + search.length) - start;
    return found;
  };
  proto.charCodeAt = function (this: string, i: number): number {
    work++;
    return charCodeAt.call(this, i);
  };
  proto.normalize = function (this: string, form?: string): string {
    work += this.length;
    return normalize.call(this, form);
  };
  try {
    fn();
  } finally {
    proto.indexOf = indexOf;
    proto.charCodeAt = charCodeAt;
    proto.normalize = normalize;
  }
  return work;
}

/** Work at 100 KB and 1 MiB: at most `perChar` per input character, and growing no faster than the input. */
function expectLinear(work: (size: number) => number, perChar = 12): void {
  const [small, large] = SIZES.map(work) as [number, number];
  expect(small).toBeGreaterThan(0);
  expect(small).toBeLessThanOrEqual(perChar * KB100);
  expect(large).toBeLessThanOrEqual(perChar * MIB1);
  // 1 MiB / 100 KB = 10.24; quadratic work would be ~100. (A fixed head start, such as the
  // first prefix normalizePrefix tries, lifts the ratio a little above 10.24.)
  expect(large / small).toBeLessThanOrEqual(12);
}

describe('EMAIL_LIMITS', () => {
  it('is one frozen object of positive integers', () => {
    expect(Object.isFrozen(EMAIL_LIMITS)).toBe(true);
    for (const v of Object.values(EMAIL_LIMITS)) expect(Number.isInteger(v) && v > 0).toBe(true);
    expect(() => {
      (EMAIL_LIMITS as { maxParts: number }).maxParts = 1e9;
    }).toThrow(TypeError);
  });
});

describe('hostile HTML reduces to text, in linear work', () => {
  const cases: [string, (html: string) => string][] = [
    // nothing closes, so nothing is removed (what the regexes did, minus the rescans)
    ['unclosed <!--', (h) => h],
    ['unclosed <!-- with text', (h) => h],
    ['unclosed <style', (h) => h],
    ['< without >', (h) => h],
    ['entity runs', (h) => h],
    // every opener stays, then goes as a tag
    ['unclosed <script', (h) => h.replaceAll('<script>', ' ')],
    ['</ without >', (h) => ` ${h.slice('<style>'.length)}`],
    ['nested tags', (h) => h.replaceAll('</div>', '\n').replaceAll('<div>', ' ')],
  ];
  for (const [name, transform] of cases) {
    it(name, async () => {
      for (const size of SIZES) {
        const raw = make(name, size);
        const views = await parseEmail(raw);
        expectSameText(views.body, expectedHtmlBody(raw, transform));
        if (size === MIB1 && name !== 'nested tags' && name !== 'unclosed <script') {
          expect(views.body.length).toBe(EMAIL_LIMITS.maxViewChars);
        }
        expect(views.urls).toBe('');
        expect(await featurizeMessage(raw)).toBe('ok');
      }
      expectLinear((size) => countWork(() => htmlToText(content(make(name, size)))));
    });
  }

  it('html beside a text part is reduced by our linear htmlToText, not by postal-mime', async () => {
    for (const size of SIZES) {
      const raw = make('html+text, hostile html', size);
      const views = await parseEmail(raw);
      const html = raw.slice(
        raw.lastIndexOf('text/html\r\n\r\n') + 'text/html\r\n\r\n'.length,
        raw.lastIndexOf('\r\n--b--'),
      );
      // postal-mime keeps the text part's line end and joins the parts with a newline
      expectSameText(views.body, `hello\n\n${htmlToText(`${html}\n`)}`.slice(0, EMAIL_LIMITS.maxViewChars));
    }
    // The same reduction as an HTML-only message gets: a link keeps its text, not postal-mime's "(href)".
    const page = '<p>Click <a href="http://x.example/a">here</a> &amp; win</p>';
    const mixed = (type: string) =>
      `Content-Type: ${type}; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b\r\nContent-Type: text/html\r\n\r\n${page}\r\n--b--\r\n`;
    const body = (await parseEmail(mixed('multipart/mixed'))).body;
    expect(body).toBe(`hi\n\n${htmlToText(`${page}\n`)}`);
    expect(body).toContain('Click  here  & win');
    expect(body).not.toContain('(http://x.example/a)');
    expect((await parseEmail(mixed('multipart/alternative'))).body).toBe('hi\n');
  });

  it('1 MiB of each hostile opener reduces at once (the old regexes took minutes)', () => {
    for (const unit of ['<!--', '<script', '<style ', '<', '</style', '<br ', '&#x', '&a']) {
      const html = fill(unit, MIB1);
      expectSameText(htmlToText(html), html);
    }
    // every whole <p> is a tag; the cut one at the end is a < without >
    expectSameText(htmlToText(fill('<p>', MIB1)), `${' '.repeat(Math.floor(MIB1 / 3))}<`);
  });
});

describe('hostile text and URLs', () => {
  it('a URL-like run is one URL, parsed only up to maxUrlChars: the urls view does not grow', async () => {
    for (const name of ['URL-like run', 'URL, non-ASCII labels', 'www. run']) {
      const [small, large] = await Promise.all(SIZES.map(async (size) => (await parseEmail(make(name, size))).urls));
      expect(small).toMatch(/^urlcount:1 host:(xn--a-9fa|a|www)\./);
      expect(large).toBe(small);
      expect(small?.length).toBeLessThan(EMAIL_LIMITS.maxUrlChars * 4);
    }
  });

  it('many long URLs: the first maxUrls are read, the view is cut at maxViewChars', async () => {
    for (const size of SIZES) {
      const views = await parseEmail(make('many URLs, non-ASCII', size));
      expect(views.urls.startsWith('urlcount:20 host:xn--a-9fa.xn--a-9fa.')).toBe(true);
      expect(views.urls.length).toBe(EMAIL_LIMITS.maxViewChars);
    }
  });

  it('a very long token is one token of 40 characters', async () => {
    for (const [name, unit] of [
      ['one long token', 'a'],
      ['long dotted token', 'a.'],
    ] as const) {
      for (const size of SIZES) {
        const { body } = await parseEmail(make(name, size));
        expect(body.length).toBe(size === MIB1 ? EMAIL_LIMITS.maxViewChars : decoded(make(name, size)).length);
        const token = fill(unit, 40);
        expect(Array.from(hashedBuckets(body, bodyWords))).toEqual([
          murmur3String(token, bodyWords.seed) % bodyWords.buckets,
        ]);
      }
      expectLinear((size) => countWork(() => hashedBuckets(content(make(name, size)), bodyWords)));
    }
  });

  it('a whitespace run normalises to one space; the view cut drops what lies beyond it', async () => {
    const h = (t: string) => murmur3String(t, bodyWords.seed) % bodyWords.buckets;
    const small = await parseEmail(make('whitespace run', KB100));
    expect(Array.from(hashedBuckets(small.body, bodyWords))).toEqual([h('a'), h('b'), h('a b')]);
    const large = await parseEmail(make('whitespace run', MIB1));
    expect(Array.from(hashedBuckets(large.body, bodyWords))).toEqual([h('a')]);
    expectLinear((size) => countWork(() => hashedBuckets(content(make('whitespace run', size)), bodyWords)));
  });

  it('combining marks: only the prefix the char n-grams need is normalised', async () => {
    for (const size of SIZES) {
      const { body } = await parseEmail(make('combining marks', size));
      expect(normalizeText(body.slice(0, 6))).toBe('\u1eb9\u0301\u1eb9\u0301');
      const ids = featurizeText(body, bodyChars) as BigInt64Array;
      // 2,000 code points give 1998 + 1997 + 1996 n-grams of 3..5; the rest is padding
      expect(ids.indexOf(0n)).toBe(5991);
    }
    // no whitespace to cut at: the whole view is normalised, once
    expectLinear((size) => countWork(() => featurizeText(content(make('combining marks', size)), bodyChars)));
  });

  it('lines: long ones are text, short ones count against maxLines', async () => {
    for (const size of SIZES) {
      const views = await parseEmail(make('long lines', size));
      expect(views.body.startsWith('word word')).toBe(true);
      expect(views.body.length).toBe(Math.min(views.body.length, EMAIL_LIMITS.maxViewChars));
      expect((await parseEmail(make('short lines up to the cap', size))).body.startsWith('x\nx\n')).toBe(true);
    }
  });
});

describe('structural caps reject the message with the cap that was exceeded', () => {
  const cases: [string, EmailLimit][] = [
    ['short lines', 'maxLines'],
    ['deep multipart (100 levels)', 'maxDepth'],
    ['deep multipart (all levels)', 'maxParts'],
    ['many headers', 'maxHeaders'],
    ['one huge header', 'maxHeaderBytes'],
    ['encoded words', 'maxHeaderBytes'],
    ['many parts', 'maxParts'],
    ['forwarded, encoded lines', 'maxLines'],
  ];
  for (const [name, limit] of cases) {
    it(`${name}: ${limit}`, async () => {
      for (const size of SIZES) {
        expect(await rejection(make(name, size))).toEqual({ limit, max: EMAIL_LIMITS[limit] });
      }
    });
  }

  it('every hostile class has its outcome pinned here', () => {
    const covered = new Set([
      ...cases.map(([n]) => n),
      'unclosed <!--',
      'unclosed <!-- with text',
      'unclosed <style',
      '< without >',
      'entity runs',
      'unclosed <script',
      '</ without >',
      'nested tags',
      'html+text, hostile html',
      'URL-like run',
      'URL, non-ASCII labels',
      'www. run',
      'many URLs, non-ASCII',
      'one long token',
      'long dotted token',
      'whitespace run',
      'combining marks',
      'long lines',
      'short lines up to the cap',
    ]);
    expect(HOSTILE_CLASSES.map((c) => c.name).filter((n) => !covered.has(n))).toEqual([]);
  });

  it('just under the caps parses', async () => {
    const headers = fill('X-A: b\r\n', (EMAIL_LIMITS.maxHeaders - 1) * 8);
    expect(await rejection(`${headers}\r\nbody\r\n`)).toBe('accepted');
    const parts = fill('--b\r\n\r\nx\r\n', (EMAIL_LIMITS.maxParts - 1) * 10);
    expect(await rejection(`Content-Type: multipart/mixed; boundary=b\r\n\r\n${parts}`)).toBe('accepted');
  });
});

describe('forwarded messages (inline message/rfc822)', () => {
  const b64 = (s: string) => Buffer.from(s).toString('base64').replace(/.{76}/g, '$&\r\n');
  const forward = (inner: string, encoding: 'base64' | '7bit' = 'base64') =>
    [
      'Subject: fwd',
      'Content-Type: multipart/mixed; boundary=outer',
      '',
      '--outer',
      'Content-Type: text/plain',
      '',
      'see below',
      '--outer',
      'Content-Type: message/rfc822',
      `Content-Transfer-Encoding: ${encoding}`,
      '',
      encoding === 'base64' ? b64(inner) : inner,
      '--outer--',
      '',
    ].join('\r\n');

  it('are parsed one level deep and their text joins the body', async () => {
    const inner = 'Subject: inner\r\nContent-Type: text/plain\r\n\r\nforwarded words\r\n';
    const views = await parseEmail(forward(inner));
    expect(views.body).toContain('see below');
    expect(views.body).toContain('forwarded words');
    // a forward inside the forward stays an attachment: parsing does not recurse further
    const twice = await parseEmail(forward(forward(inner, '7bit')));
    expect(twice.body).toContain('see below');
  });

  it('are checked against the caps after decoding', async () => {
    const manyParts = `Content-Type: multipart/mixed; boundary=p\r\n\r\n${fill('--p\r\n\r\nx\r\n', 20_000)}`;
    expect(await rejection(forward(manyParts))).toEqual({ limit: 'maxParts', max: EMAIL_LIMITS.maxParts });
    const manyHeaders = `${fill('X-A: b\r\n', 12_000)}\r\nbody\r\n`;
    expect(await rejection(forward(manyHeaders))).toEqual({ limit: 'maxHeaders', max: EMAIL_LIMITS.maxHeaders });
  });
});

describe('views are capped', () => {
  it('a long subject is cut at maxViewChars in every view', async () => {
    const raw = `Subject: ${fill('spam ', 60_000)}\r\n\r\n${fill('body ', 400_000)}`;
    const views: EmailViews = await parseEmail(raw);
    for (const v of Object.values(views)) expect(v.length).toBeLessThanOrEqual(EMAIL_LIMITS.maxViewChars);
    expect(views.body.length).toBe(EMAIL_LIMITS.maxViewChars);
    expect(views.all.length).toBe(EMAIL_LIMITS.maxViewChars);
  });
});
