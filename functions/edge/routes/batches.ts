/** /v1/batches: upload a JSONL file for batch fusion, poll its state, stream its results and errors. */
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { batchIdOf, MULTIPART_MIN_PART_BYTES, objectCreatedEvent, uploadInParts } from '../../../lib/batch';
import { BatchIdSchema, BatchStatusSchema, EnsembleNameSchema } from '../../../lib/schema';
import { batchIncomingKey } from '../../../lib/store';
import { principalOf, requireBudget } from '../auth';
import { batchDepsFromEnv } from '../batch';
import { batchObjectsFromEnv } from '../batch/objects';
import type { AppEnv } from '../context';
import { numberVar } from '../env';
import { limitStreamedBody, requireMediaType } from '../middleware';
import { ApiError, problemResponses } from '../problem';

const JSONL = 'application/x-ndjson';
const JSONL_MEDIA_TYPE = /^(?:application\/(?:x-ndjson|jsonl|json-lines|octet-stream)|text\/plain)\b/i;

const UploadQuerySchema = z.object({
  ensemble: EnsembleNameSchema,
  /**
   * the file's name under batches/incoming/{ensemble}/ (under …/{keyId}/ for a key's upload);
   * re-uploading the same bytes under it is the same batch
   */
  name: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,128}$/, 'a name of 1–128 of [A-Za-z0-9._-]')
    .optional(),
});

const BatchAcceptedSchema = z.object({
  id: BatchIdSchema,
  key: z.string(),
  eTag: z.string(),
  bytes: z.number().int(),
  links: z.record(z.string(), z.string()),
});

const IdParam = z.object({ id: BatchIdSchema });

const uploadRoute = createRoute({
  method: 'post',
  path: '/',
  summary: 'Upload a JSONL file (one {"id"?, "input"} per line) for batch fusion',
  middleware: [
    limitStreamedBody((env) => numberVar(env.MAX_BATCH_BYTES, 100 << 20)),
    requireMediaType(JSONL_MEDIA_TYPE, `upload the file as ${JSONL}`),
    requireBudget,
  ],
  request: {
    query: UploadQuerySchema,
    body: { content: { [JSONL]: { schema: z.string().openapi({ format: 'binary' }) } } },
  },
  responses: {
    202: { description: 'stored and queued', content: { 'application/json': { schema: BatchAcceptedSchema } } },
    ...problemResponses(400, 402, 404, 413, 415),
  },
});

const statusRoute = createRoute({
  method: 'get',
  path: '/{id}',
  summary: "A batch's state, counts, parts done and where its files are",
  request: { params: IdParam },
  responses: {
    200: { description: 'status', content: { 'application/json': { schema: BatchStatusSchema } } },
    ...problemResponses(400, 404),
  },
});

const fileResponses = (which: string) => ({
  200: { description: which, content: { [JSONL]: { schema: z.string() } } },
  ...problemResponses(400, 404, 409),
});

const resultsRoute = createRoute({
  method: 'get',
  path: '/{id}/results',
  summary: "A finished batch's results, streamed (JSONL, one line per valid input, in input order)",
  request: { params: IdParam },
  responses: fileResponses('results'),
});

const errorsRoute = createRoute({
  method: 'get',
  path: '/{id}/errors',
  summary: "A finished batch's errors, streamed (JSONL: line, id, raw, code, message, in input order)",
  request: { params: IdParam },
  responses: fileResponses('errors'),
});

