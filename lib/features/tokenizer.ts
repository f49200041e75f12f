/**
 * Hugging Face tokenizers (`tokenizer.json`) through @huggingface/tokenizers, the pure-JS
 * implementation transformers.js uses; this is the only module that imports it. It runs the same
 * in Node (training, jobs) and in Workers (serving).
 */
import { Tokenizer } from '@huggingface/tokenizers';
import { ChorusError } from '../errors';
import type { TokenizerFeaturizer, TokenizerOutput } from '../schema';
import type { FeatureTensor } from './tensor';

/** ASCII whitespace: every tokenizer splits words there, so a cut there leaves the words on either side whole. */
const isCutPoint = (c: number) => c === 0x20 || c === 0x0a || c === 0x09 || c === 0x0d;

/** Characters tokenized first per id wanted; most text needs 4–6 a word piece. */
const CHARS_PER_ID = 8;

/**
 * The largest token id a tokenizer may use. The library keeps its vocabulary in arrays indexed by
 * id, so one id of 10⁹ in a 100 KB file costs a minute of CPU to build; real vocabularies stay
 * far below this (BERT 30K, GPT-2 50K, multilingual models 250K).
 */
export const MAX_TOKEN_ID = (1 << 21) - 1;

/** The first token id in `json` (vocab values, added tokens) outside [0, MAX_TOKEN_ID], if any. */
function outOfRangeId(json: Record<string, unknown>): unknown {
  const ids: unknown[] = [];
  const model = json.model as { vocab?: unknown } | undefined;
  // WordPiece and BPE map token → id; Unigram's vocab is a list whose positions are the ids
  if (model && typeof model.vocab === 'object' && model.vocab !== null && !Array.isArray(model.vocab)) {
    ids.push(...Object.values(model.vocab));
  }
  if (Array.isArray(json.added_tokens)) {
    for (const t of json.added_tokens) ids.push((t as { id?: unknown } | null)?.id);
  }
  return ids.find((id) => typeof id === 'number' && !(Number.isInteger(id) && id >= 0 && id <= MAX_TOKEN_ID));
}

/** Parsed tokenizer.json and the special tokens its post-processor wraps one sequence in. */
export class TextTokenizer {
  private readonly prefix: number[];
  private readonly suffix: number[];
  private readonly prefixTypes: number[];
  private readonly suffixTypes: number[];
  private readonly contentType: number;

  private constructor(private readonly tokenizer: Tokenizer) {
    // Find the template ([CLS] A [SEP] for BERT) by where a probe's plain ids sit in its encoding.
    const probe = 'a b';
    const plain = tokenizer.encode(probe, { add_special_tokens: false }).ids;
    const full = tokenizer.encode(probe, { return_token_type_ids: true });
    const at = indexOf(full.ids, plain);
    const types = full.token_type_ids ?? full.ids.map(() => 0);
    if (at < 0 || plain.length === 0) {
      // A post-processor that rewrites the content: treat the whole encoding as content.
      this.prefix = [];
      this.suffix = [];
      this.prefixTypes = [];
      this.suffixTypes = [];
      this.contentType = 0;
      return;
    }
    this.prefix = full.ids.slice(0, at);
    this.suffix = full.ids.slice(at + plain.length);
    this.prefixTypes = types.slice(0, at);
    this.suffixTypes = types.slice(at + plain.length);
    this.contentType = types[at] ?? 0;
  }

