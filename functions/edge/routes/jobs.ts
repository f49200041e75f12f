/** /v1/jobs: hand a job to the container function, and read its status and report. */
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { JobIdSchema, JobSpecSchema, JobStatusSchema } from '../../../lib/schema';
import { getJson, getText, jobKeys } from '../../../lib/store';
import { principalOf, requireBudget, requireScope } from '../auth';
import { ContainerClient } from '../container-client';
import type { AppEnv } from '../context';
import { chargeFinishedJob, closeJob, recordJobOwner } from '../metering/jobs';
import { ADMIN_JSON_BYTES, limitBody, requireJson } from '../middleware';
import { ApiError, problemResponses } from '../problem';

const JobIdParam = z.object({ id: JobIdSchema });

const JobAcceptedSchema = z.object({
  id: JobIdSchema,
  status: JobStatusSchema,
  /** where to poll the status and read the report */
  links: z.record(z.string(), z.string()),
});

const submitRoute = createRoute({
  method: 'post',
  path: '/',
  summary: 'Validate, sign and hand a job to the container function',
  middleware: [limitBody(ADMIN_JSON_BYTES), requireScope('jobs'), requireBudget, requireJson],
  request: { body: { content: { 'application/json': { schema: JobSpecSchema } }, required: true } },
  responses: {
    202: { description: 'accepted', content: { 'application/json': { schema: JobAcceptedSchema } } },
    ...problemResponses(400, 401, 402, 403, 413, 415, 429, 503),
  },
});

const statusRoute = createRoute({
  method: 'get',
  path: '/{id}',
  summary: "A job's phase, progress and gate",
  middleware: [requireScope('jobs')],
  request: { params: JobIdParam },
  responses: {
    200: { description: 'status', content: { 'application/json': { schema: JobStatusSchema } } },
    ...problemResponses(400, 401, 403, 404, 429),
  },
});

const reportRoute = createRoute({
  method: 'get',
  path: '/{id}/report',
  summary: "A finished job's report as an HTML page",
  middleware: [requireScope('jobs')],
  request: { params: JobIdParam },
  responses: {
    200: { description: 'report page', content: { 'text/html': { schema: z.string() } } },
    ...problemResponses(400, 401, 403, 404, 429),
  },
});

export const jobs = new OpenAPIHono<AppEnv>()
  .openapi(submitRoute, async (c) => {
    const spec = c.req.valid('json');
    const id = crypto.randomUUID();
    // the key that submits pays the job's compute seconds once it finishes (metering/jobs.ts)
    const principal = principalOf(c);
    const owner = principal?.kind === 'key' ? principal.keyId : null;
    if (owner) await recordJobOwner(c.env, id, owner);
    const status = await ContainerClient.fromEnv(c.env)
      .submit({ id, spec })
      .catch(async (e: unknown) => {
        if (owner) await closeJob(c.env, id);
        throw e;
      });
    // links follow wherever this sub-app is mounted
    const self = `${c.req.path}/${id}`;
    return c.json({ id, status, links: { status: self, report: `${self}/report` } }, 202);
  })
  .openapi(statusRoute, async (c) => {
    const { id } = c.req.valid('param');
    const raw = await getJson(c.var.runtime.store, jobKeys(id).status);
    if (raw === null) throw new ApiError(404, 'not_found', `no job ${id}`);
    const status = JobStatusSchema.parse(raw);
    // the first read that sees the job finished charges its key (once: the ledger dedupes by job
    // id); a charge that fails is retried by the next read or the cron, not the reader's problem
    await chargeFinishedJob(c.env, status).catch((e: unknown) => {
      console.error(`charging job ${id}: ${e instanceof Error ? e.message : String(e)}`);
    });
    return c.json(status, 200);
  })
  .openapi(reportRoute, async (c) => {
    const { id } = c.req.valid('param');
    const html = await getText(c.var.runtime.store, jobKeys(id).reportHtml);
    if (html === null) throw new ApiError(404, 'not_found', `job ${id} has no report (yet)`);
    return c.html(html, 200);
  });
