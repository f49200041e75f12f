/**
 * /v1/ensembles: list, read, publish and roll back manifest versions, and predict (JSON, or one raw
 * e-mail as message/rfc822). Archive, restore, versions and diff: ensemble-lifecycle.ts.
 */
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import { checkManifestGraphs, type EngineInput, predictEnsemble } from '../../../lib/ensemble';
import { maxUnits } from '../../../lib/metering';
import {
  type EnsembleManifest,
  EnsembleManifestSchema,
  EnsembleNameSchema,
  FusionStrategySchema,
  type PredictRequest,
  PredictRequestSchema,
  PredictResponseSchema,
  type Publisher,
} from '../../../lib/schema';
import { type Principal, principalOf, requireScope } from '../auth';
import type { AppEnv } from '../context';
import { numberVar } from '../env';
import { metered, predictHold } from '../metering/charge';
import { ADMIN_JSON_BYTES, limitBody, requireJson } from '../middleware';
import { ApiError, problemResponses } from '../problem';
import { ensembleLifecycle } from './ensemble-lifecycle';

const NameParam = z.object({ name: EnsembleNameSchema });

const EnsembleListSchema = z.object({
  ensembles: z.array(z.object({ name: EnsembleNameSchema, version: z.number().int(), archived: z.boolean() })),
});

/** `message/rfc822`: the body is one raw e-mail, bytes as sent (RFC 2046 §5.2.1). */
const RFC822 = /^message\/rfc822\s*(?:;|$)/i;
const isRawMessage = (type: string | undefined): boolean => RFC822.test(type ?? '');

/**
 * A raw e-mail body is read as bytes before anything else reads it: Hono caches a body by its
 * first reader, and a text read (the scope gate's hold reads JSON) would decode it as UTF-8 and
 * lose an 8-bit message's own charset. Nothing is parsed here.
 */
const rawBytesFirst: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (isRawMessage(c.req.header('content-type'))) await c.req.arrayBuffer();
  await next();
};

/** After the scope gate: a JSON body is checked as on every JSON route; a raw message passes. */
const predictBody: MiddlewareHandler<AppEnv> = async (c, next) => {
  // awaited, not returned: a returned rejection has no handler for a tick, which workerd reports
  if (isRawMessage(c.req.header('content-type'))) await next();
  else await requireJson(c, next);
};

/** Predict options in the query: a raw message's only way to give them; a JSON body's other way. */
const PredictQuerySchema = z.object({
  strategy: FusionStrategySchema.optional(),
  return_members: z.enum(['true', 'false']).optional(),
});

/** The one field a raw message fills: the input spec's only rfc822 field. */
function rawMessageField(manifest: EnsembleManifest): string {
  const fields = Object.entries(manifest.input.fields)
    .filter(([, f]) => f.type === 'text' && f.format === 'rfc822')
    .map(([name]) => name);
  if (fields.length !== 1 || fields[0] === undefined) {
    throw new ApiError(
      415,
      'raw_message_not_accepted',
      `ensemble '${manifest.name}' has ${fields.length} rfc822 input fields; a message/rfc822 body needs exactly one — send application/json`,
    );
  }
  return fields[0];
}

/** Who published, as the version list records it. */
function publisherOf(principal: Principal | undefined): Publisher {
  if (principal?.kind === 'key') return principal.keyId as Publisher;
  if (principal?.kind === 'bootstrap') return 'admin-token';
  if (principal?.kind === 'signed') return 'job';
  return 'unknown';
}

/** Where the pointer is now and where it was before a publish or rollback. */
const PointerMoveSchema = z.object({ name: EnsembleNameSchema, version: z.number().int(), previous: z.number().int() });

const RollbackRequestSchema = z.object({ version: z.number().int().positive() }).strict();

const listRoute = createRoute({
  method: 'get',
  path: '/',
  summary: 'Ensembles and their current versions (archived ones only with ?archived=true)',
  middleware: [requireScope('predict', { signed: true })],
  request: { query: z.object({ archived: z.enum(['true', 'false']).optional() }) },
  responses: {
    200: { description: 'ensembles', content: { 'application/json': { schema: EnsembleListSchema } } },
    ...problemResponses(400, 401, 403, 429),
  },
});

