import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it, vi } from 'vitest';
import { ContainerClient, type Fetcher } from '../../functions/edge/container-client';
import app from '../../functions/edge/index';
import { chargeFinishedJobs } from '../../functions/edge/metering/jobs';
import { ApiError } from '../../functions/edge/problem';
import { SIGNATURE_HEADER, verifyRequest } from '../../lib/jobs';
import { JobEnvelopeSchema, type JobSpec, JobSpecSchema, type JobStatus, UsageResponseSchema } from '../../lib/schema';
import { jobKeys } from '../../lib/store';
import { ADMIN, bearer, call, createKey, postJson } from './zoo';

const spec: JobSpec = JobSpecSchema.parse({
  kind: 'fit-weights',
  ensemble: 'spam',
  validation: 'datasets/spam/validation.jsonl',
  method: 'accuracy',
});

const status = (id: string): JobStatus => ({
  id,
  kind: 'fit-weights',
  ensemble: 'spam',
  phase: 'queued',
  progress: 0,
  step: 'queued',
  attempts: 0,
  updatedAt: '2026-11-23T00:00:00.000Z',
});

async function expectProblem(promise: Promise<unknown>, status: number, code: string) {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ApiError);
  expect(error).toMatchObject({ status, code });
}

describe('job status and report', () => {
  const id = 'job-status-0001';

  it('serves the status the container wrote, 404 for an unknown job, 400 for an invalid id', async () => {
    await env.BUCKET.put(jobKeys(id).status, JSON.stringify(status(id)));
    const res = await call(`/v1/jobs/${id}`, { headers: ADMIN });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(status(id));
    const unknown = await call('/v1/jobs/no-such-job', { headers: ADMIN });
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { code: string }).code).toBe('not_found');
    const invalid = await call('/v1/jobs/NOT_AN_ID', { headers: ADMIN });
    expect(invalid.status).toBe(400);
    expect(((await invalid.json()) as { code: string }).code).toBe('validation_failed');
  });

  it('serves the report page once it exists', async () => {
    expect((await call(`/v1/jobs/${id}/report`, { headers: ADMIN })).status).toBe(404);
    await env.BUCKET.put(jobKeys(id).reportHtml, '<!doctype html><title>report</title>');
    const res = await call(`/v1/jobs/${id}/report`, { headers: ADMIN });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await res.text()).toContain('<title>report</title>');
  });
});

describe('job submission', () => {
  it('is an admin route and validates the spec before reaching the container', async () => {
    expect((await postJson('/v1/jobs', spec)).status).toBe(401);
    const res = await postJson('/v1/jobs', { kind: 'magic', ensemble: 'spam' }, ADMIN);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { code: string }).code).toBe('validation_failed');
  });

  it('answers 503 container_unavailable when no container is configured', async () => {
    const res = await app.fetch(
      new Request('http://chorus.test/v1/jobs', {
        method: 'POST',
        headers: { ...ADMIN, 'content-type': 'application/json' },
        body: JSON.stringify(spec),
      }),
      { ...env, CONTAINER_URL: undefined },
    );
    expect(res.status).toBe(503);
    expect(((await res.json()) as { code: string }).code).toBe('container_unavailable');
  });
});

describe('container client', () => {
  const secret = 'test-secret';
  const answering =
    (res: () => Response, seen: Request[] = []): Fetcher =>
    async (request) => {
      seen.push(request);
      return res();
    };

  it('posts the signed envelope to /jobs and returns the status the container accepted', async () => {
    const seen: Request[] = [];
    const client = new ContainerClient(
      'http://container.test/',
      secret,
      answering(() => Response.json(status('job-1234abcd'), { status: 202 }), seen),
    );
    expect(await client.submit({ id: 'job-1234abcd', spec })).toEqual(status('job-1234abcd'));
    const [request] = seen;
    if (!request) throw new Error('no request');
    expect(request.method).toBe('POST');
    expect(request.url).toBe('http://container.test/jobs');
    const body = await request.text();
    expect(JobEnvelopeSchema.parse(JSON.parse(body))).toEqual({ id: 'job-1234abcd', spec });
    expect(await verifyRequest(secret, request.headers.get(SIGNATURE_HEADER), 'POST', '/jobs', body)).toEqual({
      ok: true,
    });
  });

  it('never sends an envelope that fails its schema', async () => {
    const seen: Request[] = [];
    const client = new ContainerClient(
      'http://container.test',
      secret,
      answering(() => new Response(), seen),
    );
    await expect(client.submit({ id: 'Not An Id', spec })).rejects.toThrow();
    expect(seen).toEqual([]);
  });

  it('maps a refusal, a non-JSON or invalid answer and a network failure to 503 container_unavailable', async () => {
    const submit = (fetcher: Fetcher) =>
      new ContainerClient('http://container.test', secret, fetcher).submit({ id: 'job-1234abcd', spec });
    await expectProblem(submit(answering(() => new Response('busy', { status: 500 }))), 503, 'container_unavailable');
    await expectProblem(submit(answering(() => new Response('<html>', { status: 202 }))), 503, 'container_unavailable');
    await expectProblem(
      submit(answering(() => Response.json({ id: 'x' }, { status: 202 }))),
      503,
      'container_unavailable',
    );
    await expectProblem(
      submit(async () => {
        throw new TypeError('connection refused');
      }),
      503,
      'container_unavailable',
    );
  });

  it("passes on the container's own 400/413 problem, never its raw body, and gives up on a silent one", async () => {
    const submit = (fetcher: Fetcher, timeoutMs?: number) =>
      new ContainerClient('http://container.test', secret, fetcher, timeoutMs).submit({ id: 'job-1234abcd', spec });
    const tooBig = {
      type: 'about:blank',
      title: 'Payload Too Large',
      status: 413,
      code: 'payload_too_large',
      detail: 'a job envelope is at most 65536 bytes',
    };
    await expectProblem(submit(answering(() => Response.json(tooBig, { status: 413 }))), 413, 'payload_too_large');
    const leaky = 'ECONNREFUSED 10.0.0.5:5432 at /srv/app/db.js:42';
    const refused = submit(answering(() => new Response(leaky, { status: 500 })));
    await expectProblem(refused, 503, 'container_unavailable');
    await expect(refused).rejects.not.toThrow(/ECONNREFUSED|db\.js/);
    // accepts the connection and never answers: the signal ends the wait
    const silent: Fetcher = (request) =>
      new Promise((_, reject) => request.signal.addEventListener('abort', () => reject(request.signal.reason)));
    await expectProblem(submit(silent, 50), 503, 'container_unavailable');
  });
});

