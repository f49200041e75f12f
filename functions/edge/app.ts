import { swaggerUI } from '@hono/swagger-ui';
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { type InferenceBackend, predictEnsemble, SessionCache } from '../../lib/ensemble';
import { SIGNATURE_HEADER, signRequest, verifyRequest } from '../../lib/jobs';
import {
  EnsembleManifestSchema,
  EnsembleNameSchema,
  JobSpecSchema,
  JobStatusSchema,
  PredictRequestSchema,
  PredictResponseSchema,
  Sha256Schema,
} from '../../lib/schema';
import { type BlobStore, getJson, getText, modelKey, sha256Hex } from '../../lib/store';
import { type EdgeEnv, numberVar, storeFromEnv } from './env';
import { ManifestResolver } from './manifests';
import { ApiError, onError, problemResponse } from './problem';

/** Per-isolate state: the store, the session cache and the manifest cache outlive requests. */
interface Runtime {
  store: BlobStore;
  sessions: SessionCache;
  manifests: ManifestResolver;
}

type AppEnv = { Bindings: EdgeEnv; Variables: { runtime: Runtime } };

const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    code: z.string(),
    detail: z.string(),
    instance: z.string().optional(),
  })
  .passthrough();

const problems = (...statuses: number[]) =>
  Object.fromEntries(
    statuses.map((s) => [
      s,
      { description: 'problem', content: { 'application/problem+json': { schema: ProblemSchema } } },
    ]),
  );

const NameParam = z.object({ name: EnsembleNameSchema });

/**
 * Admin routes: the admin bearer token, or a request signed by the container with JOB_SECRET
 * (how jobs publish). API keys replace this middleware later.
 */
const requireAdmin: MiddlewareHandler<AppEnv> = async (c, next) => {
  const signature = c.req.header(SIGNATURE_HEADER);
  if (signature && c.env.JOB_SECRET) {
    const check = await verifyRequest(c.env.JOB_SECRET, signature, c.req.method, c.req.path, await c.req.text());
    if (!check.ok) throw new ApiError(401, 'unauthorized', `request signature ${check.reason}`);
    return next();
  }
  const header = c.req.header('authorization');
  if (!header) throw new ApiError(401, 'unauthorized', 'missing Authorization: Bearer token');
  const token = c.env.ADMIN_TOKEN;
  if (!token || header !== `Bearer ${token}`) throw new ApiError(403, 'forbidden', 'token does not grant admin access');
  await next();
};

/** JSON bodies: 415 for another media type, 400 for malformed JSON, before schema validation. */
const requireJson: MiddlewareHandler<AppEnv> = async (c, next) => {
  const type = c.req.header('content-type') ?? '';
  if (!/^application\/(?:[\w.+-]+\+)?json\b/i.test(type)) {
    throw new ApiError(415, 'unsupported_media_type', `expected application/json, got '${type || 'nothing'}'`);
  }
  try {
    await c.req.json();
  } catch {
    throw new ApiError(400, 'malformed_json', 'the request body is not valid JSON');
  }
  await next();
};

const limit = (bytesVar: (env: EdgeEnv) => number): MiddlewareHandler<AppEnv> => {
  return async (c, next) => {
    const max = bytesVar(c.env);
    return bodyLimit({
      maxSize: max,
      // Return, not throw: body-limit calls this from inside the body stream reader.
      onError: (ctx) => problemResponse(ctx, 413, 'payload_too_large', `request body exceeds ${max} bytes`),
    })(c, next);
  };
};

const predictRoute = createRoute({
  method: 'post',
  path: '/v1/ensembles/{name}/predict',
  summary: 'Fused prediction for a batch of inputs',
  request: {
    params: NameParam,
    body: { content: { 'application/json': { schema: PredictRequestSchema } }, required: true },
  },
  responses: {
    200: { description: 'fused answers', content: { 'application/json': { schema: PredictResponseSchema } } },
    ...problems(400, 404, 413, 415, 503),
  },
});

