import { beforeAll, describe, expect, it } from 'vitest';
import { expectProblem, failOnUnhandledErrors } from './problem';
import { ADMIN, call, postJson, reference, seedZoo } from './zoo';

failOnUnhandledErrors();

beforeAll(async () => {
  await seedZoo();
});

const predict = '/v1/ensembles/spam/predict';

describe('bad input over HTTP answers problem+json with a stable code', () => {
  it('malformed JSON', async () => {
    const res = await call(predict, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"inputs": [',
    });
    await expectProblem(res, 400, 'malformed_json');
  });

  it('NaN is not JSON', async () => {
    const res = await call(predict, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"inputs":[{"x":NaN}]}',
    });
    await expectProblem(res, 400, 'malformed_json');
  });

  it('wrong content type', async () => {
    const res = await call(predict, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hello' });
    await expectProblem(res, 415, 'unsupported_media_type');
  });

  it('missing inputs, with the zod issues', async () => {
    const body = (await expectProblem(await postJson(predict, {}), 400, 'validation_failed')) as unknown as {
      issues: { path: string[] }[];
    };
    expect(body.issues[0]?.path).toEqual(['inputs']);
  });

  it('a missing field of the input spec', async () => {
    await expectProblem(await postJson(predict, { inputs: [{ subject: 'hi' }] }), 400, 'invalid_input');
    await expectProblem(await postJson(predict, { inputs: [{}] }), 400, 'invalid_input');
  });

  it('a text field given as a number', async () => {
    await expectProblem(await postJson(predict, { inputs: [{ message: 42 }] }), 400, 'validation_failed');
  });

  it('Infinity (1e999) in a tensor', async () => {
    const res = await call(predict, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"inputs":[{"message":{"dtype":"float32","shape":[1],"data":[1e999]}}]}',
    });
    await expectProblem(res, 400, 'validation_failed');
  });

  it('a 10 MB body', async () => {
    const big = JSON.stringify({ inputs: [{ message: 'x'.repeat(10 * 1024 * 1024) }] });
    await expectProblem(await postJson(predict, JSON.parse(big)), 413, 'payload_too_large');
  });

  it('an unknown ensemble', async () => {
    await expectProblem(
      await postJson('/v1/ensembles/nope/predict', { inputs: [{ message: 'x' }] }, ADMIN),
      404,
      'not_found',
    );
  });

  it('an invalid ensemble name', async () => {
    await expectProblem(
      await postJson('/v1/ensembles/NOPE!/predict', { inputs: [{ message: 'x' }] }, ADMIN),
      400,
      'validation_failed',
    );
  });

  it('an unknown strategy', async () => {
    await expectProblem(
      await postJson(predict, { inputs: [{ message: reference[0]?.message }], strategy: 'median' }),
      400,
      'validation_failed',
    );
  });

  it('unknown top-level fields', async () => {
    await expectProblem(
      await postJson(predict, { inputs: [{ message: 'x' }], colour: 'red' }),
      400,
      'validation_failed',
    );
  });

  it('too many inputs in one call', async () => {
    const inputs = Array.from({ length: 65 }, () => ({ message: 'x' }));
    await expectProblem(await postJson(predict, { inputs }), 400, 'validation_failed');
  });

  it('an unknown route', async () => {
    await expectProblem(await call('/v2/nothing'), 404, 'route_not_found');
  });
});