const getRoute = createRoute({
  method: 'get',
  path: '/{name}',
  summary: 'The current (or a given) manifest version; x-chorus-latest-version names the latest',
  middleware: [requireScope('predict', { signed: true, ensembleParam: 'name' })],
  request: { params: NameParam, query: z.object({ version: z.coerce.number().int().positive().optional() }) },
  responses: {
    200: { description: 'manifest', content: { 'application/json': { schema: EnsembleManifestSchema } } },
    ...problemResponses(400, 401, 403, 404, 429),
  },
});

const publishRoute = createRoute({
  method: 'put',
  path: '/{name}',
  summary: 'Publish a new manifest version (version must be latest + 1)',
  middleware: [limitBody(ADMIN_JSON_BYTES), requireScope('admin', { signed: true }), requireJson],
  request: {
    params: NameParam,
    body: { content: { 'application/json': { schema: EnsembleManifestSchema } }, required: true },
  },
  responses: {
    201: { description: 'published', content: { 'application/json': { schema: PointerMoveSchema } } },
    ...problemResponses(400, 401, 403, 409, 413, 415, 429),
  },
});

const rollbackRoute = createRoute({
  method: 'post',
  path: '/{name}/rollback',
  summary: 'Point the ensemble at an earlier version',
  middleware: [limitBody(ADMIN_JSON_BYTES), requireScope('admin', { signed: true }), requireJson],
  request: {
    params: NameParam,
    body: { content: { 'application/json': { schema: RollbackRequestSchema } }, required: true },
  },
  responses: {
    200: { description: 'rolled back', content: { 'application/json': { schema: PointerMoveSchema } } },
    ...problemResponses(400, 401, 403, 404, 413, 415, 429),
  },
});

const predictRoute = createRoute({
  method: 'post',
  path: '/{name}/predict',
  summary: 'Fused prediction for a batch of inputs, or for one raw e-mail sent as message/rfc822',
  middleware: [
    limitBody((env) => numberVar(env.MAX_PREDICT_BYTES, 1 << 20)),
    rawBytesFirst,
    requireScope('predict', { ensembleParam: 'name', publicAccess: true, hold: predictHold }),
    predictBody,
  ],
  request: {
    params: NameParam,
    query: PredictQuerySchema,
    // not `required`: a message/rfc822 body skips the JSON validator (predictBody gates the media type)
    body: {
      content: {
        'application/json': { schema: PredictRequestSchema },
        'message/rfc822': { schema: z.string().openapi({ format: 'binary' }) },
      },
    },
  },
  responses: {
    200: { description: 'fused answers', content: { 'application/json': { schema: PredictResponseSchema } } },
    ...problemResponses(400, 401, 402, 403, 404, 413, 415, 429, 503),
  },
});

