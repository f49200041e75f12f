import { z } from 'zod';
import { PredictInputSchema, UncertaintySchema } from './predict';

/**
 * Batch fusion contracts (README.md "Batch fusion"): the queue messages, one input line, the records
 * written to the results and errors files, and the status a caller polls.
 */

/** Batch ids are the first 32 hex digits of sha256(key + "\n" + eTag): same object, same batch. */
export const BatchIdSchema = z.string().regex(/^[0-9a-f]{32}$/, 'a batch id: 32 lowercase hex digits');

/** R2's event-notification body (object-create events; delete events are ignored by the consumer). */
export const R2ObjectEventSchema = z
  .object({
    account: z.string(),
    action: z.enum(['PutObject', 'CopyObject', 'CompleteMultipartUpload', 'DeleteObject', 'LifecycleDeletion']),
    bucket: z.string(),
    object: z
      .object({
        key: z.string().min(1).max(1024),
        size: z.number().int().nonnegative().optional(),
        eTag: z.string().optional(),
      })
      .passthrough(),
    eventTime: z.string(),
    copySource: z.object({ bucket: z.string(), object: z.string() }).passthrough().optional(),
  })
  .passthrough();

/** One byte range of an incoming object, aligned to line starts; a message never carries data. */
export const BatchPartMessageSchema = z
  .object({
    kind: z.literal('batch-part'),
    batch: BatchIdSchema,
    key: z.string().min(1).max(1024),
    eTag: z.string().min(1),
    ensemble: z.string().min(1),
    /** the manifest version pinned when the batch was planned: every part fuses with the same one */
    version: z.number().int().positive(),
    part: z.number().int().nonnegative(),
    parts: z.number().int().positive(),
    /** byte offsets [start, end) of whole lines */
    start: z.number().int().nonnegative(),
    end: z.number().int().nonnegative(),
    maxLineBytes: z.number().int().positive(),
  })
  .strict();

/** What the batch queue carries: R2's notification, or a part message the consumer fanned out. */
export const BatchQueueMessageSchema = z.union([BatchPartMessageSchema, R2ObjectEventSchema]);

/**
 * One input line and an optional caller id: the fields of one predict input under `input`, or one
 * raw e-mail as base64 under `rfc822_base64` (bytes as a mail pipeline holds them, any charset) for
 * an ensemble whose input spec has exactly one rfc822 field.
 */
export const BatchLineSchema = z
  .object({
    id: z.string().min(1).max(256).optional(),
    input: PredictInputSchema.optional(),
    rfc822_base64: z.base64().optional(),
  })
  .strict()
  .refine((l) => (l.input === undefined) !== (l.rfc822_base64 === undefined), {
    message: 'a line carries exactly one of input and rfc822_base64',
  });

/** Why a line went to the errors file; stable, documented in README. */
export const BATCH_LINE_ERRORS = {
  blank_line: 'the line is empty or only whitespace',
  invalid_utf8: 'the line is not valid UTF-8',
  line_too_long: 'the line exceeds the batch’s byte limit per line',
  invalid_json: 'the line is not one JSON value',
  schema_mismatch:
    'the JSON is not {"id"?: string, "input": {field: value}} or {"id"?: string, "rfc822_base64": string} (zod issues in the message)',
  invalid_input: 'the input does not match the ensemble’s input spec',
  duplicate_id: 'an earlier line of the same file has this id',
} as const;
export type BatchLineErrorCode = keyof typeof BATCH_LINE_ERRORS;
export const BatchLineErrorCodeSchema = z.enum(
  Object.keys(BATCH_LINE_ERRORS) as [BatchLineErrorCode, ...BatchLineErrorCode[]],
);

/** Who abstained on a row, as the engine reports it per prediction. */
export const BatchAbstainedSchema = z.union([z.array(z.string()), z.literal('all')]);

export const BatchResultRecordSchema = z
  .object({
    /** 1-based line number in the incoming file */
    line: z.number().int().positive(),
    id: z.string().optional(),
    label: z.string(),
    probabilities: z.record(z.string(), z.number()),
    uncertainty: UncertaintySchema,
    ran: z.array(z.string()),
    /** members with no evidence for this input; `all` when the prior answered (every member abstained, fewer answered than `fusion.minAnswering`, or none of `fusion.requireAnyOf`) */
    abstained: BatchAbstainedSchema,
    degraded: z.array(z.object({ member: z.string(), reason: z.string() }).strict()),
  })
  .strict();

export const BatchErrorRecordSchema = z
  .object({
    line: z.number().int().positive(),
    id: z.string().optional(),
    /** the line as text (invalid bytes replaced), cut to a bounded length */
    raw: z.string(),
    rawTruncated: z.boolean(),
    code: BatchLineErrorCodeSchema,
    message: z.string(),
  })
  .strict();

/** What a part writes before it is acknowledged; the Durable Object keeps the same counts. */
export const BatchPartMarkerSchema = z
  .object({
    part: z.number().int().nonnegative(),
    lines: z.number().int().nonnegative(),
    ok: z.number().int().nonnegative(),
    errors: z.number().int().nonnegative(),
    units: z.number().nonnegative(),
    /** the manifest version the part was fused with (a marker of another run's version is not reused) */
    version: z.number().int().nonnegative().optional(),
  })
  .strict();

export const BatchStateSchema = z.enum(['queued', 'running', 'assembling', 'done', 'failed']);

export const BatchStatusSchema = z
  .object({
    id: BatchIdSchema,
    state: BatchStateSchema,
    ensemble: z.string(),
    version: z.number().int().nonnegative(),
    key: z.string(),
    eTag: z.string(),
    bytes: z.number().int().nonnegative(),
    counts: z.object({ lines: z.number().int(), ok: z.number().int(), errors: z.number().int() }).strict(),
    parts: z.object({ done: z.number().int(), total: z.number().int() }).strict(),
    resultsKey: z.string(),
    errorsKey: z.string(),
    /** why the batch failed (the last error of the part that went to the dead-letter queue) */
    failure: z.string().optional(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .strict();

export type BatchId = z.infer<typeof BatchIdSchema>;
export type R2ObjectEvent = z.infer<typeof R2ObjectEventSchema>;
export type BatchPartMessage = z.infer<typeof BatchPartMessageSchema>;
export type BatchQueueMessage = z.infer<typeof BatchQueueMessageSchema>;
export type BatchLine = z.infer<typeof BatchLineSchema>;
export type BatchResultRecord = z.infer<typeof BatchResultRecordSchema>;
export type BatchErrorRecord = z.infer<typeof BatchErrorRecordSchema>;
export type BatchPartMarker = z.infer<typeof BatchPartMarkerSchema>;
export type BatchState = z.infer<typeof BatchStateSchema>;
export type BatchStatus = z.infer<typeof BatchStatusSchema>;
