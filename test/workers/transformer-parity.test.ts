/**
 * Model parity inside workerd on the whole test split: every body Python tokenized
 * (models/transformer/test-bodies.json.gz) through the Worker's predict route — tokenizer
 * featurizer, onnxruntime-web, fp32 — against softmax of the PyTorch logits recorded in
 * parity.json.gz, within 1e-4. (test/unit/tokenizer.test.ts does the same for onnxruntime-node.)
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { modelKey } from '../../lib/store';
import bert from '../../models/transformer/bert-tiny.fp32.onnx';
import parityGz from '../../models/transformer/parity.json.gz';
import bodiesGz from '../../models/transformer/test-bodies.json.gz';
import tokenizerJson from '../../models/transformer/tokenizer.json';
import { transformerManifest } from '../helpers/byo';
import { ADMIN, call, postJson, putJson, uploadModel } from './zoo';

const TOL = 1e-4;
const NAME = 'bert-parity';

async function gunzipJson<T>(bytes: ArrayBuffer): Promise<T> {
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'));
  return JSON.parse(await new Response(stream).text()) as T;
}

describe('tiny BERT in workerd = PyTorch on every test message', () => {
  let messages: { id: string; body: string; logits: number[] }[];

  beforeAll(async () => {
    const parity = await gunzipJson<{ messages: { id: string; logits: number[] }[] }>(parityGz);
    const bodies = await gunzipJson<{ messages: { id: string; body: string }[] }>(bodiesGz);
    const byId = new Map(bodies.messages.map((m) => [m.id, m.body]));
    messages = parity.messages.map((m) => ({ ...m, body: byId.get(m.id) ?? '' }));
    const up = (await (await uploadModel(bert)).json()) as { sha256: string };
    const tokBytes = new TextEncoder().encode(JSON.stringify(tokenizerJson));
    const tk = await call('/v1/tokenizers', {
      method: 'PUT',
      headers: { 'content-type': 'application/json', ...ADMIN },
      body: tokBytes,
    });
    const { key, sha256, bytes } = (await tk.json()) as { key: string; sha256: string; bytes: number };
    const tokenizer = { key, sha256, bytes };
    const model = { key: modelKey(up.sha256), sha256: up.sha256, bytes: bert.byteLength };
    const manifest = transformerManifest(NAME, model, tokenizer, { format: 'plain' });
    // no abstention: every body is compared, even the few-word ones
    const member = { ...(manifest.members[0] as object), abstain: undefined };
    const published = await putJson(`/v1/ensembles/${NAME}`, { ...manifest, members: [member] });
    expect(published.status, await published.clone().text()).toBe(201);
    expect((await call(`/v1/public-ensembles/${NAME}`, { method: 'PUT', headers: ADMIN })).status).toBe(200);
  });

  it('answers softmax(PyTorch logits) within 1e-4 for all 1,228 test bodies (batches of 16)', async () => {
    let worst = 0;
    for (let start = 0; start < messages.length; start += 16) {
      const rows = messages.slice(start, start + 16);
      const res = await postJson(`/v1/ensembles/${NAME}/predict`, { inputs: rows.map((r) => ({ message: r.body })) });
      expect(res.status).toBe(200);
      const answer = (await res.json()) as { degraded: unknown[]; predictions: { probabilities: { spam: number } }[] };
      expect(answer.degraded).toEqual([]);
      rows.forEach((r, i) => {
        const [l0, l1] = r.logits as [number, number];
        const spam = 1 / (1 + Math.exp(l0 - l1));
        worst = Math.max(worst, Math.abs((answer.predictions[i]?.probabilities.spam ?? Number.NaN) - spam));
      });
    }
    console.info(`worst |Δp(spam)| over ${messages.length} test bodies: ${worst.toExponential(2)}`);
    expect(messages.length).toBe(1228);
    expect(worst).toBeLessThanOrEqual(TOL);
  }, 600_000);
});
