/**
 * Text normalisation, tokenisation and HTML reduction shared by training and serving.
 *
 * Everything here runs in time linear in its input: no regex can backtrack across the input
 * (the ones left are single character classes or have a deterministic, anchored shape), and
 * the scanners below find each delimiter with one forward search.
 */

/**
 * NFKC folds compatibility forms (full-width letters, ligatures) so the same word hashes the
 * same way; then lower case, whitespace runs collapsed to one space, trimmed.
 */
export function normalizeText(text: string): string {
  return text.normalize('NFKC').toLowerCase().replace(WHITESPACE_TO_FOLD, ' ').trim();
}

/**
 * The whitespace runs that are not already a single space: a space followed by more whitespace,
 * or a run starting with any other whitespace. Replacing only these gives what `/\s+/gu` → ' '
 * gives (a lone space maps to itself) at a fraction of the cost on ordinary text, where most runs
 * are one space (4 KB of prose: 43 → 5 µs in Node). Matches start only at a run's first unit.
 */
const WHITESPACE_TO_FOLD = / \s+|[^\S ]\s*/gu;

/** ASCII whitespace: TAB, LF, VT, FF, CR, SPACE. */
function isAsciiSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

/**
 * Hands `take` the normalised form of growing prefixes of `text` until it answers true, or
 * finally `normalizeText(text)` itself. Each prefix handed over is exactly a prefix of
 * `normalizeText(text)`, followed there by a space or by nothing, so a caller that only needs
 * the first n characters or tokens gets the same ones as from the whole text.
 *
 * Why a cut before ASCII whitespace is exact: NFKC has a boundary before every ASCII
 * character (starters that never combine with what precedes them), lower-casing only looks
 * ahead for Final_Sigma and whitespace is neither cased nor case-ignorable, and the whitespace
 * run at the cut collapses to the single space that follows the prefix.
 *
 * @param initial prefix length (UTF-16 units) tried first; doubled on each retry, so the total
 *   work stays linear in the text
 */
export function takeNormalizedPrefix(text: string, initial: number, take: (normalized: string) => boolean): void {
  let want = Math.max(1, initial);
  // Several featurizers read the same view (the body: words, then chars). Any normalised prefix
  // is a prefix of normalizeText(text) (see above), so the longest one made for this text serves
  // every later caller that it satisfies, with the same answer: NFKC runs on the body once.
  const memo = lastPrefix.text === text ? lastPrefix : undefined;
  if (memo && memo.cut >= want) {
    if (take(memo.normalized) || memo.cut >= text.length) return;
    want = memo.cut * 2;
  }
  while (want < text.length) {
    let cut = want;
    while (cut < text.length && !isAsciiSpace(text.charCodeAt(cut))) cut++;
    if (cut >= text.length) break;
    if (take(remember(text, cut, normalizeText(text.slice(0, cut))))) return;
    want = cut * 2;
  }
  take(remember(text, text.length, normalizeText(text)));
}

/** The longest normalised prefix made for the last text seen (one entry: texts come one at a time). */
const lastPrefix = { text: '', cut: 0, normalized: '' };

function remember(text: string, cut: number, normalized: string): string {
  if (lastPrefix.text !== text || cut > lastPrefix.cut) {
    lastPrefix.text = text;
    lastPrefix.cut = cut;
    lastPrefix.normalized = normalized;
  }
  return normalized;
}

// --- word tokens -------------------------------------------------------------------------

// Words, numbers, dotted names (domains, prices) and a few spam-typical symbols: the tokens
// of `/[\p{L}\p{N}]+(?:[.:'-][\p{L}\p{N}]+)*|[$!€£%]/gu`, found by a scanner that allocates
// nothing per token. The grammar is deterministic (a separator must be followed by a letter
// or digit to continue a token), so the scanner and the regex agree on every input.

/** Tokens are cut to this many UTF-16 units. */
export const MAX_TOKEN_CHARS = 40;

