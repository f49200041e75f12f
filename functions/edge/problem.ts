import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { httpOfError, isChorusError } from '../../lib/errors';
import { PROBLEM_CONTENT_TYPE, type ProblemCode, ProblemSchema, problemBody } from '../../lib/schema';

/**
 * An error with an HTTP status and a stable `code` from the documented list (PROBLEM_CODES),
 * answered as RFC 9457 problem+json by the app's one onError. Routes and middleware throw it;
 * nothing else builds error responses.
 */
export class ApiError extends HTTPException {
  readonly code: ProblemCode;
  readonly extra: Record<string, unknown>;

  constructor(status: ContentfulStatusCode, code: ProblemCode, detail: string, extra: Record<string, unknown> = {}) {
    super(status, { message: detail });
    this.code = code;
    this.extra = extra;
  }
}

export function problemResponse(
  c: Context,
  status: ContentfulStatusCode,
  code: ProblemCode,
  detail: string,
  extra: Record<string, unknown> = {},
): Response {
  // c.req.path, not new URL(c.req.url): a Host header that makes no valid URL must still get its answer
  const body = problemBody(status, code, detail, c.req.path, extra);
  return c.body(JSON.stringify(body), status, { 'content-type': PROBLEM_CONTENT_TYPE });
}

/** Statuses Hono and its middleware throw on their own (unreadable bodies, zod-openapi's media-type gate). */
const CODE_OF_HONO_STATUS: Partial<Record<number, ProblemCode>> = {
  400: 'malformed_request',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
};

/** The app's single exit for errors: edge errors, library errors (one shared table), Hono's own. */
export function onError(err: Error, c: Context): Response {
  if (err instanceof ApiError)
    return problemResponse(c, err.status as ContentfulStatusCode, err.code, err.message, err.extra);
  if (isChorusError(err)) {
    const { status, code, detail, details } = httpOfError(err);
    return problemResponse(c, status as ContentfulStatusCode, code, detail, details ? { details } : {});
  }
  const code = err instanceof HTTPException ? CODE_OF_HONO_STATUS[err.status] : undefined;
  if (err instanceof HTTPException && code) {
    return problemResponse(c, err.status as ContentfulStatusCode, code, err.message || code);
  }
  // anything else is a bug: logged here, answered without internals
  console.error('unhandled error', err);
  return problemResponse(c, 500, 'internal', 'internal error');
}

/** OpenAPI `responses` entries for the problem statuses a route can answer. */
export function problemResponses(...statuses: number[]) {
  return Object.fromEntries(
    statuses.map((status) => [
      status,
      { description: 'problem', content: { [PROBLEM_CONTENT_TYPE]: { schema: ProblemSchema } } },
    ]),
  );
}