export const batches = new OpenAPIHono<AppEnv>()
  .openapi(uploadRoute, async (c) => {
    const { ensemble, name } = c.req.valid('query');
    const { runtime } = c.var;
    if ((await runtime.manifests.currentVersion(ensemble)) === 0) {
      throw new ApiError(404, 'not_found', `ensemble '${ensemble}' does not exist or is archived`);
    }
    const principal = principalOf(c);
    const owner = principal?.kind === 'key' ? principal.keyId : null;
    const key = batchIncomingKey(ensemble, name ?? `upload-${crypto.randomUUID()}`, owner ?? undefined);
    const declared = Number(c.req.header('content-length'));
    const body = c.var.body ?? c.req.raw.body ?? new Blob([]).stream();
    const objects = batchObjectsFromEnv(c.env);
    // Streamed either way: with its length in one put; a chunked body (no length) as a multipart
    // upload, one part held at a time (reading it whole held ~5× a 90 MiB file)
    const stored =
      Number.isInteger(declared) && declared >= 0
        ? await objects.writeStream(key, body, declared, JSONL)
        : await uploadInParts(await objects.createMultipart(key, JSONL), body, undefined, MULTIPART_MIN_PART_BYTES);
    const id = await batchIdOf(key, stored.eTag);
    const deps = batchDepsFromEnv(c.env, runtime);
    await deps.coordinators.get(deps.coordinators.idFromName(id)).accept({
      id,
      key,
      eTag: stored.eTag,
      ensemble,
      bytes: stored.size,
      owner,
    });
    if (c.env.BATCH_ENQUEUE_ON_UPLOAD !== 'false') {
      // R2's own notification in production; the same body here, so the consumer cannot tell them apart.
      await c.env.BATCH_QUEUE.send(objectCreatedEvent(c.env.S3_BUCKET ?? 'chorus-dev', key, stored.size, stored.eTag));
    }
    const self = `${c.req.path.replace(/\/$/, '')}/${id}`;
    return c.json(
      {
        id,
        key,
        eTag: stored.eTag,
        bytes: stored.size,
        links: { status: self, results: `${self}/results`, errors: `${self}/errors` },
      },
      202,
    );
  })
  .openapi(statusRoute, async (c) => {
    const { id } = c.req.valid('param');
    const deps = batchDepsFromEnv(c.env, c.var.runtime);
    const status = await deps.coordinators.get(deps.coordinators.idFromName(id)).statusFor(readerOf(c));
    if (!status) throw new ApiError(404, 'not_found', `no batch ${id}`);
    return c.json(BatchStatusSchema.parse(status), 200);
  });
// zod-openapi types application/x-ndjson answers as `never` (it reads any "…json" as JSON), so
// the two file routes are plain handlers, documented through the registry.
batches.get('/:id/results', (c) => fileResponse(c, c.req.param('id'), 'results'));
batches.get('/:id/errors', (c) => fileResponse(c, c.req.param('id'), 'errors'));
batches.openAPIRegistry.registerPath(resultsRoute);
batches.openAPIRegistry.registerPath(errorsRoute);

/**
 * Whose batches the caller may read: a key reads the batches it uploaded (null: every batch, for
 * an admin key, the bootstrap token or a signed request).
 */
function readerOf(c: Context<AppEnv>): string | null {
  const principal = principalOf(c);
  if (principal?.kind === 'key') return principal.scopes.includes('admin') ? null : principal.keyId;
  if (principal?.kind === 'bootstrap' || principal?.kind === 'signed') return null;
  // the scope gate lets no one else through; should that change, they read nothing
  return '';
}

/**
 * A finished batch's file, streamed: 404 for an unknown batch or another key's, 409 while it runs
 * (or after it failed).
 */
async function fileResponse(c: Context<AppEnv>, rawId: string, which: 'results' | 'errors') {
  const parsed = BatchIdSchema.safeParse(rawId);
  if (!parsed.success) throw new ApiError(400, 'validation_failed', `'${rawId}' is not a batch id`);
  const id = parsed.data;
  const deps = batchDepsFromEnv(c.env, c.var.runtime);
  const status = await deps.coordinators.get(deps.coordinators.idFromName(id)).statusFor(readerOf(c));
  if (!status) throw new ApiError(404, 'not_found', `no batch ${id}`);
  if (status.state !== 'done') {
    const why = status.failure ? `: ${status.failure}` : '';
    throw new ApiError(409, 'batch_not_ready', `batch ${id} is ${status.state}${why}`);
  }
  const stream = await deps.objects.readStream(which === 'results' ? status.resultsKey : status.errorsKey);
  if (!stream) throw new ApiError(404, 'not_found', `batch ${id} has no ${which} file`);
  return new Response(stream, { status: 200, headers: { 'content-type': JSONL } });
}