/**
 * Per code point: 0 not `\p{L}|\p{N}`, 1 a letter or digit, 2 one that is also an ideograph or
 * hiragana (split words, below). One 256-entry block at a time, filled on first use by three
 * native replaces over the block's 256 code points (one unit each), so even text touching every
 * block costs little once.
 */
const lnBlocks: (Uint8Array | undefined)[] = [];

function fillBlock(block: number): Uint8Array {
  const codePoints: number[] = [];
  for (let k = 0; k < 256; k++) codePoints.push((block << 8) | k);
  const marks = String.fromCodePoint(...codePoints)
    .replace(/[^\p{L}\p{N}]/gu, '\u0000')
    .replace(/[\p{Ideographic}\p{Script=Hiragana}]/gu, '\u0002')
    .replace(/[\p{L}\p{N}]/gu, '\u0001');
  const table = new Uint8Array(256);
  for (let k = 0; k < 256; k++) table[k] = marks.charCodeAt(k);
  lnBlocks[block] = table;
  return table;
}

function letterClass(cp: number): number {
  const block = cp >>> 8;
  return (lnBlocks[block] ?? fillBlock(block))[cp & 0xff] as number;
}

function isLetterOrNumber(cp: number): boolean {
  return letterClass(cp) !== 0;
}

/** First code unit of CJK: nothing below it is an ideograph or hiragana. */
const CJK_START = 0x2e80;

/** Whether the code point at `i` is an ideograph or hiragana. */
function isIdeographAt(s: string, i: number): boolean {
  const c = s.charCodeAt(i);
  if (c < CJK_START) return false;
  return letterClass(s.codePointAt(i) as number) === 2;
}

// ASCII classes: letters and digits, the separators . : ' - and the symbols $ ! %
const LN = 1;
const SEPARATOR = 2;
const SYMBOL = 3;
const ASCII_CLASS = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  if (isLetterOrNumber(c)) ASCII_CLASS[c] = LN;
  else if (".:'-".includes(ch)) ASCII_CLASS[c] = SEPARATOR;
  else if ('$!%'.includes(ch)) ASCII_CLASS[c] = SYMBOL;
}

/** Width in UTF-16 units of the code point at `i` if it is a letter or digit, else 0. */
function lnWidthAt(s: string, i: number): number {
  const c = s.charCodeAt(i);
  if (c < 0x80) return ASCII_CLASS[c] === LN ? 1 : 0;
  if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
    const d = s.charCodeAt(i + 1);
    if (d >= 0xdc00 && d <= 0xdfff) return isLetterOrNumber(((c - 0xd800) << 10) + (d - 0xdc00) + 0x10000) ? 2 : 0;
  }
  // a lone surrogate is no letter (the regex sees it as a code point of category Cs)
  return isLetterOrNumber(c) ? 1 : 0;
}

/** € and £: outside ASCII, the signs that are tokens of their own (symbols, not words). */
const isCurrencySign = (c: number): boolean => c === 0x20ac || c === 0xa3;

/**
 * Finds the next token at or after `from`; writes its [start, end) (UTF-16 units, untruncated)
 * into `span` and returns true, or returns false when there is none. With `splitIdeographs` every
 * ideograph and hiragana is a word of its own, as Unicode word segmentation (UAX #29) has it:
 * Chinese and Japanese are written without spaces, so a run of them is a sentence, not a word.
 */
