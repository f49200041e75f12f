/** /v1/models: content-addressed upload of ONNX models that the serving runtime can load. */
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import type { InferenceBackend } from '../../../lib/ensemble';
import { ModelUploadSchema, UnreferencedModelListSchema } from '../../../lib/schema';
import { modelKey, sha256Hex } from '../../../lib/store';
import { requireScope } from '../auth';
import type { AppEnv } from '../context';
import { numberVar } from '../env';
import { limitBody, requireMediaType } from '../middleware';
import { ApiError, problemResponses } from '../problem';

const uploadRoute = createRoute({
  method: 'put',
  path: '/',
  summary: 'Upload an ONNX model; stored content-addressed at models/{sha256}.onnx',
  middleware: [
    limitBody((env) => numberVar(env.MAX_MODEL_BYTES, 32 << 20)),
    requireScope('admin'),
    requireMediaType(/^application\/(?:octet-stream|onnx)\b/i, 'upload the model as application/octet-stream'),
  ],
  request: {
    body: { content: { 'application/octet-stream': { schema: z.string().openapi({ format: 'binary' }) } } },
  },
  responses: {
    201: { description: 'stored', content: { 'application/json': { schema: ModelUploadSchema } } },
    ...problemResponses(400, 401, 403, 413, 415, 429),
  },
});

const listRoute = createRoute({
  method: 'get',
  path: '/',
  summary: 'Models no version of a live (non-archived) ensemble references, for cleanup (?unreferenced=true)',
  middleware: [requireScope('admin')],
  request: { query: z.object({ unreferenced: z.literal('true') }) },
  responses: {
    200: {
      description: 'unreferenced models',
      content: { 'application/json': { schema: UnreferencedModelListSchema } },
    },
    ...problemResponses(400, 401, 403, 429),
  },
});

/** The serving runtime is the judge of what an ONNX model is: if it cannot load it, we refuse it. */
async function modelSignature(backend: InferenceBackend, bytes: Uint8Array) {
  try {
    const session = await backend.createSession(bytes);
    const signature = { inputs: [...session.inputNames], outputs: [...session.outputNames] };
    await session.release();
    return signature;
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    throw new ApiError(400, 'not_onnx', `onnxruntime cannot load this model: ${reason}`);
  }
}

export const models = new OpenAPIHono<AppEnv>()
  .openapi(listRoute, async (c) => c.json({ models: await c.var.runtime.manifests.unreferencedModels() }, 200))
  .openapi(uploadRoute, async (c) => {
    const bytes = new Uint8Array(await c.req.arrayBuffer());
    if (bytes.length === 0) throw new ApiError(400, 'not_onnx', 'empty body');
    const { backend, store } = c.var.runtime;
    const { inputs, outputs } = await modelSignature(backend, bytes);
    const sha256 = await sha256Hex(bytes);
    const key = modelKey(sha256);
    // content-addressed: an object under this key already holds these very bytes
    if (!(await store.head(key))) await store.put(key, bytes, { contentType: 'application/octet-stream' });
    return c.json({ sha256, key, bytes: bytes.length, inputs, outputs }, 201);
  });
