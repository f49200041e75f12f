/**
 * /v1/ensembles/{name}/…: archive and restore, the version list with provenance, and the diff of
 * two versions. Mounted under routes/ensembles.ts; the registry Durable Object keeps the state.
 */
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { diffManifests } from '../../../lib/ensemble';
import {
  ArchiveStateSchema,
  DiffQuerySchema,
  EnsembleNameSchema,
  ManifestDiffSchema,
  VersionListSchema,
} from '../../../lib/schema';
import { requireScope } from '../auth';
import type { AppEnv } from '../context';
import { ApiError, problemResponses } from '../problem';

const NameParam = z.object({ name: EnsembleNameSchema });

const archiveRoute = (action: 'archive' | 'restore') =>
  createRoute({
    method: 'post',
    path: `/{name}/${action}`,
    summary:
      action === 'archive'
        ? 'Stop serving an ensemble (predict answers 404 ensemble_archived); versions and models are kept'
        : 'Serve an archived ensemble again, at the version that was current',
    middleware: [requireScope('admin')],
    request: { params: NameParam },
    responses: {
      200: { description: 'state after the call', content: { 'application/json': { schema: ArchiveStateSchema } } },
      ...problemResponses(401, 403, 404, 409, 429),
    },
  });

const versionsRoute = createRoute({
  method: 'get',
  path: '/{name}/versions',
  summary: 'Every published version: when, by whom (key id, admin-token or job), from which job',
  middleware: [requireScope('predict', { signed: true, ensembleParam: 'name' })],
  request: { params: NameParam },
  responses: {
    200: { description: 'versions, oldest first', content: { 'application/json': { schema: VersionListSchema } } },
    ...problemResponses(401, 403, 404, 429),
  },
});

const diffRoute = createRoute({
  method: 'get',
  path: '/{name}/diff',
  summary: 'What differs between two versions: members, weights, decision, metrics',
  middleware: [requireScope('predict', { signed: true, ensembleParam: 'name' })],
  request: { params: NameParam, query: DiffQuerySchema },
  responses: {
    200: {
      description: 'the diff (before = from, after = to)',
      content: { 'application/json': { schema: ManifestDiffSchema } },
    },
    ...problemResponses(400, 401, 403, 404, 429),
  },
});

export const ensembleLifecycle = new OpenAPIHono<AppEnv>()
  .openapi(archiveRoute('archive'), async (c) => {
    const { name } = c.req.valid('param');
    const result = await c.var.runtime.manifests.setArchived(name, true);
    if (!result.ok) throw new ApiError(result.code === 'not_found' ? 404 : 409, result.code, result.message);
    return c.json({ name, archived: true, version: result.version }, 200);
  })
  .openapi(archiveRoute('restore'), async (c) => {
    const { name } = c.req.valid('param');
    const result = await c.var.runtime.manifests.setArchived(name, false);
    if (!result.ok) throw new ApiError(result.code === 'not_found' ? 404 : 409, result.code, result.message);
    return c.json({ name, archived: false, version: result.version }, 200);
  })
  .openapi(versionsRoute, async (c) => {
    const { name } = c.req.valid('param');
    return c.json(await c.var.runtime.manifests.versionList(name), 200);
  })
  .openapi(diffRoute, async (c) => {
    const { name } = c.req.valid('param');
    const { from, to } = c.req.valid('query');
    const { manifests } = c.var.runtime;
    const latest = await manifests.latestVersion(name);
    if (latest === 0) throw new ApiError(404, 'not_found', `ensemble '${name}' does not exist`);
    for (const v of [from, to]) {
      if (v > latest) {
        throw new ApiError(404, 'unknown_version', `ensemble '${name}' has no version ${v} (latest is ${latest})`);
      }
    }
    const [before, after] = await Promise.all([manifests.manifest(name, from), manifests.manifest(name, to)]);
    return c.json(diffManifests(before, after), 200);
  });