export function nextToken(s: string, from: number, span: Int32Array, splitIdeographs = false): boolean {
  const len = s.length;
  let i = from;
  while (i < len) {
    const c = s.charCodeAt(i);
    let width: number;
    if (c < 0x80) {
      const k = ASCII_CLASS[c];
      if (k === SYMBOL) {
        span[0] = i;
        span[1] = i + 1;
        return true;
      }
      if (k !== LN) {
        i++;
        continue;
      }
      width = 1;
    } else {
      width = lnWidthAt(s, i);
      if (width === 0) {
        if (isCurrencySign(c)) {
          span[0] = i;
          span[1] = i + 1;
          return true;
        }
        const d = s.charCodeAt(i + 1);
        i += c >= 0xd800 && c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff ? 2 : 1;
        continue;
      }
    }
    // a run of letters/digits, then (separator, run)* while a separator is followed by one
    let end = i + width;
    if (splitIdeographs && isIdeographAt(s, i)) {
      span[0] = i;
      span[1] = end;
      return true;
    }
    for (;;) {
      while (end < len) {
        const d = s.charCodeAt(end);
        if (d < 0x80) {
          if (ASCII_CLASS[d] !== LN) break;
          end++;
        } else {
          const w = lnWidthAt(s, end);
          if (w === 0 || (splitIdeographs && isIdeographAt(s, end))) break;
          end += w;
        }
      }
      const sep = s.charCodeAt(end);
      if (!(sep < 0x80 && ASCII_CLASS[sep] === SEPARATOR)) break;
      const w = end + 1 < len ? lnWidthAt(s, end + 1) : 0;
      if (w === 0 || (splitIdeographs && isIdeographAt(s, end + 1))) break;
      end += 1 + w;
    }
    span[0] = i;
    span[1] = end;
    return true;
  }
  return false;
}

/**
 * How many words (tokens of letters or digits; a symbol such as `!` or `$` is a token, not a word)
 * normalised text holds, counting no further than `atMost`.
 */
export function countWords(normalized: string, atMost: number, splitIdeographs = false): number {
  const span = new Int32Array(2);
  let pos = 0;
  let words = 0;
  while (words < atMost && nextToken(normalized, pos, span, splitIdeographs)) {
    const start = span[0] as number;
    pos = span[1] as number;
    const c = normalized.charCodeAt(start);
    const symbol = c < 0x80 ? ASCII_CLASS[c] === SYMBOL : isCurrencySign(c);
    if (!symbol) words++;
  }
  return words;
}

/** The first `maxTokens` tokens of normalised text, each cut to MAX_TOKEN_CHARS UTF-16 units. */
export function wordTokens(normalized: string, maxTokens: number, splitIdeographs = false): string[] {
  const out: string[] = [];
  const span = new Int32Array(2);
  let pos = 0;
  while (out.length < maxTokens && nextToken(normalized, pos, span, splitIdeographs)) {
    const start = span[0] as number;
    pos = span[1] as number;
    out.push(normalized.slice(start, Math.min(pos, start + MAX_TOKEN_CHARS)));
  }
  return out;
}

// --- HTML to text ------------------------------------------------------------------------

/**
 * `\s` of a JS regex: WhiteSpace and LineTerminator (TAB VT FF SP NBSP ZWNBSP, the Zs
 * category, LF CR LS PS).
 */
function isJsSpace(c: number): boolean {
  if (c <= 0x20) return c === 0x20 || (c >= 0x09 && c <= 0x0d);
  if (c < 0xa0) return false;
  return (
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000 ||
    c === 0xfeff
  );
}

function isWordChar(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f;
}

/**
 * Whether `s` holds `word` at `i`: its lower-case ASCII letters compared case-insensitively
 * (as `/i` does without `u`: only ASCII letters fold), anything else exactly.
 */
function hasWordAt(s: string, i: number, word: string): boolean {
  if (i + word.length > s.length) return false;
  for (let k = 0; k < word.length; k++) {
    const w = word.charCodeAt(k);
    const c = s.charCodeAt(i + k);
    if (w >= 0x61 && w <= 0x7a ? (c | 0x20) !== w : c !== w) return false;
  }
  return true;
}

