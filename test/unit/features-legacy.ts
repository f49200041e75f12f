/**
 * Frozen copies of the featurizer as it was before the linear-time parser and the
 * zero-allocation hasher (text.ts, email.ts and hashed.ts at commit 381952d). The parity
 * tests run these against lib/features on the real corpus; nothing in lib imports them.
 * Do not "fix" them: they are the reference the zoo was trained with.
 */
import PostalMime from 'postal-mime';
import { murmur3 } from '../../lib/features/hash';
import type { HashedNgramFeaturizer } from '../../lib/schema';

export interface LegacySparseVector {
  indices: Int32Array;
  values: Float32Array;
}

export function legacyNormalizeText(text: string): string {
  return text.normalize('NFKC').toLowerCase().replace(/\s+/gu, ' ').trim();
}

const TOKEN = /[\p{L}\p{N}]+(?:[.:'-][\p{L}\p{N}]+)*|[$!€£%]/gu;
/** With `ideographs: 'split'`: an ideograph or hiragana alone, else TOKEN over the other letters and digits. */
// biome-ignore lint/complexity/useRegexLiterals: the v flag (set subtraction) is ES2024, past the tests' compile target
const TOKEN_SPLIT = new RegExp(
  String.raw`[\p{Ideographic}\p{Script=Hiragana}]|[[\p{L}\p{N}]--[\p{Ideographic}\p{Script=Hiragana}]]+(?:[.:'\-][[\p{L}\p{N}]--[\p{Ideographic}\p{Script=Hiragana}]]+)*|[$!€£%]`,
  'gv',
);
const MAX_TOKEN_CHARS = 40;

export function legacyWordTokens(normalized: string, maxTokens: number, splitIdeographs = false): string[] {
  const out: string[] = [];
  for (const match of normalized.matchAll(splitIdeographs ? TOKEN_SPLIT : TOKEN)) {
    if (out.length >= maxTokens) break;
    const t = match[0];
    out.push(t.length > MAX_TOKEN_CHARS ? t.slice(0, MAX_TOKEN_CHARS) : t);
  }
  return out;
}

const ENTITIES: Record<string, string> = { nbsp: ' ', amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** Quadratic on unclosed `<!--`, `<script` and `<` — only ever feed it ordinary or small input. */
export function legacyHtmlToText(html: string): string {
  return html
    .replace(/<!--[\s\S]*?-->/g, ' ')
    .replace(/<(style|script)\b[\s\S]*?<\/\1\s*>/gi, ' ')
    .replace(/<br\s*\/?>|<\/p>|<\/div>|<\/tr>/gi, '\n')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (whole, name: string) => {
      if (name[0] === '#') {
        const code =
          name[1] === 'x' || name[1] === 'X' ? Number.parseInt(name.slice(2), 16) : Number.parseInt(name.slice(1), 10);
        return Number.isFinite(code) && code > 0 && code < 0x110000 ? String.fromCodePoint(code) : ' ';
      }
      return ENTITIES[name.toLowerCase()] ?? whole;
    });
}

const URL_RE = /\b(?:https?:\/\/|www\.)[^\s"'<>()]+/giu;

export function legacyExtractUrls(text: string, limit = 200): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(URL_RE)) {
    if (out.length >= limit) break;
    out.push(m[0]);
  }
  return out;
}

function urlView(urls: string[]): string {
  if (urls.length === 0) return '';
  const parts: string[] = [`urlcount:${Math.min(urls.length, 20)}`];
  for (const raw of urls) {
    const withScheme = raw.startsWith('www.') ? `http://${raw}` : raw;
    try {
      const u = new URL(withScheme);
      const host = u.hostname.toLowerCase();
      const labels = host.split('.');
      parts.push(`host:${host}`, `tld:${labels[labels.length - 1] ?? ''}`);
      if (/^\d+\.\d+\.\d+\.\d+$/.test(host)) parts.push('iphost');
      if (u.port) parts.push('hasport');
      for (const seg of u.pathname.split('/')) if (seg) parts.push(seg.toLowerCase());
      if (u.search) parts.push('hasquery');
    } catch {
      parts.push('badurl');
    }
  }
  return parts.join(' ');
}

export type LegacyViews = Record<'subject+headers' | 'body' | 'urls' | 'all', string>;

export async function legacyParseEmail(raw: string): Promise<LegacyViews> {
  const mail = await PostalMime.parse(raw);
  const html = mail.html ?? '';
  const body = mail.text && mail.text.trim().length > 0 ? mail.text : legacyHtmlToText(html);
  // the views' definition as it stands (subject and sender name only); the parser is what is legacy here
  const headerTokens = [mail.subject ?? '', mail.from?.name ?? ''].map((t) => t.trim()).filter((t) => t.length > 0);
  const urls = legacyExtractUrls(`${mail.text ?? ''}\n${html}`);
  const views = { 'subject+headers': headerTokens.join(' '), body, urls: urlView(urls) };
  return { ...views, all: `${views['subject+headers']}\n${views.urls}\n${body}` };
}

const MAX_TOKEN_BYTES = MAX_TOKEN_CHARS * 4;
const encoder = new TextEncoder();

export function legacyHashedBuckets(text: string, spec: HashedNgramFeaturizer): Int32Array {
  const normalized = legacyNormalizeText(text);
  const [lo, hi] = spec.ngram;
  const out: number[] = [];
  if (spec.unit === 'char') {
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
    const tokens = legacyWordTokens(normalized, spec.maxLength, spec.ideographs === 'split').map((t) =>
      encoder.encode(t),
    );
    const scratch = new Uint8Array(MAX_TOKEN_BYTES * hi + hi);
    for (let n = lo; n <= hi; n++) {
      for (let i = 0; i + n <= tokens.length; i++) {
        let len = 0;
        for (let j = 0; j < n; j++) {
          if (j > 0) scratch[len++] = 0x20;
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

export function legacySparseFeatures(buckets: Int32Array, spec: HashedNgramFeaturizer): LegacySparseVector {
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

export function legacyToDense(v: LegacySparseVector, size: number): Float32Array {
  const out = new Float32Array(size);
  for (let i = 0; i < v.indices.length; i++) out[v.indices[i] as number] = v.values[i] as number;
  return out;
}

export function legacyToIds(buckets: Int32Array, maxIds: number): BigInt64Array {
  const out = new BigInt64Array(maxIds);
  const n = Math.min(buckets.length, maxIds);
  for (let i = 0; i < n; i++) out[i] = BigInt((buckets[i] as number) + 1);
  return out;
}

export function legacyFeaturizeText(text: string, spec: HashedNgramFeaturizer): Float32Array | BigInt64Array {
  const buckets = legacyHashedBuckets(text, spec);
  if (spec.output === 'ids') return legacyToIds(buckets, spec.maxIds as number);
  return legacyToDense(legacySparseFeatures(buckets, spec), spec.buckets);
}
