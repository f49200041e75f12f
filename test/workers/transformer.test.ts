/**
 * Bring your own transformer, inside workerd: the tiny BERT of models/transformer uploaded through
 * PUT /v1/models, its tokenizer.json through PUT /v1/tokenizers, a manifest published by hand
 * (tokenizer featurizer, three graph inputs mapped), and predictions from onnxruntime-web that
 * equal onnxruntime-node's (test/fixtures/transformer/sample.json) within 1e-4.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { modelKey } from '../../lib/store';
import bert from '../../models/transformer/bert-tiny.fp32.onnx';
import tokenizerJson from '../../models/transformer/tokenizer.json';
import sample from '../fixtures/transformer/sample.json';
import { transformerManifest } from '../helpers/byo';
import { batchOf, deliver, dropFile, filesOf, joinBytes, statusOf, testDeps } from './batch-kit';
import { ADMIN, call, postJson, putJson, reference, seedZoo, spamManifest, uploadModel } from './zoo';

const TOL = 1e-4;
const NAME = 'bert-byo';
type Ref = { key: string; sha256: string; bytes: number };

/** tokenizer.json as a user's file: its bytes are what the manifest pins. */
const tokenizerBytes = new TextEncoder().encode(JSON.stringify(tokenizerJson));

function uploadTokenizer(body: BodyInit, headers: Record<string, string> = ADMIN): Promise<Response> {
  return call('/v1/tokenizers', { method: 'PUT', headers: { 'content-type': 'application/json', ...headers }, body });
}

async function problem(res: Response): Promise<{ status: number; type: string; code: string; detail: string }> {
  const body = (await res.json()) as { code: string; detail: string };
  return { status: res.status, type: res.headers.get('content-type') ?? '', code: body.code, detail: body.detail };
}

