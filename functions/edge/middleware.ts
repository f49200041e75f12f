/**
 * Request gates, each a plain middleware that a route lists in its `middleware` (in the order it
 * should run, before schema validation). None of them looks at the HTTP method: a route that does
 * not want a gate does not list it.
 */
import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import { requireScope } from './auth';
import type { AppEnv } from './context';
import type { EdgeEnv } from './env';
import { ApiError } from './problem';

/** JSON bodies of admin routes (manifests, job specs, rollbacks) are small. */
export const ADMIN_JSON_BYTES = 1 << 20;

/**
 * Admin routes: an API key with the `admin` scope, the bootstrap admin token, or a request signed
 * by the container with JOB_SECRET (how jobs publish). Kept as a name for requireScope('admin'):
 * list it after `limitBody` (cap, then verify a signature over the body, then parse).
 */
export const requireAdmin: MiddlewareHandler<AppEnv> = requireScope('admin', { signed: true });

const tooLarge = (max: number) => new ApiError(413, 'payload_too_large', `request body exceeds ${max} bytes`);
/** A body the runtime cannot deliver (a broken chunked encoding) is the caller's 400. */
const unreadable = () =>
  new ApiError(400, 'malformed_request', 'the request body cannot be read (broken chunked encoding?)');

/** 413 past `maxBytes` (a number, or read from the bindings: limits are vars). */
export function limitBody(maxBytes: number | ((env: EdgeEnv) => number)): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const max = typeof maxBytes === 'number' ? maxBytes : maxBytes(c.env);
    let reached = false;
    try {
      await bodyLimit({
        maxSize: max,
        onError: () => {
          throw tooLarge(max);
        },
      })(c, async () => {
        reached = true;
        await next();
      });
    } catch (e) {
      // reading a body the runtime cannot deliver (a broken chunked encoding) is the caller's 400;
      // anything thrown after the body was read belongs to the route
      if (reached || e instanceof HTTPException) throw e;
      throw unreadable();
    }
  };
}

/**
 * limitBody for a route that streams its body on (batch uploads): a declared length is checked
 * up front; a chunked body is counted as it is read, never buffered, and the read fails with 413
 * past `maxBytes` or 400 when the runtime cannot deliver it (a broken chunked encoding). The route
 * reads the body from `c.var.body` when set, else from the request.
 */
export function limitStreamedBody(maxBytes: (env: EdgeEnv) => number): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const max = maxBytes(c.env);
    const body = c.req.raw.body;
    const declared = c.req.header('content-length');
    if (!body || (declared !== undefined && !c.req.raw.headers.has('transfer-encoding'))) {
      if (Number(declared ?? 0) > max) throw tooLarge(max);
      return next();
    }
    const reader = body.getReader();
    let seen = 0;
    const counted = new ReadableStream<Uint8Array>({
      async pull(controller) {
        let read: ReadableStreamReadResult<Uint8Array>;
        try {
          read = await reader.read();
        } catch {
          controller.error(unreadable());
          return;
        }
        if (read.done) return controller.close();
        seen += read.value.byteLength;
        if (seen > max) {
          controller.error(tooLarge(max));
          await reader.cancel().catch(() => undefined);
          return;
        }
        controller.enqueue(read.value);
      },
      cancel: (reason) => reader.cancel(reason),
    });
    // handed to the route as a variable: wrapped back into a Request, its errors would also
    // surface as unhandled in the runtime's own copy of the body
    c.set('body', counted);
    return next();
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
