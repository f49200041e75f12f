import { z } from 'zod';

/**
 * Grammar of the bucket keys a request may name. A key is `/`-separated segments of
 * `[A-Za-z0-9._-]`, none empty, `.` or `..`; no leading `/`, no scheme, no backslash, no
 * percent-encoding. Every key a caller supplies is checked against the grammar of its prefix,
 * at the edge and again in the container, so no request can read outside its prefix.
 */
const SEGMENT = '(?!\\.{1,2}(?:/|$))[A-Za-z0-9._-]{1,128}';
const keyUnder = (prefix: string, suffix: string) =>
  new RegExp(`^${prefix}/(?:${SEGMENT}/){0,8}${SEGMENT}${suffix.replace(/\./g, '\\.')}$`);

export const SAFE_KEY_RE = new RegExp(`^(?:${SEGMENT}/){0,15}${SEGMENT}$`);

export const Sha256Schema = z.string().regex(/^[0-9a-f]{64}$/, 'expected a lowercase hex sha256');

/** `datasets/…/name.jsonl`: where jobs read labelled rows. */
export const DatasetKeySchema = z
  .string()
  .max(512)
  .regex(keyUnder('datasets', '.jsonl'), 'a datasets/….jsonl key of safe segments (no "..", "." or empty segments)');

/** Models are content-addressed: exactly `models/{sha256}.onnx`. */
export const ModelKeySchema = z.string().regex(/^models\/[0-9a-f]{64}\.onnx$/, 'exactly models/{sha256}.onnx');

/** Tokenizers are content-addressed like models: exactly `tokenizers/{sha256}.json`. */
export const TokenizerKeySchema = z
  .string()
  .regex(/^tokenizers\/[0-9a-f]{64}\.json$/, 'exactly tokenizers/{sha256}.json');

/** Job ids are server-made UUIDs (or test ids of the same alphabet). */
export const JobIdSchema = z.string().regex(/^[a-z0-9-]{8,64}$/, 'a job id: 8–64 of [a-z0-9-]');

export type JobId = z.infer<typeof JobIdSchema>;
