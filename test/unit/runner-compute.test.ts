/**
 * The container runner records a job's compute time in its status (summed over attempts): the
 * edge charges the submitting key for it once the job finishes (functions/edge/metering/jobs.ts).
 * The edge the runner talks to is a real HTTP server on loopback.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EdgeClient } from '../../functions/container/edge-client';
import { JobRunner } from '../../functions/container/runner';
import { type JobEnvelope, JobEnvelopeSchema, type JobStatus, JobStatusSchema } from '../../lib/schema';
import { getJson, jobKeys, MemoryBlobStore, putJson } from '../../lib/store';
import type { Evaluator } from '../../lib/train';

const manifest = JSON.parse(readFileSync('models/spam/manifest.json', 'utf8')) as { provenance: object };
let server: Server;
let edgeUrl = '';
/** the job whose id the served manifest names as its publisher; any other ensemble answers 500 */
const publishedBy = 'job-compute-0001';

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/v1/ensembles/spam') {
      res.writeHead(200, { 'content-type': 'application/json', 'x-chorus-latest-version': '1' });
      res.end(JSON.stringify({ ...manifest, provenance: { ...manifest.provenance, jobId: publishedBy } }));
      return;
    }
    res.writeHead(500).end('down');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  edgeUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const envelope = (id: string, ensemble: string): JobEnvelope =>
  JobEnvelopeSchema.parse({
    id,
    spec: { kind: 'fit-weights', ensemble, validation: 'datasets/spam/validation.jsonl', method: 'accuracy' },
  });

function runner(store: MemoryBlobStore): JobRunner {
  // the evaluator is never reached: each job here ends before scoring anything
  const evaluator = {} as Evaluator;
  const options = { maxAttempts: 3, stepDelayMs: 0, executionProvider: () => 'cpu' };
  return new JobRunner(store, evaluator, new EdgeClient(edgeUrl, 'secret'), options);
}

const statusOf = async (store: MemoryBlobStore, id: string): Promise<JobStatus> =>
  JobStatusSchema.parse(await getJson(store, jobKeys(id).status));

describe('job compute time', () => {
  it('a finished job and a failed one both say how long they ran', async () => {
    const store = new MemoryBlobStore();
    const jobs = runner(store);
    await jobs.submit(envelope(publishedBy, 'spam'));
    await jobs.submit(envelope('job-compute-0002', 'other'));
    await jobs.idle();
    const done = await statusOf(store, publishedBy);
    expect(done.phase).toBe('succeeded');
    expect(done.computeSeconds).toBeGreaterThanOrEqual(0);
    const failed = await statusOf(store, 'job-compute-0002');
    expect(failed.phase).toBe('failed');
    expect(failed.computeSeconds).toBeGreaterThanOrEqual(0);
  });

  it('a job resumed after a restart adds its attempt to the time the earlier one recorded', async () => {
    const store = new MemoryBlobStore();
    const id = 'job-compute-0003';
    await putJson(store, jobKeys(id).spec, envelope(id, 'other'));
    const interrupted: JobStatus = {
      id,
      kind: 'fit-weights',
      ensemble: 'other',
      phase: 'running',
      progress: 0.5,
      step: 'scoring',
      attempts: 1,
      computeSeconds: 12.5,
      updatedAt: new Date().toISOString(),
    };
    await putJson(store, jobKeys(id).status, interrupted);
    const jobs = runner(store);
    expect(await jobs.resumeInterrupted()).toEqual([id]);
    await jobs.idle();
    const status = await statusOf(store, id);
    expect(status.attempts).toBe(2);
    expect(status.computeSeconds).toBeGreaterThanOrEqual(12.5);
  });
});
