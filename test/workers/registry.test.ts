import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { modelKey } from '../../lib/store';
import byoJson from '../fixtures/byo/breast-cancer-mlp.json';
import byoModel from '../fixtures/byo/breast-cancer-mlp.onnx';
import { torchMlpManifest } from '../helpers/byo';
import { expectClose } from '../helpers/close';
import { ADMIN, call, postJson, putJson, reference, seedZoo, spamManifest, uploadModel } from './zoo';

const byo = byoJson as {
  labels: string[];
  features: number;
  rows: { x: number[]; label: number; probabilities: number[] }[];
};

beforeAll(async () => {
  await seedZoo();
});

describe('model upload', () => {
  it('stores an ONNX model content-addressed and reports its inputs and outputs', async () => {
    const res = await uploadModel(byoModel);
    expect(res.status).toBe(201);
    const body = (await res.json()) as {
      sha256: string;
      key: string;
      bytes: number;
      inputs: string[];
      outputs: string[];
    };
    expect(body.key).toBe(`models/${body.sha256}.onnx`);
    expect(body.bytes).toBe(byoModel.byteLength);
    expect(body.inputs).toEqual(['x']);
    expect(body.outputs).toEqual(['logits']);
    expect((await env.BUCKET.head(body.key))?.size).toBe(byoModel.byteLength);
  });

  it('refuses non-ONNX bytes, other media types, missing and wrong tokens, and oversized bodies', async () => {
    const notOnnx = await uploadModel('definitely not a protobuf model');
    expect(notOnnx.status).toBe(400);
    expect(((await notOnnx.json()) as { code: string }).code).toBe('not_onnx');
    const json = await call('/v1/models', {
      method: 'PUT',
      headers: { ...ADMIN, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(json.status).toBe(415);
    expect((await uploadModel(byoModel, {})).status).toBe(401);
    // an unknown credential is no credential (401); a real key without the admin scope is 403 (keys.test.ts)
    expect((await uploadModel(byoModel, { authorization: 'Bearer wrong' })).status).toBe(401);
    const huge = await uploadModel(new Uint8Array(33 * 1024 * 1024 + 1));
    expect(huge.status).toBe(413);
    expect(((await huge.json()) as { code: string }).code).toBe('payload_too_large');
  });
});

describe('bring your own model: a PyTorch MLP exported by torch.onnx, with a tensor input spec', () => {
  let sha = '';
  beforeAll(async () => {
    sha = ((await (await uploadModel(byoModel)).json()) as { sha256: string }).sha256;
    const model = { key: modelKey(sha), sha256: sha, bytes: byoModel.byteLength };
    const manifest = torchMlpManifest('breast-cancer', model, byo.labels);
    const res = await putJson('/v1/ensembles/breast-cancer', manifest);
    expect(res.status).toBe(201);
  });

  it('predicts the probabilities PyTorch computed (1e-5)', async () => {
    const tensor = (x: number[]) => ({ x: { dtype: 'float32', shape: [byo.features], data: x } });
    const res = await postJson('/v1/ensembles/breast-cancer/predict', { inputs: byo.rows.map((r) => tensor(r.x)) });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { predictions: { label: string; probabilities: Record<string, number> }[] };
    body.predictions.forEach((p, i) => {
      const row = byo.rows[i];
      if (!row) throw new Error('row');
      expectClose(
        byo.labels.map((l) => p.probabilities[l] as number),
        row.probabilities,
        1e-5,
      );
    });
  });

  it('rejects a wrong shape, a wrong dtype and a text value for the tensor field', async () => {
    const row = byo.rows[0]?.x ?? [];
    const bad = [
      { x: { dtype: 'float32', shape: [29], data: row.slice(0, 29) } },
      { x: { dtype: 'int64', shape: [30], data: row.map(Math.round) } },
      { x: { dtype: 'float32', shape: [30], data: row.slice(0, 29) } },
      { x: 'not a tensor' },
    ];
    for (const input of bad) {
      const res = await postJson('/v1/ensembles/breast-cancer/predict', { inputs: [input] });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { code: string }).code).toBe('invalid_input');
    }
  });
});

describe('versioned registry', () => {
  const next = (version: number) => ({ ...structuredClone(spamManifest), name: 'spam-reg', version });

  it('two concurrent publishes of the same version: one wins, the other gets 409', async () => {
    expect((await putJson('/v1/ensembles/spam-reg', next(1))).status).toBe(201);
    const [a, b] = await Promise.all([
      putJson('/v1/ensembles/spam-reg', next(2)),
      putJson('/v1/ensembles/spam-reg', { ...next(2), fusion: { ...spamManifest.fusion, strategy: 'soft' } }),
    ]);
    expect([a.status, b.status].sort()).toEqual([201, 409]);
    const loser = a.status === 409 ? a : b;
    expect(((await loser.json()) as { code: string }).code).toBe('version_conflict');
  });

  it('serves a newly published version without redeploy, and rollback moves the pointer back', async () => {
    const ask = async () =>
      (await (
        await postJson('/v1/ensembles/spam-reg/predict', { inputs: [{ message: reference[0]?.message }] })
      ).json()) as {
        version: number;
      };
    expect((await ask()).version).toBe(2);
    expect((await putJson('/v1/ensembles/spam-reg', next(3))).status).toBe(201);
    expect((await ask()).version).toBe(3);
    const rb = await postJson('/v1/ensembles/spam-reg/rollback', { version: 1 }, ADMIN);
    expect(rb.status).toBe(200);
    expect(await rb.json()).toEqual({ name: 'spam-reg', version: 1, previous: 3 });
    expect((await ask()).version).toBe(1);
    const got = (await (await call('/v1/ensembles/spam-reg', { headers: ADMIN })).json()) as { version: number };
    expect(got.version).toBe(1);
    expect(
      ((await (await call('/v1/ensembles/spam-reg?version=3', { headers: ADMIN })).json()) as { version: number })
        .version,
    ).toBe(3);
    // the next publish continues after the latest, not after the rolled-back current
    expect((await putJson('/v1/ensembles/spam-reg', next(2))).status).toBe(409);
    expect((await putJson('/v1/ensembles/spam-reg', next(4))).status).toBe(201);
  });

  it('lists ensembles with their current versions', async () => {
    const body = (await (await call('/v1/ensembles', { headers: ADMIN })).json()) as {
      ensembles: { name: string; version: number; archived: boolean }[];
    };
    expect(body.ensembles).toContainEqual({ name: 'spam', version: 1, archived: false });
  });

  it('refuses publishes without admin rights, with a name mismatch, with missing models or unknown rollback versions', async () => {
    expect((await putJson('/v1/ensembles/spam-reg', next(9), {})).status).toBe(401);
    const mismatch = await putJson('/v1/ensembles/other', next(1));
    expect(((await mismatch.json()) as { code: string }).code).toBe('name_mismatch');
    const missing = next(5);
    const absent = 'a'.repeat(64); // a well-formed model key (the schema checks that) under which nothing is stored
    missing.members = missing.members.map((m) => ({
      ...m,
      model: { ...m.model, key: modelKey(absent), sha256: absent },
    }));
    const res = await putJson('/v1/ensembles/spam-reg', missing);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { code: string }).code).toBe('model_missing');
    const rb = await postJson('/v1/ensembles/spam-reg/rollback', { version: 99 }, ADMIN);
    expect(rb.status).toBe(404);
    const invalid = await putJson('/v1/ensembles/spam-reg', { ...next(5), members: [] });
    expect(invalid.status).toBe(400);
  });

  it('serves an OpenAPI document generated from the schemas', async () => {
    const doc = (await (await call('/openapi.json')).json()) as { paths: Record<string, unknown> };
    const paths = {
      '/healthz': ['get'],
      '/v1/ensembles': ['get'],
      '/v1/ensembles/{name}': ['get', 'put'],
      '/v1/ensembles/{name}/rollback': ['post'],
      '/v1/ensembles/{name}/predict': ['post'],
      '/v1/ensembles/{name}/archive': ['post'],
      '/v1/ensembles/{name}/restore': ['post'],
      '/v1/ensembles/{name}/versions': ['get'],
      '/v1/ensembles/{name}/diff': ['get'],
      '/v1/models': ['get', 'put'],
      '/v1/jobs': ['post'],
      '/v1/jobs/{id}': ['get'],
      '/v1/jobs/{id}/report': ['get'],
      '/v1/batches': ['post'],
      '/v1/batches/{id}': ['get'],
      '/v1/batches/{id}/results': ['get'],
      '/v1/batches/{id}/errors': ['get'],
      '/v1/keys': ['get', 'post'],
      '/v1/keys/{id}': ['delete'],
      '/v1/keys/{id}/credit': ['post'],
      '/v1/public-ensembles': ['get'],
      '/v1/public-ensembles/{name}': ['delete', 'put'],
      '/v1/tokenizers': ['put'],
      '/v1/usage': ['get'],
      '/v1/usage/export': ['get'],
    };
    expect(Object.keys(doc.paths).sort()).toEqual(Object.keys(paths).sort());
    for (const [path, methods] of Object.entries(paths)) {
      expect(Object.keys(doc.paths[path] ?? {}).sort()).toEqual(methods);
    }
    expect((await call('/docs')).status).toBe(200);
  });
});
