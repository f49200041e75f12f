/** /v1/ensembles: list, read, publish and roll back manifest versions, and predict. */
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { checkManifestGraphs, predictEnsemble } from '../../../lib/ensemble';
import { maxUnits } from '../../../lib/metering';
import {
  EnsembleManifestSchema,
  EnsembleNameSchema,
  PredictRequestSchema,
  PredictResponseSchema,
} from '../../../lib/schema';
import { requireScope } from '../auth';
import type { AppEnv } from '../context';
import { numberVar } from '../env';
import { metered, predictHold } from '../metering/charge';
import { ADMIN_JSON_BYTES, limitBody, requireJson } from '../middleware';
import { ApiError, problemResponses } from '../problem';

const NameParam = z.object({ name: EnsembleNameSchema });

const EnsembleListSchema = z.object({
  ensembles: z.array(z.object({ name: EnsembleNameSchema, version: z.number().int() })),
});

/** Where the pointer is now and where it was before a publish or rollback. */
const PointerMoveSchema = z.object({ name: EnsembleNameSchema, version: z.number().int(), previous: z.number().int() });

const RollbackRequestSchema = z.object({ version: z.number().int().positive() }).strict();

const listRoute = createRoute({
  method: 'get',
  path: '/',
  summary: 'Ensembles and their current versions',
  middleware: [requireScope('predict', { signed: true })],
  responses: {
    200: { description: 'ensembles', content: { 'application/json': { schema: EnsembleListSchema } } },
    ...problemResponses(401, 403, 429),
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
  summary: 'Fused prediction for a batch of inputs',
  middleware: [
    limitBody((env) => numberVar(env.MAX_PREDICT_BYTES, 1 << 20)),
    requireScope('predict', { ensembleParam: 'name', publicAccess: true, hold: predictHold }),
    requireJson,
  ],
  request: {
    params: NameParam,
    body: { content: { 'application/json': { schema: PredictRequestSchema } }, required: true },
  },
  responses: {
    200: { description: 'fused answers', content: { 'application/json': { schema: PredictResponseSchema } } },
    ...problemResponses(400, 401, 402, 403, 404, 413, 415, 429, 503),
  },
});

export const ensembles = new OpenAPIHono<AppEnv>()
  .openapi(listRoute, async (c) => c.json({ ensembles: await c.var.runtime.manifests.list() }, 200))
  .openapi(getRoute, async (c) => {
    const { name } = c.req.valid('param');
    const { version } = c.req.valid('query');
    const { manifests } = c.var.runtime;
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
    }
    // A manifest that could never answer is refused now, not discovered by the first caller. The
    // probe has its own sessions: publishing neither warms nor poisons the serving cache.
    const probe = sessions.detached();
    try {
      await checkManifestGraphs(manifest, probe);
    } finally {
      await probe.clear();
    }
    const result = await manifests.publish(manifest);
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
    const body = c.req.valid('json');
    const { manifests, sessions } = c.var.runtime;
    const manifest = await manifests.manifest(name);
    // charged the most it can cost before it runs; what a cascade or abstention skipped is refunded
    const answer = await metered(c, name, maxUnits(manifest.members, body.inputs.length), () =>
      predictEnsemble(manifest, body.inputs, sessions, {
        ...(body.strategy ? { strategy: body.strategy } : {}),
        returnMembers: body.return_members,
      }),
    );
    return c.json(answer, 200);
  });
