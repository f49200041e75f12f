/**
 * Property test at the HTTP boundary, inside workerd with real onnxruntime-web: hostile JSON,
 * MIME and tensors within the body limit never produce a 5xx; every error is problem+json with a
 * documented code; the isolate still answers /healthz afterwards.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { isProblemCode } from '../../lib/schema';
import { call, publishTorchMlp, seedZoo } from './zoo';

beforeAll(async () => {
  await seedZoo();
  await publishTorchMlp('fuzz-tensors');
}, 60_000);

/** Answers must be 2xx/4xx; a 4xx must be problem+json with a documented code. */
async function expectOrderly(res: Response): Promise<void> {
  expect(res.status, await res.clone().text()).toBeLessThan(500);
  if (res.status >= 400) {
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    const body = (await res.json()) as { code: string };
    expect(isProblemCode(body.code), body.code).toBe(true);
  } else {
    await res.arrayBuffer();
  }
}

const post = (path: string, body: string, type = 'application/json') =>
  call(path, { method: 'POST', headers: { 'content-type': type }, body });

// MIME pieces: headers (some repeated, some malformed), nested multiparts, hostile HTML.
const headerLine = fc.oneof(
  fc.constantFrom('Subject: hi', 'From: a@b.c', 'Content-Type: text/html', 'X-Priority: 1', 'Bogus', ': empty'),
  fc.string({ maxLength: 80 }).map((s) => `X-${s.replace(/[\r\n:]/g, '')}: ${s}`),
);
const htmlBody = fc.oneof(
  fc.constantFrom('<!--', '<script>', '<style', '<', '&#x110000;', '&#99999999999;', '<a href="http://'),
  fc.string({ maxLength: 200 }),
);
const mimeMessage = fc
  .record({
    headers: fc.array(headerLine, { maxLength: 30 }),
    depth: fc.integer({ min: 0, max: 80 }),
    repeat: fc.integer({ min: 1, max: 2000 }),
    body: htmlBody,
  })
  .map(({ headers, depth, repeat, body }) => {
    let part = `Content-Type: text/html\r\n\r\n${body.repeat(repeat)}`;
    for (let d = 0; d < depth; d++) {
      part = `Content-Type: multipart/mixed; boundary="b${d}"\r\n\r\n--b${d}\r\n${part}\r\n--b${d}--`;
    }
    return `${headers.join('\r\n')}\r\n${part}`;
  });

const extremeNumber = fc.oneof(
  fc.double(),
  fc.constantFrom(3.5e38, -3.5e38, 3.4e38, -3e38, 1e308, 2 ** 63, -(2 ** 63), 2 ** 53 + 1, 5e-324, -0),
  fc.integer(),
);
// Mostly well-formed tensors (so extreme values reach the model), some malformed in shape or dtype.
const tensorInput = fc.oneof(
  {
    weight: 3,
    arbitrary: fc
      .array(extremeNumber, { minLength: 30, maxLength: 30 })
      .map((data) => ({ x: { dtype: 'float32', shape: [30], data } })),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      x: fc.record({
        dtype: fc.constantFrom('float32', 'int32', 'int64', 'float64'),
        shape: fc.array(fc.integer({ min: -1, max: 40 }), { minLength: 0, maxLength: 3 }),
        data: fc.array(extremeNumber, { maxLength: 40 }),
      }),
    }),
  },
);

describe('hostile requests at the boundary', () => {
  it('hostile JSON bodies are answered in order', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.json({ maxDepth: 6 }), fc.string({ maxLength: 300 })), async (body) => {
        await expectOrderly(await post('/v1/ensembles/spam/predict', body));
      }),
      { numRuns: 60 },
    );
  });

  it('hostile e-mails (deep MIME, many headers, unclosed HTML) are answered in order', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(mimeMessage, { minLength: 1, maxLength: 3 }), async (messages) => {
        const body = JSON.stringify({ inputs: messages.map((message) => ({ message })) });
        await expectOrderly(await post('/v1/ensembles/spam/predict', body));
      }),
      { numRuns: 40 },
    );
  });

  it('hostile tensors are answered in order', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(tensorInput, { minLength: 1, maxLength: 4 }), async (inputs) => {
        await expectOrderly(await post('/v1/ensembles/fuzz-tensors/predict', JSON.stringify({ inputs })));
      }),
      { numRuns: 60 },
    );
  });

  it('random methods, paths and media types are answered in order', async () => {
    const path = fc.constantFrom(
      '/v1/ensembles/spam/predict',
      '/v1/ensembles/spam',
      '/v1/ensembles/spam/rollback',
      '/v1/models',
      '/v1/jobs',
      '/v1/jobs/not-a-job',
      '/openapi.json',
      '/v1/ensembles/%2e%2e',
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH'),
        path,
        fc.constantFrom('application/json', 'text/json', 'application/x+json', 'text/plain', ''),
        fc.string({ maxLength: 100 }),
        async (method, p, type, body) => {
          const init: RequestInit = { method, headers: type ? { 'content-type': type } : {} };
          if (method !== 'GET') init.body = body;
          await expectOrderly(await call(p, init));
        },
      ),
      { numRuns: 60 },
    );
  });

  it('the isolate still answers /healthz afterwards', async () => {
    const res = await call('/healthz');
    expect(res.status).toBe(200);
    expect(((await res.json()) as { ok: boolean }).ok).toBe(true);
  });
});