describe('a transformer member uploaded and published by hand', () => {
  let model: Ref;
  let tokenizer: Ref;

  beforeAll(async () => {
    const up = await uploadModel(bert);
    expect(up.status, await up.clone().text()).toBe(201);
    const m = (await up.json()) as { sha256: string; inputs: string[]; outputs: string[] };
    expect([...m.inputs].sort()).toEqual(['attention_mask', 'input_ids', 'token_type_ids']);
    expect(m.outputs).toEqual(['logits']);
    model = { key: modelKey(m.sha256), sha256: m.sha256, bytes: bert.byteLength };

    const tk = await uploadTokenizer(tokenizerBytes);
    expect(tk.status, await tk.clone().text()).toBe(201);
    const t = (await tk.json()) as Ref & { vocabSize: number };
    expect(t.key).toBe(`tokenizers/${t.sha256}.json`);
    expect(t.bytes).toBe(tokenizerBytes.length);
    expect(t.vocabSize).toBe(8000);
    tokenizer = { key: t.key, sha256: t.sha256, bytes: t.bytes };

    const published = await putJson(
      `/v1/ensembles/${NAME}`,
      transformerManifest(NAME, model, tokenizer, { format: 'plain' }),
    );
    expect(published.status, await published.clone().text()).toBe(201);
    expect((await call(`/v1/public-ensembles/${NAME}`, { method: 'PUT', headers: ADMIN })).status).toBe(200);
  });

  it('answers what onnxruntime-node answers on a sample of test-split bodies, within 1e-4', async () => {
    let worst = 0;
    for (let start = 0; start < sample.messages.length; start += 8) {
      const rows = sample.messages.slice(start, start + 8);
      const res = await postJson(`/v1/ensembles/${NAME}/predict`, { inputs: rows.map((r) => ({ message: r.body })) });
      expect(res.status).toBe(200);
      const answer = (await res.json()) as {
        ran: string[];
        degraded: unknown[];
        predictions: { label: string; probabilities: Record<string, number> }[];
      };
      expect(answer.degraded).toEqual([]);
      expect(answer.ran).toEqual(['bert-tiny']);
      rows.forEach((r, i) => {
        const p = answer.predictions[i];
        worst = Math.max(worst, Math.abs((p?.probabilities.spam ?? Number.NaN) - r.spam));
        expect(p?.label).toBe(r.spam > 0.5 ? 'spam' : 'ham');
      });
    }
    expect(sample.messages.length).toBeGreaterThan(25);
    expect(worst).toBeLessThanOrEqual(TOL);
  });

  it('answers the same for one message alone as inside a padded batch', async () => {
    const one = sample.messages[1];
    const res = await postJson(`/v1/ensembles/${NAME}/predict`, { inputs: [{ message: one?.body }] });
    const answer = (await res.json()) as { predictions: { probabilities: Record<string, number> }[] };
    expect(Math.abs((answer.predictions[0]?.probabilities.spam ?? 0) - (one?.spam ?? 1))).toBeLessThanOrEqual(TOL);
  });

  it('answers batch rows (a file under batches/incoming/) as predict does', async () => {
    const rows = sample.messages.slice(0, 12);
    const lines = rows.map((r) => JSON.stringify({ id: r.id, input: { message: r.body } }));
    const event = await dropFile('bert-sample', joinBytes(lines), NAME);
    const { deps } = testDeps();
    const verdict = await deliver(deps, [event]);
    expect(verdict.retryMessages).toEqual([]);
    const id = await batchOf(event);
    expect(await statusOf(id)).toMatchObject({ state: 'done', counts: { lines: rows.length, ok: rows.length } });
    const { resultRows } = await filesOf(id);
    expect(resultRows.map((r) => r.id)).toEqual(rows.map((r) => r.id));
    resultRows.forEach((r, i) => {
      expect(r.ran).toEqual(['bert-tiny']);
      expect(Math.abs(r.probabilities.spam - (rows[i]?.spam ?? 2))).toBeLessThanOrEqual(TOL);
    });
  });

  it('in a cascade it runs last, only when the cheap members are not confident enough', async () => {
    await seedZoo();
    const bertMember = transformerManifest(NAME, model, tokenizer).members[0];
    const cascade = (name: string, threshold: number) => ({
      ...spamManifest,
      name,
      version: 1,
      members: [...spamManifest.members, bertMember],
      fusion: { strategy: 'soft', quorum: 1, cascadeThreshold: threshold },
    });
    const message = reference[0]?.message;
    const ran: Record<string, { ran: string[]; usage: { units: number } }> = {};
    for (const [name, threshold] of [
      ['bert-cascade-low', 0.5],
      ['bert-cascade-never', 1],
    ] as const) {
      expect((await putJson(`/v1/ensembles/${name}`, cascade(name, threshold))).status).toBe(201);
      expect((await call(`/v1/public-ensembles/${name}`, { method: 'PUT', headers: ADMIN })).status).toBe(200);
      const res = await postJson(`/v1/ensembles/${name}/predict`, { inputs: [{ message }] });
      expect(res.status).toBe(200);
      ran[name] = (await res.json()) as { ran: string[]; usage: { units: number } };
    }
    // confident cheap members stop the cascade before the 20-unit transformer
    expect(ran['bert-cascade-low']?.ran).not.toContain('bert-tiny');
    expect(ran['bert-cascade-low']?.usage.units).toBeLessThan(20);
    // a threshold no partial ensemble reaches runs everyone, the transformer last
    expect(ran['bert-cascade-never']?.ran).toContain('bert-tiny');
    expect(ran['bert-cascade-never']?.usage.units).toBeGreaterThanOrEqual(20);
  });

  it('refuses at publish a mapping that leaves a graph input unfed or names one the graph lacks', async () => {
    const base = transformerManifest('bert-bad', model, tokenizer, { format: 'plain' });
    const member = base.members[0] as Record<string, unknown>;
    const unfed = await putJson('/v1/ensembles/bert-bad', {
      ...base,
      members: [{ ...member, inputs: { input_ids: 'input_ids', attention_mask: 'attention_mask' } }],
    });
    const p1 = await problem(unfed);
    expect(p1).toMatchObject({ status: 400, type: 'application/problem+json', code: 'invalid_manifest' });
    expect(p1.detail).toContain('token_type_ids, which nothing feeds');

    const absent = await putJson('/v1/ensembles/bert-bad', {
      ...base,
      members: [
        { ...member, inputs: { ids: 'input_ids', attention_mask: 'attention_mask', token_type_ids: 'token_type_ids' } },
      ],
    });
    const p2 = await problem(absent);
    expect(p2).toMatchObject({ status: 400, code: 'invalid_manifest' });
    expect(p2.detail).toContain("the graph has no input 'ids'");

    const notMade = await putJson('/v1/ensembles/bert-bad', {
      ...base,
      members: [{ ...member, inputs: { input_ids: 'ids', attention_mask: 'attention_mask', token_type_ids: 'x' } }],
    });
    expect(await problem(notMade)).toMatchObject({ status: 400, code: 'validation_failed' });
  });

  it('refuses at publish a tokenizer whose stored bytes do not hash to the manifest sha256, or that is missing', async () => {
    const other = `${'0'.repeat(63)}1`;
    const forged = { key: `tokenizers/${other}.json`, sha256: other, bytes: tokenizerBytes.length };
    await env.BUCKET.put(forged.key, tokenizerBytes);
    const res = await putJson('/v1/ensembles/bert-forged', transformerManifest('bert-forged', model, forged));
    const p = await problem(res);
    expect(p).toMatchObject({ status: 400, type: 'application/problem+json', code: 'invalid_manifest' });
    expect(p.detail).toContain(`tokenizer ${forged.key} has sha256 ${tokenizer.sha256}`);

    // the right object, declared with the wrong size: refused as a model's would be
    const misSized = { ...tokenizer, bytes: tokenizer.bytes + 1 };
    const sized = await problem(
      await putJson('/v1/ensembles/bert-forged', transformerManifest('bert-forged', model, misSized)),
    );
    expect(sized).toMatchObject({ status: 400, code: 'invalid_manifest' });
    expect(sized.detail).toContain(`is stored with ${tokenizer.bytes} bytes, not ${tokenizer.bytes + 1}`);

    const missing = { ...forged, key: `tokenizers/${'2'.repeat(64)}.json`, sha256: '2'.repeat(64) };
    const gone = await putJson('/v1/ensembles/bert-forged', transformerManifest('bert-forged', model, missing));
    expect(await problem(gone)).toMatchObject({ status: 400, code: 'invalid_manifest' });
  });

  it('PUT /v1/tokenizers refuses what the library cannot build, and callers without admin', async () => {
    const bad = await problem(await uploadTokenizer('{"model": {"type": "NoSuchModel"}}'));
    expect(bad).toMatchObject({ status: 400, type: 'application/problem+json', code: 'not_tokenizer' });
    expect((await problem(await uploadTokenizer('{"truncated'))).code).toBe('not_tokenizer');
    expect((await problem(await uploadTokenizer(''))).code).toBe('not_tokenizer');
    expect((await uploadTokenizer(tokenizerBytes, {})).status).toBe(401);
    const wrongType = await call('/v1/tokenizers', {
      method: 'PUT',
      headers: { 'content-type': 'text/plain', ...ADMIN },
      body: tokenizerBytes,
    });
    expect(wrongType.status).toBe(415);
  });
});
