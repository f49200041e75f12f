/** Batch uploads are streamed on, never buffered: the limit on a chunked body is counted as it is read. */
import { env } from 'cloudflare:workers';
import { Hono } from 'hono';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { AppEnv } from '../../functions/edge/context';
import { limitStreamedBody } from '../../functions/edge/middleware';
import { onError } from '../../functions/edge/problem';
import type { BatchStatus } from '../../lib/schema';
import { CHEAP, lineOf, seedCheapEnsemble } from './batch-kit';
import { expectProblem } from './problem';
import { ADMIN, call, fetchWorker } from './zoo';

beforeAll(async () => {
  await seedCheapEnsemble();
});

/** A body with no length (what a chunked request gives the Worker), `chunks` handed out one per read. */
function chunkedBody(chunks: (Uint8Array | Error)[]): ReadableStream<Uint8Array> {
  let k = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      const next = chunks[k++];
      if (next === undefined) controller.close();
      else if (next instanceof Error) controller.error(next);
      else controller.enqueue(next);
    },
  });
}

describe('limitStreamedBody', () => {
  const app = new Hono<AppEnv>();
  app.onError(onError);
  app.post(
    '/',
    limitStreamedBody(() => 10),
    async (c) => {
      // read as the upload route reads it: straight from the stream
      const reader = (c.var.body ?? c.req.raw.body)?.getReader();
      let bytes = 0;
      for (let r = await reader?.read(); r && !r.done; r = await reader?.read()) bytes += r.value.byteLength;
      return c.json({ bytes });
    },
  );
  const post = (body: ReadableStream<Uint8Array> | string, headers: Record<string, string> = {}) =>
    app.request('/', { method: 'POST', body, headers, duplex: 'half' } as RequestInit, env);
  const bytes = (n: number) => new Uint8Array(n).fill(0x61);

  it('passes a chunked body within the limit through whole', async () => {
    const res = await post(chunkedBody([bytes(4), bytes(6)]));
    expect(await res.json()).toEqual({ bytes: 10 });
  });

  it('413 once a chunked body passes the limit, 400 when it cannot be read, 413 by Content-Length', async () => {
    await expectProblem(await post(chunkedBody([bytes(6), bytes(5)])), 413, 'payload_too_large');
    await expectProblem(
      await post(chunkedBody([bytes(2), new Error('Network connection lost.')])),
      400,
      'malformed_request',
    );
    await expectProblem(await post('a'.repeat(11), { 'content-length': '11' }), 413, 'payload_too_large');
  });
});

describe('a chunked batch upload', () => {
  it('that breaks off: 400, and nothing is stored under its name', async () => {
    // straight to the Worker, as workerd hands it a chunked body with a bad chunk (the test
    // harness's own transport would end such a body early instead)
    const request = new Request(`http://chorus.test/v1/batches?ensemble=${CHEAP}&name=broken-off`, {
      method: 'POST',
      headers: { ...ADMIN, 'content-type': 'application/x-ndjson', 'transfer-encoding': 'chunked' },
      body: chunkedBody([new TextEncoder().encode(`${lineOf(1)}\n`), new Error('Network connection lost.')]),
      duplex: 'half',
    } as RequestInit);
    await expectProblem(await fetchWorker(request), 400, 'malformed_request');
    expect(await env.BUCKET.head(`batches/incoming/${CHEAP}/broken-off.jsonl`)).toBeNull();
  });

  it('is stored part by part (multipart) and fused like any other', async () => {
    const pad = 'p'.repeat(10_000);
    const encoder = new TextEncoder();
    // 6.1 MiB in 64 KiB reads: more than one 5 MiB part
    const lines = Array.from({ length: 640 }, (_, k) => `${lineOf(k + 1).replace('hello', `hello ${pad}`)}\n`);
    const whole = encoder.encode(lines.join(''));
    const reads = Array.from({ length: Math.ceil(whole.length / 65_536) }, (_, k) =>
      whole.subarray(k * 65_536, (k + 1) * 65_536),
    );
    const res = await call(`/v1/batches?ensemble=${CHEAP}&name=chunked`, {
      method: 'POST',
      headers: { ...ADMIN, 'content-type': 'application/x-ndjson' },
      body: chunkedBody(reads),
      duplex: 'half',
    } as RequestInit);
    expect(res.status).toBe(202);
    const { id, bytes, eTag } = (await res.json()) as { id: string; bytes: number; eTag: string };
    expect(bytes).toBe(whole.length);
    // a multipart object's ETag names its part count: two 5 MiB-or-less parts, never one buffer
    expect(eTag).toMatch(/-2$/);
    const done = await vi.waitUntil(
      async () => {
        const s = (await (await call(`/v1/batches/${id}`, { headers: ADMIN })).json()) as BatchStatus;
        return s.state === 'done' || s.state === 'failed' ? s : undefined;
      },
      { timeout: 60_000, interval: 100 },
    );
    expect(done).toMatchObject({ state: 'done', counts: { lines: 640, ok: 640, errors: 0 } });
  }, 70_000);
});
