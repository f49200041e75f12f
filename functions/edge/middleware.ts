/**
 * Request gates, each a plain middleware that a route lists in its `middleware` (in the order it
 * should run, before schema validation). None of them looks at the HTTP method: a route that does
 * not want a gate does not list it.
 */
import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { SIGNATURE_HEADER, secretsEqual, verifyRequest } from '../../lib/jobs';
import type { AppEnv } from './context';
import type { EdgeEnv } from './env';
import { ApiError } from './problem';

/** JSON bodies of admin routes (manifests, job specs, rollbacks) are small. */
export const ADMIN_JSON_BYTES = 1 << 20;

/**
 * Admin routes: the admin bearer token, or a request signed by the container with JOB_SECRET
 * (how jobs publish). Routes list it after `limitBody`: cap, then verify (a signature covers the
 * body, so it is read here, once, within the cap), then parse.
 */
export const requireAdmin: MiddlewareHandler<AppEnv> = async (c, next) => {
  const signature = c.req.header(SIGNATURE_HEADER);
  if (signature && c.env.JOB_SECRET) {
    const check = await verifyRequest(c.env.JOB_SECRET, signature, c.req.method, c.req.path, await c.req.text());
    if (!check.ok) throw new ApiError(401, 'unauthorized', `request signature ${check.reason}`);
    return next();
  }
  const header = c.req.header('authorization');
  if (!header) throw new ApiError(401, 'unauthorized', 'missing Authorization: Bearer token');
  const token = c.env.ADMIN_TOKEN;
  const given = /^bearer\s+(.+)$/i.exec(header)?.[1] ?? '';
  if (!token || !(await secretsEqual(given, token))) {
    throw new ApiError(403, 'forbidden', 'token does not grant admin access');
  }
  await next();
};

/** 413 past `maxBytes` (a number, or read from the bindings: limits are vars). */
export function limitBody(maxBytes: number | ((env: EdgeEnv) => number)): MiddlewareHandler<AppEnv> {
  return (c, next) => {
    const max = typeof maxBytes === 'number' ? maxBytes : maxBytes(c.env);
    return bodyLimit({
      maxSize: max,
      onError: () => {
        throw new ApiError(413, 'payload_too_large', `request body exceeds ${max} bytes`);
      },
    })(c, next);
  };
}

const JSON_MEDIA_TYPE = /^application\/(?:[\w.+-]+\+)?json\b/i;

/** JSON bodies: 415 for another media type, 400 for malformed JSON, before schema validation. */
export const requireJson: MiddlewareHandler<AppEnv> = async (c, next) => {
  const type = c.req.header('content-type') ?? '';
  if (!JSON_MEDIA_TYPE.test(type)) {
    throw new ApiError(415, 'unsupported_media_type', `expected application/json, got '${type || 'nothing'}'`);
  }
  try {
    await c.req.json();
  } catch {
    throw new ApiError(400, 'malformed_json', 'the request body is not valid JSON');
  }
  await next();
};

/** Binary bodies: 415 unless the media type matches `accepted`; `hint` tells the caller what to send. */
export function requireMediaType(accepted: RegExp, hint: string): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (!accepted.test(c.req.header('content-type') ?? '')) throw new ApiError(415, 'unsupported_media_type', hint);
    await next();
  };
}