export const ensembles = new OpenAPIHono<AppEnv>()
  .openapi(listRoute, async (c) => {
    const withArchived = c.req.valid('query').archived === 'true';
    return c.json({ ensembles: await c.var.runtime.manifests.list(withArchived) }, 200);
  })
  .openapi(getRoute, async (c) => {
    const { name } = c.req.valid('param');
    const { manifests } = c.var.runtime;
    // an archived ensemble's manifests stay readable (its current one too): only serving stops
    const version = c.req.valid('query').version ?? (await manifests.pointer(name)).version;
    const manifest = await manifests.manifest(name, version);
    // the container reads it to publish latest + 1 (functions/container/edge-client.ts)
    c.header('x-chorus-latest-version', String(await manifests.latestVersion(name)));
    return c.json(manifest, 200);
  })
  .openapi(publishRoute, async (c) => {
    const { name } = c.req.valid('param');
    const manifest = c.req.valid('json');
    if (manifest.name !== name) {
      throw new ApiError(400, 'name_mismatch', `manifest name '${manifest.name}' differs from the path '${name}'`);
    }
    const { store, manifests, sessions } = c.var.runtime;
    for (const member of manifest.members) {
      const head = await store.head(member.model.key);
      if (!head || head.size !== member.model.bytes) {
        throw new ApiError(
          400,
          'model_missing',
          `member '${member.id}': ${member.model.key} is not stored with ${member.model.bytes} bytes`,
        );
      }
      // a tokenizer is pinned the same way (key, sha256, bytes): its bytes are checked here too
      const tokenizer = member.featurizer.kind === 'tokenizer' ? member.featurizer.tokenizer : undefined;
      const stored = tokenizer ? await store.head(tokenizer.key) : undefined;
      if (tokenizer && stored && stored.size !== tokenizer.bytes) {
        throw new ApiError(
          400,
          'invalid_manifest',
          `member '${member.id}': ${tokenizer.key} is stored with ${stored.size} bytes, not ${tokenizer.bytes}`,
        );
      }
    }
    // A manifest that could never answer is refused now, not discovered by the first caller. The
    // probe has its own sessions: publishing neither warms nor poisons the serving cache.
    const probe = sessions.detached();
    try {
      await checkManifestGraphs(manifest, probe);
    } finally {
      await probe.clear();
    }
    const result = await manifests.publish(manifest, publisherOf(principalOf(c)));
    if (!result.ok) throw new ApiError(409, result.code, result.message);
    return c.json({ name, version: result.version, previous: result.previous }, 201);
  })
  .openapi(rollbackRoute, async (c) => {
    const { name } = c.req.valid('param');
    const { version } = c.req.valid('json');
    const result = await c.var.runtime.manifests.rollback(name, version);
    if (!result.ok) throw new ApiError(404, result.code, result.message);
    return c.json({ name, version: result.version, previous: result.previous }, 200);
  })
  .openapi(predictRoute, async (c) => {
    const { name } = c.req.valid('param');
    const { manifests, sessions } = c.var.runtime;
    const manifest = await manifests.manifest(name);
    const body = isRawMessage(c.req.header('content-type'))
      ? rawPredictRequest(manifest, new Uint8Array(await c.req.arrayBuffer()), c.req.valid('query'))
      : jsonRequest(c.req.valid('json'), c.req.valid('query'));
    // charged the most it can cost before it runs; what a cascade or abstention skipped is refunded
    const answer = await metered(c, name, maxUnits(manifest.members, body.inputs.length), () =>
      predictEnsemble(manifest, body.inputs, sessions, {
        ...(body.strategy ? { strategy: body.strategy } : {}),
        returnMembers: body.return_members,
      }),
    );
    return c.json(answer, 200);
  })
  .route('/', ensembleLifecycle);

/**
 * The validated JSON body (typed as either content type's schema; only JSON reaches here), with
 * the query's options where the body has none: `?strategy=hard` means the same for both content
 * types, and a body that says otherwise is refused rather than one of them silently ignored.
 */
function jsonRequest(body: PredictRequest | string, query: z.infer<typeof PredictQuerySchema>): PredictRequest {
  if (typeof body === 'string') throw new ApiError(415, 'unsupported_media_type', 'expected application/json');
  if (query.strategy && body.strategy && query.strategy !== body.strategy) {
    throw new ApiError(
      400,
      'validation_failed',
      `strategy '${query.strategy}' in the query and '${body.strategy}' in the body: give one`,
    );
  }
  const strategy = body.strategy ?? query.strategy;
  return {
    ...body,
    ...(strategy ? { strategy } : {}),
    return_members: body.return_members || query.return_members === 'true',
  };
}

/** A raw message as the one input of a predict, with the options a JSON body would carry. */
function rawPredictRequest(
  manifest: EnsembleManifest,
  bytes: Uint8Array,
  query: z.infer<typeof PredictQuerySchema>,
): { inputs: EngineInput[]; strategy?: z.infer<typeof FusionStrategySchema>; return_members: boolean } {
  const field = rawMessageField(manifest);
  if (bytes.length === 0) throw new ApiError(400, 'invalid_input', 'the message/rfc822 body is empty');
  return {
    inputs: [{ [field]: bytes }],
    ...(query.strategy ? { strategy: query.strategy } : {}),
    return_members: query.return_members === 'true',
  };
}
