import { type Context, Hono, type MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { httpOfError, isChorusError } from '../../lib/errors';
import { SIGNATURE_HEADER, verifyRequest } from '../../lib/jobs';
import {
  issuesOf,
  issuesText,
  JobEnvelopeSchema,
  JobIdSchema,
  PROBLEM_CONTENT_TYPE,
  type ProblemCode,
  problemBody,
} from '../../lib/schema';
import type { JobRunner } from './runner';

/** An RFC 9457 answer built by the shared problemBody (`code` from PROBLEM_CODES), `instance` = the request path. */
function problem(c: Context, status: number, code: ProblemCode, detail: string, extra: Record<string, unknown> = {}) {
  const body = problemBody(status, code, detail, c.req.path, extra);
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': PROBLEM_CONTENT_TYPE } });
}

/** The app's single exit for errors: library errors through the shared table, anything else 500. */
function onError(err: Error, c: Context): Response {
  if (isChorusError(err)) {
    const { status, code, detail, details } = httpOfError(err);
    return problem(c, status, code, detail, details ? { details } : {});
  }
  console.error('container error', err);
  return problem(c, 500, 'internal', 'internal error');
}

/** A job envelope is a small JSON spec; nothing larger is read, signed or not. */
export const MAX_JOB_BODY_BYTES = 64 << 10;

/**
 * The container's HTTP surface: signed job submission, job status, health. Bodies are capped,
 * then the signature verified, then parsed. A replayed signed submission is harmless: the job id
 * is the idempotency key, so it answers the existing job's status and runs nothing twice.
 */
export function createContainerApp(runner: JobRunner, options: { secret: string; executionProvider: () => string }) {
  const app = new Hono();
  app.onError(onError);
  app.get('/healthz', (c) => c.json({ ok: true, executionProvider: options.executionProvider() }));
  const limit = bodyLimit({
    maxSize: MAX_JOB_BODY_BYTES,
    onError: (c) => problem(c, 413, 'payload_too_large', `a job envelope is at most ${MAX_JOB_BODY_BYTES} bytes`),
  });
  // a body the server cannot deliver (a broken chunked encoding) is the caller's 400, not a 500
  const capBody: MiddlewareHandler = async (c, next) => {
    let reached = false;
    try {
      const answer = await limit(c, async () => {
        reached = true;
        await next();
      });
      if (answer) return answer;
    } catch (e) {
      if (reached) throw e;
      return problem(c, 400, 'malformed_request', 'the request body cannot be read (broken chunked encoding?)');
    }
  };
  app.post('/jobs', capBody, async (c) => {
    const body = await c.req.text();
    const check = await verifyRequest(options.secret, c.req.header(SIGNATURE_HEADER), 'POST', '/jobs', body);
    if (!check.ok) return problem(c, 401, 'unauthorized', `request signature ${check.reason}`);
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      return problem(c, 400, 'malformed_json', 'the request body is not valid JSON');
    }
    const parsed = JobEnvelopeSchema.safeParse(json);
    if (!parsed.success)
      return problem(c, 400, 'validation_failed', issuesText(parsed.error.issues), issuesOf(parsed.error.issues));
    return c.json(await runner.submit(parsed.data), 202);
  });
  app.get('/jobs/:id', async (c) => {
    const check = await verifyRequest(options.secret, c.req.header(SIGNATURE_HEADER), 'GET', c.req.path, '');
    if (!check.ok) return problem(c, 401, 'unauthorized', `request signature ${check.reason}`);
    const id = JobIdSchema.safeParse(c.req.param('id'));
    if (!id.success) return problem(c, 400, 'invalid_argument', `'${c.req.param('id')}' is not a job id`);
    const status = await runner.status(id.data);
    return status ? c.json(status) : problem(c, 404, 'not_found', `no job '${id.data}'`);
  });
  app.notFound((c) => problem(c, 404, 'route_not_found', `no route ${c.req.method} ${c.req.path}`));
  return app;
}