describe('jobs are charged by compute seconds', () => {
  const containerAccepting = () =>
    vi.spyOn(globalThis, 'fetch').mockImplementation(async (input, init) => {
      const request = new Request(input, init);
      if (new URL(request.url).host !== 'container.test') throw new Error(`unexpected fetch ${request.url}`);
      const { id } = JobEnvelopeSchema.parse(await request.json());
      return Response.json(status(id), { status: 202 });
    });
  const submit = async (headers: Record<string, string>): Promise<string> => {
    const request = new Request('http://chorus.test/v1/jobs', {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify(spec),
    });
    const ctx = createExecutionContext();
    const res = await app.fetch(request, { ...env, CONTAINER_URL: 'http://container.test' }, ctx);
    await waitOnExecutionContext(ctx);
    expect(res.status).toBe(202);
    return ((await res.json()) as { id: string }).id;
  };
  const finish = (id: string, phase: JobStatus['phase'], computeSeconds: number) =>
    env.BUCKET.put(jobKeys(id).status, JSON.stringify({ ...status(id), phase, progress: 1, computeSeconds }));
  const usageOf = async (key: string) =>
    UsageResponseSchema.parse(await (await call('/v1/usage', { headers: bearer(key) })).json());

  it('the submitting key pays once, on the first status read that sees the job finished', async () => {
    const fetchSpy = containerAccepting();
    const { key } = await createKey({ name: 'jobs-meter', scopes: ['jobs'], budget_units: 100 });
    const id = await submit(bearer(key));
    fetchSpy.mockRestore();
    await env.BUCKET.put(jobKeys(id).status, JSON.stringify({ ...status(id), phase: 'running', computeSeconds: 3 }));
    expect((await call(`/v1/jobs/${id}`, { headers: bearer(key) })).status).toBe(200);
    expect((await usageOf(key)).totals.units).toBe(0);
    await finish(id, 'succeeded', 12.5);
    // read by the key, again, and by the admin: one charge of 12.5 s × JOB_UNITS_PER_SECOND
    for (const headers of [bearer(key), bearer(key), ADMIN]) {
      expect((await call(`/v1/jobs/${id}`, { headers })).status).toBe(200);
    }
    const usage = await usageOf(key);
    expect(usage.totals).toMatchObject({ units: 12.5 * Number(env.JOB_UNITS_PER_SECOND || 1), requests: 1 });
    expect(usage.remaining_units).toBe(100 - usage.totals.units);
  });

  it('a failed job costs nothing; a finished job nobody read is charged by the hourly cron', async () => {
    const fetchSpy = containerAccepting();
    const { key } = await createKey({ name: 'jobs-cron', scopes: ['jobs'], budget_units: 100 });
    const failed = await submit(bearer(key));
    const unread = await submit(bearer(key));
    // the admin token has no meter: its job is never charged to anyone
    const byAdmin = await submit(ADMIN);
    fetchSpy.mockRestore();
    await finish(failed, 'failed', 40);
    await finish(unread, 'gated', 7);
    await finish(byAdmin, 'succeeded', 9);
    expect((await call(`/v1/jobs/${failed}`, { headers: bearer(key) })).status).toBe(200);
    expect((await call(`/v1/jobs/${byAdmin}`, { headers: ADMIN })).status).toBe(200);
    expect((await usageOf(key)).totals.units).toBe(0);
    expect(await chargeFinishedJobs(env)).toBe(1);
    expect(await chargeFinishedJobs(env)).toBe(0);
    expect((await usageOf(key)).totals).toMatchObject({
      units: 7 * Number(env.JOB_UNITS_PER_SECOND || 1),
      requests: 1,
    });
  });
});
