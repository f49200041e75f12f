import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { httpOfError, isChorusError } from '../../lib/errors';

/**
 * An error with an HTTP status and a stable `code`, answered as RFC 9457 problem+json by the
 * app's one onError. Routes and middleware throw it; nothing else builds error responses.
 */
export class ApiError extends HTTPException {
  readonly code: string;
  readonly extra: Record<string, unknown>;

  constructor(status: ContentfulStatusCode, code: string, detail: string, extra: Record<string, unknown> = {}) {
    super(status, { message: detail });
    this.code = code;
    this.extra = extra;
  }
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
};

export function problemResponse(
  c: Context,
  status: ContentfulStatusCode,
  code: string,
  detail: string,
  extra: Record<string, unknown> = {},
): Response {
  return c.body(
    JSON.stringify({
      type: `https://chorus.dev/problems/${code}`,
      title: TITLES[status] ?? 'Error',
      status,
      code,
      detail,
      instance: new URL(c.req.url).pathname,
      ...extra,
    }),
    status,
    { 'content-type': 'application/problem+json' },
  );
}

/** The app's single exit for errors. */
export function onError(err: Error, c: Context): Response {
  if (err instanceof ApiError)
    return problemResponse(c, err.status as ContentfulStatusCode, err.code, err.message, err.extra);
  if (isChorusError(err)) {
    const { status, code, detail, details } = httpOfError(err);
    return problemResponse(c, status as ContentfulStatusCode, code, detail, details ? { details } : {});
  }
  if (err instanceof HTTPException) {
    const status = err.status as ContentfulStatusCode;
    const code = status === 400 ? 'malformed_request' : status === 413 ? 'payload_too_large' : `http_${status}`;
    return problemResponse(c, status, code, err.message || TITLES[status] || 'error');
  }
  console.error('unhandled error', err);
  return problemResponse(c, 500, 'internal', 'internal error');
}