/** `s.replace(/<!--[\s\S]*?-->/g, ' ')`. An unclosed `<!--` and everything after it stay as they are. */
function replaceComments(s: string): string {
  let open = s.indexOf('<!--');
  if (open < 0) return s;
  const parts: string[] = [];
  let copied = 0;
  while (open >= 0) {
    const close = s.indexOf('-->', open + 4);
    // no `-->` after this opener, so none after any later one: nothing more can match
    if (close < 0) break;
    parts.push(s.slice(copied, open), ' ');
    copied = close + 3;
    open = s.indexOf('<!--', copied);
  }
  parts.push(s.slice(copied));
  return parts.join('');
}

/**
 * `s.replace(/<(style|script)\b[\s\S]*?<\/\1\s*>/gi, ' ')`. Searches for closers only move
 * forward: a closer found stays the answer until an opener passes it, and "none" is final.
 */
function replaceStyleAndScript(s: string): string {
  const names: readonly string[] = ['style', 'script'];
  // per name: the closer search started at `from` found the closer ending at `end` (-1: none)
  const from = [-1, -1];
  const at = [-1, -1];
  const end = [-1, -1];
  const findClose = (k: number, start: number): number => {
    if ((from[k] as number) >= 0 && start >= (from[k] as number) && (at[k] === -1 || start <= (at[k] as number))) {
      return end[k] as number;
    }
    const name = names[k] as string;
    let result = -1;
    let found = -1;
    for (let lt = s.indexOf('</', start); lt >= 0; lt = s.indexOf('</', lt + 1)) {
      if (!hasWordAt(s, lt + 2, name)) continue;
      let j = lt + 2 + name.length;
      while (j < s.length && isJsSpace(s.charCodeAt(j))) j++;
      if (s.charCodeAt(j) === 0x3e /* > */) {
        found = lt;
        result = j + 1;
        break;
      }
    }
    from[k] = start;
    at[k] = found;
    end[k] = result;
    return result;
  };

  const parts: string[] = [];
  let copied = 0;
  let lt = s.indexOf('<');
  while (lt >= 0) {
    const k = hasWordAt(s, lt + 1, 'style') ? 0 : hasWordAt(s, lt + 1, 'script') ? 1 : -1;
    if (k >= 0) {
      const nameEnd = lt + 1 + (names[k] as string).length;
      // `\b` after the name: end of input or a non-word character
      if (nameEnd >= s.length || !isWordChar(s.charCodeAt(nameEnd))) {
        const close = findClose(k, nameEnd);
        if (close >= 0) {
          parts.push(s.slice(copied, lt), ' ');
          copied = close;
          lt = s.indexOf('<', close);
          continue;
        }
      }
    }
    lt = s.indexOf('<', lt + 1);
  }
  if (copied === 0) return s;
  parts.push(s.slice(copied));
  return parts.join('');
}

/** `s.replace(/<br\s*\/?>|<\/p>|<\/div>|<\/tr>/gi, '\n')`. */
function replaceLineBreakTags(s: string): string {
  const parts: string[] = [];
  let copied = 0;
  for (let lt = s.indexOf('<'); lt >= 0; lt = s.indexOf('<', lt + 1)) {
    let end = -1;
    if (hasWordAt(s, lt + 1, 'br')) {
      let j = lt + 3;
      while (j < s.length && isJsSpace(s.charCodeAt(j))) j++;
      if (s.charCodeAt(j) === 0x2f /* / */) j++;
      if (s.charCodeAt(j) === 0x3e /* > */) end = j + 1;
    } else if (s.charCodeAt(lt + 1) === 0x2f /* / */) {
      for (const closer of ['p>', 'div>', 'tr>']) {
        if (hasWordAt(s, lt + 2, closer)) {
          end = lt + 2 + closer.length;
          break;
        }
      }
    }
    if (end < 0) continue;
    parts.push(s.slice(copied, lt), '\n');
    copied = end;
    lt = end - 1;
  }
  if (copied === 0) return s;
  parts.push(s.slice(copied));
  return parts.join('');
}

