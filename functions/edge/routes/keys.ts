/** /v1/keys (API keys: create, list, revoke, credit) and /v1/public-ensembles: admin only. */
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import {
  CreatedKeySchema,
  CreateKeyRequestSchema,
  CreditRequestSchema,
  EnsembleNameSchema,
  KeyIdSchema,
  KeyInfoSchema,
  KeyListSchema,
  PublicEnsembleListSchema,
  PublicEnsembleSchema,
} from '../../../lib/schema';
import { forgetPublic, requireScope } from '../auth';
import type { AppEnv } from '../context';
import { keyInfo } from '../metering/directory';
import { createKey, directoryOf, meterOf, revokeKey } from '../metering/service';
import { ADMIN_JSON_BYTES, limitBody, requireJson } from '../middleware';
import { ApiError, problemResponses } from '../problem';

const admin = requireScope('admin');
const IdParam = z.object({ id: KeyIdSchema });
const NameParam = z.object({ name: EnsembleNameSchema });
const json = <S extends z.ZodType>(schema: S) => ({ content: { 'application/json': { schema } }, required: true });

const createKeyRoute = createRoute({
  method: 'post',
  path: '/',
  summary: 'Create an API key; the key is in this answer only (only its SHA-256 is kept)',
  middleware: [limitBody(ADMIN_JSON_BYTES), admin, requireJson],
  request: { body: json(CreateKeyRequestSchema) },
  responses: {
    201: { description: 'created', content: { 'application/json': { schema: CreatedKeySchema } } },
    ...problemResponses(400, 401, 403, 413, 415, 429),
  },
});

const listKeysRoute = createRoute({
  method: 'get',
  path: '/',
  summary: 'Every key with its scopes, limits and display prefix (never the key)',
  middleware: [admin],
  responses: {
    200: { description: 'keys', content: { 'application/json': { schema: KeyListSchema } } },
    ...problemResponses(401, 403, 429),
  },
});

const revokeKeyRoute = createRoute({
  method: 'delete',
  path: '/{id}',
  summary: 'Revoke a key: its next request is refused',
  middleware: [admin],
  request: { params: IdParam },
  responses: {
    200: { description: 'revoked', content: { 'application/json': { schema: KeyInfoSchema } } },
    ...problemResponses(400, 401, 403, 404, 429),
  },
});

const creditRoute = createRoute({
  method: 'post',
  path: '/{id}/credit',
  summary: 'Add prepaid units to a key created with a budget',
  middleware: [limitBody(ADMIN_JSON_BYTES), admin, requireJson],
  request: { params: IdParam, body: json(CreditRequestSchema) },
  responses: {
    200: {
      description: 'credited',
      content: { 'application/json': { schema: z.object({ id: KeyIdSchema, remaining_units: z.number() }) } },
    },
    ...problemResponses(400, 401, 403, 404, 413, 415, 429),
  },
});

export const keys = new OpenAPIHono<AppEnv>()
  .openapi(createKeyRoute, async (c) => {
    const { key, record } = await createKey(c.env, c.req.valid('json'));
    return c.json({ ...keyInfo(record), key }, 201);
  })
  .openapi(listKeysRoute, async (c) => c.json({ keys: (await directoryOf(c.env).list()).map(keyInfo) }, 200))
  .openapi(revokeKeyRoute, async (c) => {
    const { id } = c.req.valid('param');
    const record = await revokeKey(c.env, id);
    if (!record) throw new ApiError(404, 'not_found', `no API key ${id}`);
    return c.json(keyInfo(record), 200);
  })
  .openapi(creditRoute, async (c) => {
    const { id } = c.req.valid('param');
    const record = await directoryOf(c.env).get(id);
    if (!record) throw new ApiError(404, 'not_found', `no API key ${id}`);
    if (!record.metered) throw new ApiError(400, 'invalid_argument', `key ${id} has no budget to credit`);
    const remaining = await meterOf(c.env, record.hash).addCredit(c.req.valid('json').units);
    return c.json({ id, remaining_units: remaining }, 200);
  });

const listPublicRoute = createRoute({
  method: 'get',
  path: '/',
  summary: 'Ensembles anyone may predict with (under a per-client rate limit)',
  middleware: [admin],
  responses: {
    200: { description: 'public ensembles', content: { 'application/json': { schema: PublicEnsembleListSchema } } },
    ...problemResponses(401, 403, 429),
  },
});

const setPublicRoute = (method: 'put' | 'delete') =>
  createRoute({
    method,
    path: '/{name}',
    summary: method === 'put' ? 'Let anonymous callers predict with the ensemble' : 'Require a key again',
    middleware: [admin],
    request: { params: NameParam },
    responses: {
      200: { description: 'access', content: { 'application/json': { schema: PublicEnsembleSchema } } },
      ...problemResponses(400, 401, 403, 429),
    },
  });

export const publicEnsembles = new OpenAPIHono<AppEnv>()
  .openapi(listPublicRoute, async (c) => c.json({ ensembles: await directoryOf(c.env).publicEnsembles() }, 200))
  .openapi(setPublicRoute('put'), async (c) => {
    const { name } = c.req.valid('param');
    await directoryOf(c.env).setPublic(name, true);
    forgetPublic(name);
    return c.json({ name, public: true }, 200);
  })
  .openapi(setPublicRoute('delete'), async (c) => {
    const { name } = c.req.valid('param');
    await directoryOf(c.env).setPublic(name, false);
    forgetPublic(name);
    return c.json({ name, public: false }, 200);
  });
