/** /v1/tokenizers: content-addressed upload of Hugging Face tokenizer.json files for tokenizer featurizers. */
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { isChorusError } from '../../../lib/errors';
import { TextTokenizer } from '../../../lib/features';
import { Sha256Schema, TokenizerKeySchema } from '../../../lib/schema';
import { sha256Hex, tokenizerKey } from '../../../lib/store';
import { requireScope } from '../auth';
import type { AppEnv } from '../context';
import { numberVar } from '../env';
import { limitBody, requireMediaType } from '../middleware';
import { ApiError, problemResponses } from '../problem';

const TokenizerUploadSchema = z.object({
  sha256: Sha256Schema,
  key: TokenizerKeySchema,
  bytes: z.number().int(),
  /** tokens in the vocabulary, added tokens included */
  vocabSize: z.number().int(),
});

const uploadRoute = createRoute({
  method: 'put',
  path: '/',
  summary: 'Upload a Hugging Face tokenizer.json; stored content-addressed at tokenizers/{sha256}.json',
  middleware: [
    limitBody((env) => numberVar(env.MAX_MODEL_BYTES, 32 << 20)),
    requireScope('admin'),
    requireMediaType(/^application\/(?:json|octet-stream)\b/i, 'upload tokenizer.json as application/json'),
  ],
  // Declared as bytes so that the body is hashed and stored exactly as sent (a JSON body schema
  // would parse it first); application/json is accepted as well.
  request: {
    body: {
      content: {
        'application/octet-stream': {
          schema: z.string().openapi({ format: 'binary', description: 'a Hugging Face tokenizer.json' }),
        },
      },
    },
  },
  responses: {
    201: { description: 'stored', content: { 'application/json': { schema: TokenizerUploadSchema } } },
    ...problemResponses(400, 401, 403, 413, 415, 429),
  },
});

/**
 * The tokenizer library that serves it is the judge: a file it cannot build is refused here, not
 * at the first prediction. The bytes are stored as sent, since the manifest pins their sha256.
 */
export const tokenizers = new OpenAPIHono<AppEnv>().openapi(uploadRoute, async (c) => {
  const bytes = new Uint8Array(await c.req.arrayBuffer());
  if (bytes.length === 0) throw new ApiError(400, 'not_tokenizer', 'empty body');
  let vocabSize: number;
  try {
    vocabSize = TextTokenizer.fromBytes(bytes).vocabSize;
  } catch (e) {
    if (!isChorusError(e)) throw e;
    throw new ApiError(400, 'not_tokenizer', e.message);
  }
  const sha256 = await sha256Hex(bytes);
  const key = tokenizerKey(sha256);
  const { store } = c.var.runtime;
  // content-addressed: an object under this key already holds these very bytes
  if (!(await store.head(key))) await store.put(key, bytes, { contentType: 'application/json' });
  return c.json({ sha256, key, bytes: bytes.length, vocabSize }, 201);
});