const listRoute = createRoute({
  method: 'get',
  path: '/v1/ensembles',
  summary: 'Ensembles and their current versions',
  responses: {
    200: {
      description: 'ensembles',
      content: {
        'application/json': {
          schema: z.object({ ensembles: z.array(z.object({ name: z.string(), version: z.number().int() })) }),
        },
      },
    },
  },
});

const getRoute = createRoute({
  method: 'get',
  path: '/v1/ensembles/{name}',
  summary: 'The current (or a given) manifest version',
  request: { params: NameParam, query: z.object({ version: z.coerce.number().int().positive().optional() }) },
  responses: {
    200: { description: 'manifest', content: { 'application/json': { schema: EnsembleManifestSchema } } },
    ...problems(400, 404),
  },
});

const PublishResultSchema = z.object({ name: z.string(), version: z.number().int(), previous: z.number().int() });

const putRoute = createRoute({
  method: 'put',
  path: '/v1/ensembles/{name}',
  summary: 'Publish a new manifest version (version must be latest + 1)',
  request: {
    params: NameParam,
    body: { content: { 'application/json': { schema: EnsembleManifestSchema } }, required: true },
  },
  responses: {
    201: { description: 'published', content: { 'application/json': { schema: PublishResultSchema } } },
    ...problems(400, 401, 403, 409, 413, 415),
  },
});

const rollbackRoute = createRoute({
  method: 'post',
  path: '/v1/ensembles/{name}/rollback',
  summary: 'Point the ensemble at an earlier version',
  request: {
    params: NameParam,
    body: {
      content: { 'application/json': { schema: z.object({ version: z.number().int().positive() }).strict() } },
      required: true,
    },
  },
  responses: {
    200: { description: 'rolled back', content: { 'application/json': { schema: PublishResultSchema } } },
    ...problems(400, 401, 403, 404, 415),
  },
});

const ModelUploadSchema = z.object({
  sha256: Sha256Schema,
  key: z.string(),
  bytes: z.number().int(),
  inputs: z.array(z.string()),
  outputs: z.array(z.string()),
});

const modelRoute = createRoute({
  method: 'put',
  path: '/v1/models',
  summary: 'Upload an ONNX model; stored content-addressed at models/{sha256}.onnx',
  request: {
    body: { content: { 'application/octet-stream': { schema: z.string().openapi({ format: 'binary' }) } } },
  },
  responses: {
    201: { description: 'stored', content: { 'application/json': { schema: ModelUploadSchema } } },
    ...problems(400, 401, 403, 413, 415),
  },
});

function runtimeFor(backend: InferenceBackend): (env: EdgeEnv) => Runtime {
  let runtime: Runtime | undefined;
  return (env) => {
    if (!runtime) {
      const store = storeFromEnv(env);
      runtime = {
        store,
        sessions: new SessionCache(backend, store, numberVar(env.SESSION_CACHE_BYTES, 64 << 20)),
        manifests: new ManifestResolver(env.REGISTRY, store, numberVar(env.MANIFEST_TTL_MS, 5000)),
      };
    }
    return runtime;
  };
}

const rt = (c: Context<AppEnv>): Runtime => c.get('runtime');