  /** A tokenizer from the bytes of a tokenizer.json; anything the library cannot build is `invalid_argument`. */
  static fromBytes(bytes: Uint8Array): TextTokenizer {
    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes));
    } catch (e) {
      throw new ChorusError('invalid_argument', `tokenizer.json is not UTF-8 JSON: ${message(e)}`);
    }
    if (typeof json !== 'object' || json === null || Array.isArray(json)) {
      throw new ChorusError('invalid_argument', 'tokenizer.json must be a JSON object');
    }
    const bad = outOfRangeId(json as Record<string, unknown>);
    if (bad !== undefined) {
      throw new ChorusError('invalid_argument', `token id ${bad} is outside [0, ${MAX_TOKEN_ID}]`);
    }
    try {
      return new TextTokenizer(new Tokenizer(json, {}));
    } catch (e) {
      throw new ChorusError('invalid_argument', `not a tokenizer @huggingface/tokenizers can run: ${message(e)}`);
    }
  }

  /** Ids of the vocabulary, for describing an upload. */
  get vocabSize(): number {
    return this.tokenizer.get_vocab(true).size;
  }

  /**
   * Ids and token type ids of one text: the template's special tokens around the content, cut to
   * `maxLength` ids in all from the side `truncation` does not keep. Only a prefix (or suffix) of
   * a long text is tokenized: it grows at whitespace until it yields enough ids, which gives the
   * same ids as tokenizing the whole text and cutting (see isCutPoint).
   */
  encode(text: string, maxLength: number, truncation: 'right' | 'left'): { ids: number[]; types: number[] } {
    const budget = Math.max(0, maxLength - this.prefix.length - this.suffix.length);
    const content = this.content(text, budget, truncation);
    return {
      ids: [...this.prefix, ...content, ...this.suffix].slice(0, maxLength),
      types: [...this.prefixTypes, ...content.map(() => this.contentType), ...this.suffixTypes].slice(0, maxLength),
    };
  }

  private content(text: string, budget: number, truncation: 'right' | 'left'): number[] {
    const keep = (ids: number[]) =>
      ids.length <= budget ? ids : truncation === 'right' ? ids.slice(0, budget) : ids.slice(ids.length - budget);
    for (let chars = Math.max(1024, budget * CHARS_PER_ID); ; chars *= 4) {
      if (chars >= text.length) return keep(this.plain(text));
      const piece = truncation === 'right' ? text.slice(0, cutAfter(text, chars)) : text.slice(cutBefore(text, chars));
      if (piece.length === text.length) return keep(this.plain(text));
      const ids = this.plain(piece);
      if (ids.length >= budget) return keep(ids);
    }
  }

  private plain(text: string): number[] {
    return this.tokenizer.encode(text, { add_special_tokens: false }).ids;
  }
}

/** The end of the first `chars` characters, moved on to the next cut point (the text's end when none). */
function cutAfter(text: string, chars: number): number {
  for (let i = chars; i < text.length; i++) if (isCutPoint(text.charCodeAt(i))) return i;
  return text.length;
}

/** The start of the last `chars` characters, moved back to the previous cut point (0 when none). */
function cutBefore(text: string, chars: number): number {
  for (let i = text.length - chars; i > 0; i--) if (isCutPoint(text.charCodeAt(i))) return i;
  return 0;
}

function indexOf(haystack: readonly number[], needle: readonly number[]): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

/**
 * The featurizer's outputs for a batch of texts: int64 [n, width], rows padded with `padId` (mask
 * 0) to the longest row or to `maxLength` as the spec says.
 */
export function tokenizeBatch(
  tokenizer: TextTokenizer,
  texts: readonly string[],
  spec: Pick<TokenizerFeaturizer, 'maxLength' | 'truncation' | 'padding' | 'padId'>,
): Record<TokenizerOutput, FeatureTensor> {
  const rows = texts.map((t) => tokenizer.encode(t, spec.maxLength, spec.truncation));
  const width = spec.padding === 'max_length' ? spec.maxLength : Math.max(1, ...rows.map((r) => r.ids.length));
  const n = texts.length;
  const ids = new BigInt64Array(n * width).fill(BigInt(spec.padId));
  const mask = new BigInt64Array(n * width);
  const types = new BigInt64Array(n * width);
  rows.forEach((r, i) => {
    const at = i * width;
    r.ids.forEach((id, j) => {
      ids[at + j] = BigInt(id);
      mask[at + j] = 1n;
      types[at + j] = BigInt(r.types[j] ?? 0);
    });
  });
  const dims = [n, width];
  return {
    input_ids: { dtype: 'int64', data: ids, dims },
    attention_mask: { dtype: 'int64', data: mask, dims },
    token_type_ids: { dtype: 'int64', data: types, dims },
  };
}
