import { swaggerUI } from '@hono/swagger-ui';
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import type { InferenceBackend } from '../../lib/ensemble';
import { issuesOf } from '../../lib/schema';
import { requireScope } from './auth';
import { type AppEnv, provideRuntime } from './context';
import { allowedMethodsOf } from './methods';
import { ApiError, onError, problemResponse } from './problem';
import { batches } from './routes/batches';
import { ensembles } from './routes/ensembles';
import { jobs } from './routes/jobs';
import { keys, publicEnsembles } from './routes/keys';
import { models } from './routes/models';
import { tokenizers } from './routes/tokenizers';
import { usage } from './routes/usage';

const healthRoute = createRoute({
  method: 'get',
  path: '/healthz',
  summary: 'Liveness, and which inference backend this Worker runs',
  responses: {
    200: {
      description: 'alive',
      content: { 'application/json': { schema: z.object({ ok: z.literal(true), backend: z.string() }) } },
    },
  },
});

/**
 * The edge app: one sub-app per resource under routes/, mounted here. Sub-apps have no error
 * handler or validation hook of their own, so errors leave through this app's one onError and
 * schema failures through its defaultHook (zod-openapi resolves a sub-app's hook from its parent).
 */
export function createEdgeApp(backend: InferenceBackend): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) {
        throw new ApiError(
          400,
          'validation_failed',
          'the request does not match the schema',
          issuesOf(result.error.issues),
        );
      }
    },
  });
  app.onError(onError);
  const allowedMethods = allowedMethodsOf(app);
  app.notFound((c) => {
    const allow = allowedMethods(c.req.path);
    if (allow.length === 0) {
      return problemResponse(c, 404, 'route_not_found', `no route for ${c.req.method} ${c.req.path}`);
    }
    c.header('Allow', allow.join(', '));
    return problemResponse(
      c,
      405,
      'method_not_allowed',
      `${c.req.method} is not allowed here; use ${allow.join(', ')}`,
    );
  });
  app.use('*', provideRuntime(backend));

  app.openapi(healthRoute, (c) => c.json({ ok: true as const, backend: backend.name }, 200));
  app.route('/v1/ensembles', ensembles);
  app.route('/v1/models', models);
  app.route('/v1/tokenizers', tokenizers);
  app.route('/v1/jobs', jobs);
  // one admission per request ('/v1/batches/*' matches the upload's own path too); the upload
  // names its ensemble in the query, so the key's allow-list applies there
  app.use('/v1/batches/*', requireScope('batch', { ensembleQuery: 'ensemble' }));
  app.route('/v1/batches', batches);
  app.route('/v1/keys', keys);
  app.route('/v1/public-ensembles', publicEnsembles);
  app.route('/v1/usage', usage);

  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: { title: 'Chorus edge API', version: '0.1.0', description: 'Ensemble inference at the edge.' },
  });
  app.get('/docs', swaggerUI({ url: '/openapi.json' }));
  return app;
}
