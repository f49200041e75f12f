import { Hono } from 'hono';
import { SIGNATURE_HEADER, verifyRequest } from '../../lib/jobs';
import { JobEnvelopeSchema } from '../../lib/schema';
import type { JobRunner } from './runner';

const problem = (status: number, code: string, detail: string) =>
  new Response(JSON.stringify({ type: `https://chorus.dev/problems/${code}`, title: code, status, code, detail }), {
    status,
    headers: { 'content-type': 'application/problem+json' },
  });

/** The container's HTTP surface: signed job submission, job status, health. */
export function createContainerApp(runner: JobRunner, options: { secret: string; executionProvider: string }) {
  const app = new Hono();
  app.onError((err) => {
    console.error('container error', err);
    return problem(500, 'internal', 'internal error');
  });
  app.get('/healthz', (c) => c.json({ ok: true, executionProvider: options.executionProvider }));
  app.post('/jobs', async (c) => {
    const body = await c.req.text();
    const check = await verifyRequest(options.secret, c.req.header(SIGNATURE_HEADER), 'POST', '/jobs', body);
    if (!check.ok) return problem(401, 'unauthorized', `request signature ${check.reason}`);
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      return problem(400, 'malformed_json', 'the request body is not valid JSON');
    }
    const parsed = JobEnvelopeSchema.safeParse(json);
    if (!parsed.success)
      return problem(
        400,
        'validation_failed',
        parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
      );
    return c.json(await runner.submit(parsed.data), 202);
  });
  app.get('/jobs/:id', async (c) => {
    const check = await verifyRequest(options.secret, c.req.header(SIGNATURE_HEADER), 'GET', c.req.path, '');
    if (!check.ok) return problem(401, 'unauthorized', `request signature ${check.reason}`);
    const status = await runner.status(c.req.param('id'));
    return status ? c.json(status) : problem(404, 'not_found', 'no such job');
  });
  return app;
}