export function createEdgeApp(backend: InferenceBackend): OpenAPIHono<AppEnv> {
  const getRuntime = runtimeFor(backend);
  const app = new OpenAPIHono<AppEnv>({
    defaultHook: (result, c) => {
      if (!result.success) {
        return problemResponse(c, 400, 'validation_failed', 'the request does not match the schema', {
          issues: result.error.issues.map((i) => ({ path: i.path, message: i.message, code: i.code })),
        });
      }
    },
  });
  app.onError(onError);
  app.notFound((c) => problemResponse(c, 404, 'route_not_found', `no route for ${c.req.method} ${c.req.path}`));
  app.use('*', async (c, next) => {
    c.set('runtime', getRuntime(c.env));
    await next();
  });

  app.get('/healthz', (c) => c.json({ ok: true, backend: backend.name }));

  app.use(
    '/v1/ensembles/:name/predict',
    limit((e) => numberVar(e.MAX_PREDICT_BYTES, 1 << 20)),
    requireJson,
  );
  app.openapi(predictRoute, async (c) => {
    const { name } = c.req.valid('param');
    const body = c.req.valid('json');
    const manifest = await rt(c).manifests.manifest(name);
    const answer = await predictEnsemble(manifest, body.inputs, rt(c).sessions, {
      ...(body.strategy ? { strategy: body.strategy } : {}),
      returnMembers: body.return_members,
    });
    return c.json(answer, 200);
  });

  app.openapi(listRoute, async (c) => {
    const keys = await rt(c).store.list('ensembles/');
    const ensembles = [];
    for (const key of keys.filter((k) => k.endsWith('/current.json'))) {
      const name = key.split('/')[1] ?? '';
      const version = await rt(c).manifests.currentVersion(name);
      if (version > 0) ensembles.push({ name, version });
    }
    return c.json({ ensembles }, 200);
  });

  app.openapi(getRoute, async (c) => {
    const { name } = c.req.valid('param');
    const { version } = c.req.valid('query');
    const manifest = await rt(c).manifests.manifest(name, version);
    const { latest } = await rt(c).manifests.stub(name).versions();
    c.header('x-chorus-latest-version', String(latest));
    return c.json(manifest, 200);
  });

  app.on(['PUT', 'POST'], ['/v1/ensembles/:name', '/v1/ensembles/:name/rollback'], requireAdmin);
  app.use('/v1/ensembles/:name', async (c, next) => {
    if (c.req.method !== 'PUT') return next();
    return limit(() => 1 << 20)(c, async () => {
      await requireJson(c, next);
    });
  });
  app.use('/v1/ensembles/:name/rollback', requireJson);

  app.openapi(putRoute, async (c) => {
    const { name } = c.req.valid('param');
    const manifest = c.req.valid('json');
    if (manifest.name !== name) {
      throw new ApiError(400, 'name_mismatch', `manifest name '${manifest.name}' differs from the path '${name}'`);
    }
    for (const member of manifest.members) {
      const head = await rt(c).store.head(member.model.key);
      if (!head || head.size !== member.model.bytes) {
        throw new ApiError(
          400,
          'model_missing',
          `member '${member.id}': ${member.model.key} is not stored with ${member.model.bytes} bytes`,
        );
      }
    }
    const result = await rt(c).manifests.stub(name).publish(manifest);
    if (!result.ok) throw new ApiError(409, result.code, result.message);
    rt(c).manifests.invalidate(name);
    return c.json({ name, version: result.version, previous: result.previous }, 201);
  });

  app.openapi(rollbackRoute, async (c) => {
    const { name } = c.req.valid('param');
    const { version } = c.req.valid('json');
    const result = await rt(c).manifests.stub(name).rollback(name, version);
    if (!result.ok) throw new ApiError(404, result.code, result.message);
    rt(c).manifests.invalidate(name);
    return c.json({ name, version: result.version, previous: result.previous }, 200);
  });

  app.use(
    '/v1/models',
    requireAdmin,
    limit((e) => numberVar(e.MAX_MODEL_BYTES, 32 << 20)),
  );
  app.openapi(modelRoute, async (c) => {
    const type = c.req.header('content-type') ?? '';
    if (!/^application\/(octet-stream|onnx)\b/i.test(type)) {
      throw new ApiError(415, 'unsupported_media_type', 'upload the model as application/octet-stream');
    }
    const bytes = new Uint8Array(await c.req.arrayBuffer());
    if (bytes.length === 0) throw new ApiError(400, 'not_onnx', 'empty body');
    // The serving runtime is the judge of what an ONNX model is: if it cannot load it, we refuse it.
    let inputs: readonly string[];
    let outputs: readonly string[];
    try {
      const session = await backend.createSession(bytes);
      inputs = session.inputNames;
      outputs = session.outputNames;
      await session.release();
    } catch (e) {
      throw new ApiError(
        400,
        'not_onnx',
        `onnxruntime cannot load this model: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
    const sha256 = await sha256Hex(bytes);
    const key = modelKey(sha256);
    if (!(await rt(c).store.head(key))) await rt(c).store.put(key, bytes, { contentType: 'application/octet-stream' });
    return c.json({ sha256, key, bytes: bytes.length, inputs: [...inputs], outputs: [...outputs] }, 201);
  });

  const jobRoute = createRoute({
    method: 'post',
    path: '/v1/jobs',
    summary: 'Validate, sign and hand a job to the container function',
    request: { body: { content: { 'application/json': { schema: JobSpecSchema } }, required: true } },
    responses: {
      202: {
        description: 'accepted',
        content: {
          'application/json': {
            schema: z.object({ id: z.string(), status: JobStatusSchema, links: z.record(z.string(), z.string()) }),
          },
        },
      },
      ...problems(400, 401, 403, 415, 503),
    },
  });
  app.use(
    '/v1/jobs',
    requireAdmin,
    limit(() => 1 << 20),
    requireJson,
  );
  app.openapi(jobRoute, async (c) => {
    const spec = c.req.valid('json');
    const id = crypto.randomUUID();
    const body = JSON.stringify({ id, spec });
    const secret = c.env.JOB_SECRET;
    const url = c.env.CONTAINER_URL;
    if (!secret || !url) throw new ApiError(503, 'container_unavailable', 'no container function is configured');
    let res: Response;
    try {
      res = await fetch(`${url}/jobs`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          [SIGNATURE_HEADER]: await signRequest(secret, 'POST', '/jobs', body),
        },
        body,
      });
    } catch (e) {
      throw new ApiError(
        503,
        'container_unavailable',
        `the container function did not answer: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
    if (res.status !== 202)
      throw new ApiError(
        503,
        'container_unavailable',
        `the container refused the job: ${res.status} ${await res.text()}`,
      );
    const status = JobStatusSchema.parse(await res.json());
    return c.json({ id, status, links: { status: `/v1/jobs/${id}`, report: `/v1/jobs/${id}/report` } }, 202);
  });

  const JobIdParam = z.object({ id: z.string().regex(/^[a-z0-9-]{8,64}$/) });
  const jobStatusRoute = createRoute({
    method: 'get',
    path: '/v1/jobs/{id}',
    summary: "A job's phase, progress and gate",
    request: { params: JobIdParam },
    responses: {
      200: { description: 'status', content: { 'application/json': { schema: JobStatusSchema } } },
      ...problems(400, 404),
    },
  });
  app.openapi(jobStatusRoute, async (c) => {
    const { id } = c.req.valid('param');
    const raw = await getJson(rt(c).store, `jobs/${id}/status.json`);
    if (raw === null) throw new ApiError(404, 'not_found', `no job ${id}`);
    return c.json(JobStatusSchema.parse(raw), 200);
  });
  app.get('/v1/jobs/:id/report', async (c) => {
    const id = c.req.param('id');
    if (!/^[a-z0-9-]{8,64}$/.test(id)) throw new ApiError(400, 'validation_failed', 'invalid job id');
    const html = await getText(rt(c).store, `jobs/${id}/report.html`);
    if (html === null) throw new ApiError(404, 'not_found', `job ${id} has no report (yet)`);
    return c.html(html);
  });

  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: { title: 'Chorus edge API', version: '0.1.0', description: 'Ensemble inference at the edge.' },
  });
  app.get('/docs', swaggerUI({ url: '/openapi.json' }));
  return app;
}
