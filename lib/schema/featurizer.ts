import { z } from 'zod';

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
  })
  .strict()
  .refine((f) => f.output !== 'ids' || f.maxIds !== undefined, {
    message: "featurizer output 'ids' needs maxIds",
    path: ['maxIds'],
  });

/** Passes a tensor field straight to the model (bring-your-own tabular models). */
export const TensorFeaturizerSchema = z
  .object({
    kind: z.literal('tensor'),
    field: z.string().min(1),
  })
  .strict();

export const FeaturizerSpecSchema = z.union([HashedNgramFeaturizerSchema, TensorFeaturizerSchema]);

export type EmailView = z.infer<typeof EmailViewSchema>;
export type HashedNgramFeaturizer = z.infer<typeof HashedNgramFeaturizerSchema>;
export type TensorFeaturizer = z.infer<typeof TensorFeaturizerSchema>;
export type FeaturizerSpec = z.infer<typeof FeaturizerSpecSchema>;
