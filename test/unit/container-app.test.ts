/**
 * The container's HTTP surface refuses what it cannot read before any job code runs: a body the
 * server cannot deliver, an oversized one, an unsigned one. (The runner is never reached here;
 * test/e2e/jobs.test.ts submits real jobs.)
 */
import { describe, expect, it } from 'vitest';
import { createContainerApp, MAX_JOB_BODY_BYTES } from '../../functions/container/app';
import type { JobRunner } from '../../functions/container/runner';

const unreachable = new Proxy({} as JobRunner, {
  get: () => {
    throw new Error('the runner must not be reached');
  },
});
const app = createContainerApp(unreachable, { secret: 's'.repeat(32), executionProvider: () => 'cpu' });

async function problemOf(res: Response) {
  expect(res.headers.get('content-type')).toBe('application/problem+json');
  return { status: res.status, ...((await res.json()) as { code: string; instance: string }) };
}

describe('container job submission', () => {
  it('a body the server cannot deliver is 400 malformed_request', async () => {
    const broken = new ReadableStream<Uint8Array>({
      pull(controller) {
        controller.error(new Error('aborted'));
      },
    });
    const res = await app.fetch(
      new Request('http://container/jobs', {
        method: 'POST',
        headers: { 'transfer-encoding': 'chunked' },
        body: broken,
        duplex: 'half',
      } as RequestInit),
    );
    expect(await problemOf(res)).toMatchObject({ status: 400, code: 'malformed_request', instance: '/jobs' });
  });

  it('an oversized envelope is 413 and an unsigned one 401', async () => {
    const big = new Request('http://container/jobs', { method: 'POST', body: 'x'.repeat(MAX_JOB_BODY_BYTES + 1) });
    expect(await problemOf(await app.fetch(big))).toMatchObject({ status: 413, code: 'payload_too_large' });
    const unsigned = new Request('http://container/jobs', { method: 'POST', body: '{}' });
    expect(await problemOf(await app.fetch(unsigned))).toMatchObject({ status: 401, code: 'unauthorized' });
  });
});
