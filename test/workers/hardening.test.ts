/**
 * Hostile and broken requests against the Worker inside workerd (real onnxruntime-web): keys that
 * try to leave their prefix, manifests that could never answer, numbers a tensor cannot hold,
 * built-in names, and HTTP semantics. Every answer is problem+json with a documented code.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { SIGNATURE_HEADER, signRequest } from '../../lib/jobs';
import { type EnsembleManifestInput, isProblemCode } from '../../lib/schema';
import { torchMlpManifest } from '../helpers/byo';
import { ADMIN, call, postJson, publishTorchMlp, putJson, seedZoo, spamManifest } from './zoo';

async function problem(res: Response, status: number, code: string) {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toBe('application/problem+json');
  const body = (await res.json()) as { code: string; detail: string; details?: unknown };
  expect(body.code).toBe(code);
  expect(isProblemCode(body.code)).toBe(true);
  return body;
}

let model: Awaited<ReturnType<typeof publishTorchMlp>>;
const tensorManifest = () => torchMlpManifest('tensors', model, ['benign', 'malignant']);
beforeAll(async () => {
  await seedZoo();
  model = await publishTorchMlp('tensors');
});

describe('keys a request names stay under their prefix', () => {
  it('a job naming a dataset outside datasets/ is refused before it reaches the container', async () => {
    for (const key of ['datasets/../elsewhere/rows.jsonl', 'datasets//x.jsonl', '/datasets/x.jsonl']) {
      const spec = { kind: 'fit-weights', ensemble: 'spam', validation: key, method: 'accuracy' };
      await problem(await postJson('/v1/jobs', spec, ADMIN), 400, 'validation_failed');
    }
  });

  it('a manifest whose model key names another object is refused at publish', async () => {
    const m = structuredClone(spamManifest) as unknown as { version: number; members: { model: { key: string } }[] };
    m.version = 2;
    (m.members[0] as { model: { key: string } }).model.key = 'ensembles/spam/current.json';
    await problem(await putJson('/v1/ensembles/spam', m), 400, 'validation_failed');
  });
});

describe('publish refuses manifests that could never answer', () => {
  const next = (edit: (m: ReturnType<typeof tensorManifest>) => void) => {
    const m = tensorManifest();
    m.version = 2;
    edit(m);
    return putJson('/v1/ensembles/tensors', m);
  };
  const member = (m: EnsembleManifestInput) => m.members[0] as EnsembleManifestInput['members'][number];

  it.each([
    ['an input name not in the graph', (m: EnsembleManifestInput) => Object.assign(member(m), { inputName: 'y' })],
    ['an output name not in the graph', (m: EnsembleManifestInput) => Object.assign(member(m), { outputName: 'p' })],
    [
      'a label count the output cannot give',
      (m: EnsembleManifestInput) => Object.assign(m, { labels: ['a', 'b', 'c'] }),
    ],
    [
      'a field width the graph does not take',
      (m: EnsembleManifestInput) =>
        Object.assign(m, { input: { fields: { x: { type: 'tensor', dtype: 'float32', shape: [31] } } } }),
    ],
    [
      'a dtype the graph does not take',
      (m: EnsembleManifestInput) =>
        Object.assign(m, { input: { fields: { x: { type: 'tensor', dtype: 'int32', shape: [30] } } } }),
    ],
  ])('%s → 400 invalid_manifest', async (_, edit) => {
    const body = await problem(await next(edit), 400, 'invalid_manifest');
    expect(JSON.stringify(body.details)).toContain('torch-mlp');
  });

  it('weights of 1e308 and a meta-learner of the wrong shape → 400 before anything is stored', async () => {
    await problem(
      await next((m) => Object.assign(m.fusion, { weights: { 'torch-mlp': 1e308 } })),
      400,
      'validation_failed',
    );
    const meta = { kind: 'logistic', members: ['ghost'], coef: [[1]], intercept: [0, 0] };
    await problem(
      await next((m) => Object.assign(m.fusion, { strategy: 'stacking', metaLearner: meta })),
      400,
      'validation_failed',
    );
    // nothing above was published: the current version is still 1
    const res = await call('/v1/ensembles/tensors', { headers: ADMIN });
    expect(((await res.json()) as { version: number }).version).toBe(1);
  });
});

describe('inputs are the caller’s: every offender named, never a 503', () => {
  const row = Array.from({ length: 30 }, () => 0.5);
  const x = (data: number[]) => ({ x: { dtype: 'float32', shape: [30], data } });

  it('a float32 overflow is a 400 naming inputs[i].x, not Infinity and a 503', async () => {
    const inputs = [x(row), x([3.5e38, ...row.slice(1)]), x(row), x([...row.slice(1), -1e39])];
    const body = await problem(await postJson('/v1/ensembles/tensors/predict', { inputs }), 400, 'invalid_input');
    const issues = (body.details as { issues: { index: number; field: string; reason: string }[] }).issues;
    expect(issues.map((i) => i.index)).toEqual([1, 3]);
    expect(issues[0]?.reason).toContain('float32');
  });

  it('one message nested past the MIME depth cap in a 64-input request is that input’s 413, not a 503', async () => {
    let deep = 'Content-Type: text/plain\r\n\r\nhello';
    for (let d = 0; d < 40; d++) {
      deep = `Content-Type: multipart/mixed; boundary="b${d}"\r\n\r\n--b${d}\r\n${deep}\r\n--b${d}--`;
    }
    const inputs = Array.from({ length: 64 }, (_, i) => ({
      message: i === 17 ? `Subject: deep\r\n${deep}` : `Subject: note ${i}\r\n\r\nsee you at noon`,
    }));
    const body = await problem(await postJson('/v1/ensembles/spam/predict', { inputs }), 413, 'input_limit_exceeded');
    const issues = (body.details as { issues: { index: number; field: string; reason: string }[] }).issues;
    expect(issues.map((i) => [i.index, i.field])).toEqual([[17, 'message']]);
    expect(issues[0]?.reason).toMatch(/at most 32/);
  });

  it('built-in names as input fields are refused, not dropped', async () => {
    for (const name of ['__proto__', 'constructor', 'toString']) {
      const raw = `{"inputs":[{"message":"Subject: hi\\n\\nhello","${name}":"x"}]}`;
      const res = await call('/v1/ensembles/spam/predict', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: raw,
      });
      await problem(res, 400, 'validation_failed');
    }
  });
});

describe('HTTP semantics', () => {
  it('a wrong method answers 405 with Allow', async () => {
    const res = await call('/v1/ensembles/spam/predict', { method: 'GET' });
    await problem(res, 405, 'method_not_allowed');
    expect(res.headers.get('allow')).toBe('POST');
    const put = await call('/v1/ensembles/spam', { method: 'DELETE' });
    await problem(put, 405, 'method_not_allowed');
    expect(put.headers.get('allow')).toBe('GET, HEAD, PUT');
  });

  it('an unknown path is still 404 route_not_found', async () => {
    await problem(await call('/v1/nowhere'), 404, 'route_not_found');
  });

  it('an unsupported JSON-like media type answers the documented 415', async () => {
    const res = await call('/v1/ensembles/spam/predict', {
      method: 'POST',
      headers: { 'content-type': 'text/json' },
      body: '{"inputs":[]}',
    });
    await problem(res, 415, 'unsupported_media_type');
  });

  it('a signed admin request with a chunked body is read once and answered, not a 500', async () => {
    const body = JSON.stringify({ version: 1 });
    const path = '/v1/ensembles/spam/rollback';
    const signature = await signRequest(env.JOB_SECRET ?? '', 'POST', path, body);
    const stream = new ReadableStream({
      start(controller) {
        const bytes = new TextEncoder().encode(body);
        controller.enqueue(bytes.slice(0, 5));
        controller.enqueue(bytes.slice(5));
        controller.close();
      },
    });
    const res = await call(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [SIGNATURE_HEADER]: signature },
      body: stream,
      // @ts-expect-error: workerd's RequestInit takes duplex for streamed bodies
      duplex: 'half',
    });
    expect(res.status).toBe(200);
  });
});