/** `s.replace(/<[^>]*>/g, ' ')`. A `<` with no `>` after it, and everything after it, stay. */
function replaceTags(s: string): string {
  const parts: string[] = [];
  let copied = 0;
  let lt = s.indexOf('<');
  while (lt >= 0) {
    const gt = s.indexOf('>', lt + 1);
    if (gt < 0) break;
    parts.push(s.slice(copied, lt), ' ');
    copied = gt + 1;
    lt = s.indexOf('<', copied);
  }
  if (copied === 0) return s;
  parts.push(s.slice(copied));
  return parts.join('');
}

const ENTITIES: Record<string, string> = { nbsp: ' ', amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decodeEntity(whole: string, name: string): string {
  if (name[0] === '#') {
    const code =
      name[1] === 'x' || name[1] === 'X' ? Number.parseInt(name.slice(2), 16) : Number.parseInt(name.slice(1), 10);
    return Number.isFinite(code) && code > 0 && code < 0x110000 ? String.fromCodePoint(code) : ' ';
  }
  return ENTITIES[name.toLowerCase()] ?? whole;
}

const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;
const isAsciiLetter = (c: number): boolean => (c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a;
const isHexDigit = (c: number): boolean => isDigit(c) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x66);

/** `s.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, decodeEntity)`, each alternative a maximal run then `;`. */
function replaceEntities(s: string): string {
  const parts: string[] = [];
  let copied = 0;
  for (let amp = s.indexOf('&'); amp >= 0; amp = s.indexOf('&', amp + 1)) {
    const i = amp + 1;
    let j = -1;
    if (s.charCodeAt(i) === 0x23 /* # */) {
      if ((s.charCodeAt(i + 1) | 0x20) === 0x78 /* x */) {
        let k = i + 2;
        while (k < s.length && isHexDigit(s.charCodeAt(k))) k++;
        if (k > i + 2 && s.charCodeAt(k) === 0x3b /* ; */) j = k;
      } else {
        let k = i + 1;
        while (k < s.length && isDigit(s.charCodeAt(k))) k++;
        if (k > i + 1 && s.charCodeAt(k) === 0x3b) j = k;
      }
    } else {
      let k = i;
      while (k < s.length && isAsciiLetter(s.charCodeAt(k))) k++;
      if (k > i && s.charCodeAt(k) === 0x3b) j = k;
    }
    if (j < 0) continue;
    parts.push(s.slice(copied, amp), decodeEntity(s.slice(amp, j + 1), s.slice(i, j)));
    copied = j + 1;
    amp = j;
  }
  if (copied === 0) return s;
  parts.push(s.slice(copied));
  return parts.join('');
}

/**
 * Plain text of an HTML body: drops comments, style/script blocks and tags, turns line-break
 * tags into newlines, decodes common entities. Five forward passes, each the exact equivalent
 * of the regex replace it is named after (so the output is the same as it always was), each
 * linear: an unclosed `<!--`, `<script`, `<style` or `<` ends its pass instead of making every
 * later candidate rescan the rest of the input.
 */
export function htmlToText(html: string): string {
  return replaceEntities(replaceTags(replaceLineBreakTags(replaceStyleAndScript(replaceComments(html)))));
}

// --- URLs --------------------------------------------------------------------------------

/**
 * Linear: the prefix is a fixed string and the body one greedy character class with nothing
 * after it, so a match never backtracks and matches never overlap.
 */
const URL_RE = /\b(?:https?:\/\/|www\.)[^\s"'<>()]+/giu;

/** URLs found in text and href attributes, in order of appearance; the first `limit`. */
export function extractUrls(text: string, limit = 200): string[] {
  const out: string[] = [];
  if (limit <= 0) return out;
  for (const m of text.matchAll(URL_RE)) {
    out.push(m[0]);
    if (out.length >= limit) break;
  }
  return out;
}
