import { z } from 'zod';
import { Sha256Schema, TokenizerKeySchema } from './keys';

/** Which part of an e-mail a featurizer looks at (see lib/features/email.ts); `all` joins the three. */
export const EmailViewSchema = z.enum(['subject+headers', 'body', 'urls', 'all']);

/**
 * Hashed n-gram featurizer. Tokens are hashed with MurmurHash3 (x86, 32-bit) over their UTF-8
 * bytes with `seed`; bucket = hash mod `buckets`. The same spec gives identical features in
 * Node (training) and in Workers (serving).
 */
export const HashedNgramFeaturizerSchema = z
  .object({
    kind: z.literal('hashed-ngrams'),
    /** input field the featurizer reads */
    field: z.string().min(1),
    /** for `rfc822` fields: which view of the parsed message; plain text fields ignore it */
    view: EmailViewSchema.optional(),
    unit: z.enum(['word', 'char']),
    ngram: z
      .tuple([z.number().int().min(1).max(8), z.number().int().min(1).max(8)])
      .refine(([lo, hi]) => lo <= hi, 'ngram range must be [min, max] with min <= max'),
    buckets: z
      .number()
      .int()
      .min(2)
      .max(1 << 22),
    seed: z.number().int().min(0).max(0xffffffff),
    /** cap on tokens (word unit) or characters (char unit) read from the text */
    maxLength: z.number().int().positive().max(1_000_000),
    /**
     * `counts`: dense float32 [buckets] of raw counts; `log-l2`: log1p(count), L2-normalised;
     * `ids`: int64 [maxIds] of bucket ids + 1, zero-padded (id 0 is the padding row).
     */
    output: z.enum(['counts', 'log-l2', 'ids']),
    maxIds: z.number().int().positive().max(100_000).optional(),
    /**
     * Word unit: `split` makes every ideograph and hiragana a word of its own (Unicode word
     * segmentation, UAX #29), so Chinese and Japanese text, written without spaces, gives words
     * and, with `ngram` [1, 2], character bigrams; `join` (the default, what models trained before
     * this option read) keeps a run of letters one word. The char unit ignores it.
     */
    ideographs: z.enum(['join', 'split']).optional(),
    /**
     * `counts` and `log-l2` only. `dense` (default): one `features` row of `buckets` floats.
     * `sparse`: the row's non-zero buckets as `ids` (int64, the bucket itself) and `values`
     * (float32), both [batch, n] with n the most non-zero buckets of a row in the batch, shorter
     * rows padded with id 0 and value 0 — for graphs that gather their weight rows, so a message
     * costs its n-grams, not the bucket count.
     */
    layout: z.enum(['dense', 'sparse']).optional(),
  })
  .strict()
  .refine((f) => f.output !== 'ids' || f.maxIds !== undefined, {
    message: "featurizer output 'ids' needs maxIds",
    path: ['maxIds'],
  })
  .refine((f) => f.layout !== 'sparse' || f.output !== 'ids', {
    message: "layout 'sparse' is for output 'counts' or 'log-l2'",
    path: ['layout'],
  });

/** Passes a tensor field straight to the model (bring-your-own tabular models). */
export const TensorFeaturizerSchema = z
  .object({
    kind: z.literal('tensor'),
    field: z.string().min(1),
  })
  .strict();

/** A stored tokenizer.json: content-addressed, so the key is tokenizers/{sha256}.json of its own sha256. */
export const TokenizerRefSchema = z
  .object({
    key: TokenizerKeySchema,
    sha256: Sha256Schema,
    bytes: z.number().int().positive(),
  })
  .strict()
  .refine((t) => t.key === `tokenizers/${t.sha256}.json`, {
    message: 'the tokenizer key must be tokenizers/{sha256}.json for its own sha256',
    path: ['key'],
  });

/** What a tokenizer featurizer produces, each int64 [batch, sequence] (Hugging Face input names). */
export const TOKENIZER_OUTPUTS = ['input_ids', 'attention_mask', 'token_type_ids'] as const;

/**
 * A Hugging Face tokenizer (`tokenizer.json`, run by @huggingface/tokenizers) over one view of the
 * text. The special tokens of its post-processor template are kept and the content between them
 * is cut to `maxLength` ids in all (`truncation`: keep the start or the end); rows are padded
 * with `padId` (mask 0) to the longest row of the batch or to `maxLength`. A member maps the
 * outputs it needs (TOKENIZER_OUTPUTS) to its graph inputs.
 */
export const TokenizerFeaturizerSchema = z
  .object({
    kind: z.literal('tokenizer'),
    field: z.string().min(1),
    /** for `rfc822` fields: which view of the parsed message; plain text fields ignore it */
    view: EmailViewSchema.optional(),
    tokenizer: TokenizerRefSchema,
    /** ids per example, special tokens included (a BERT's position table bounds it) */
    maxLength: z.number().int().min(2).max(8192),
    truncation: z.enum(['right', 'left']).default('right'),
    padding: z.enum(['longest', 'max_length']).default('longest'),
    padId: z.number().int().min(0).default(0),
  })
  .strict();

/**
 * The text of one view itself, as a string tensor [batch, 1], for graphs that take text: a
 * scikit-learn pipeline exported by skl2onnx (TfidfVectorizer or CountVectorizer first: its
 * StringNormalizer, Tokenizer and TfIdfVectorizer operators run in both runtimes). Each text is
 * cut to its first `maxLength` characters; what the graph does with it is the graph's own.
 */
export const TextFeaturizerSchema = z
  .object({
    kind: z.literal('text'),
    field: z.string().min(1),
    /** for `rfc822` fields: which view of the parsed message; plain text fields ignore it */
    view: EmailViewSchema.optional(),
    /** characters read; a text graph holds a string per token, so the cap is lower than hashed n-grams' */
    maxLength: z.number().int().positive().max(100_000),
  })
  .strict();

export const FeaturizerSpecSchema = z.union([
  HashedNgramFeaturizerSchema,
  TensorFeaturizerSchema,
  TokenizerFeaturizerSchema,
  TextFeaturizerSchema,
]);

/**
 * The named outputs of a featurizer, which a member maps to its graph inputs. Single-output
 * featurizers call theirs `features`; a sparse hashed one makes `ids` and `values`.
 */
export function featurizerOutputs(spec: FeaturizerSpec): readonly string[] {
  if (spec.kind === 'tokenizer') return TOKENIZER_OUTPUTS;
  if (spec.kind === 'hashed-ngrams' && spec.layout === 'sparse') return SPARSE_OUTPUTS;
  return ['features'];
}

/** What a sparse hashed featurizer makes: bucket ids and their values, [batch, non-zeros]. */
export const SPARSE_OUTPUTS = ['ids', 'values'] as const;

export type EmailView = z.infer<typeof EmailViewSchema>;
export type HashedNgramFeaturizer = z.infer<typeof HashedNgramFeaturizerSchema>;
export type TensorFeaturizer = z.infer<typeof TensorFeaturizerSchema>;
export type TokenizerRef = z.infer<typeof TokenizerRefSchema>;
export type TokenizerFeaturizer = z.infer<typeof TokenizerFeaturizerSchema>;
export type TextFeaturizer = z.infer<typeof TextFeaturizerSchema>;
export type TokenizerOutput = (typeof TOKENIZER_OUTPUTS)[number];
export type FeaturizerSpec = z.infer<typeof FeaturizerSpecSchema>;
