/**
 * A scikit-learn classifier as skl2onnx exports it by default (LinearClassifier, then ZipMap:
 * probabilities as a sequence of {class: p} maps) published and served through the Worker, in
 * onnxruntime-web inside workerd; and a text pipeline exported the same way, beside the zoo.
 */
import { describe, expect, it } from 'vitest';
import { parseEmail } from '../../lib/features';
import type { EnsembleManifestInput } from '../../lib/schema';
import { modelKey } from '../../lib/store';
import { expectClose } from '../helpers/close';
import {
  sklearnLikeLogReg,
  sklearnLikeTextPipeline,
  sklearnManifest,
  softmaxOf,
  textPipelineProbability,
} from '../helpers/skl-like';
import { ADMIN, postJson, putJson, reference, seedZoo, spamManifest, uploadModel } from './zoo';

const coef = [
  [0.8, -1.2, 0.3, 2.0],
  [-0.4, 0.9, -0.7, 0.1],
  [0.2, 0.1, 1.1, -1.5],
];
const intercept = [0.05, -0.2, 0.1];
const labels = ['setosa', 'versicolor', 'virginica'];
const rows = [
  [1, 0, 0.5, 2],
  [0, 3, -1, 0],
];

async function publish(name: string, classLabels: string[]): Promise<Response> {
  const bytes = sklearnLikeLogReg(coef, intercept, { zipmap: true, classLabels });
  const { sha256 } = (await (await uploadModel(bytes)).json()) as { sha256: string };
  const model = { key: modelKey(sha256), sha256, bytes: bytes.byteLength };
  return putJson(`/v1/ensembles/${name}`, sklearnManifest(name, model, labels));
}

describe('bring your own model: a skl2onnx classifier with its default ZipMap', () => {
  it("publishes and answers predict_proba in the manifest's label order", async () => {
    expect((await publish('iris-zipmap', labels)).status).toBe(201);
    const res = await postJson(
      '/v1/ensembles/iris-zipmap/predict',
      {
        inputs: rows.map((x) => ({ x: { dtype: 'float32', shape: [4], data: x } })),
      },
      ADMIN,
    );
    expect(res.status).toBe(200);
    const body = (await res.json()) as { predictions: { probabilities: Record<string, number> }[] };
    body.predictions.forEach((p, i) => {
      expectClose(
        labels.map((l) => p.probabilities[l] as number),
        softmaxOf(coef, intercept, rows[i] as number[]),
        1e-6,
      );
    });
  });

  it('refuses a model whose ZipMap orders the classes unlike the labels (400 invalid_manifest)', async () => {
    const res = await publish('iris-swapped', ['versicolor', 'setosa', 'virginica']);
    expect(res.status).toBe(400);
    const problem = (await res.json()) as { code: string; detail: string };
    expect(problem.code).toBe('invalid_manifest');
    expect(problem.detail).toMatch(/\[versicolor, setosa, virginica\].*\[setosa, versicolor, virginica\]/);
  });
});

describe('bring your own model: a skl2onnx text pipeline (TfidfVectorizer + LogisticRegression) beside the zoo', () => {
  const pipeline = {
    vocabulary: ['free', 'money', 'click', 'lunch', 'meeting', 'tomorrow'],
    idf: [1.4, 1.7, 1.9, 2.1, 1.6, 1.3],
    coef: [2.5, 2.2, 2.8, -2.4, -2.0, -1.1],
    intercept: -0.3,
  };

  it('answers with the zoo: its string input is fed the body text, its ZipMap read as a tensor', async () => {
    await seedZoo();
    const bytes = sklearnLikeTextPipeline(pipeline, ['ham', 'spam']);
    const { sha256 } = (await (await uploadModel(bytes)).json()) as { sha256: string };
    const text: EnsembleManifestInput['members'][number] = {
      id: 'sk-tfidf',
      model: { key: modelKey(sha256), sha256, bytes: bytes.byteLength },
      featurizer: { kind: 'text', field: 'message', view: 'body', maxLength: 20_000 },
      inputName: 'input',
      outputName: 'output_probability',
      output: 'probabilities',
      costUnits: 1,
    };
    const manifest = { ...spamManifest, name: 'spam-sklearn', version: 1, members: [...spamManifest.members, text] };
    expect((await putJson('/v1/ensembles/spam-sklearn', manifest)).status).toBe(201);
    const message = reference[0]?.message as string;
    const res = await postJson(
      '/v1/ensembles/spam-sklearn/predict',
      { inputs: [{ message }], return_members: true },
      ADMIN,
    );
    expect(res.status).toBe(200);
    const [answer] = ((await res.json()) as { predictions: { members: Record<string, Record<string, number>> }[] })
      .predictions;
    const expected = textPipelineProbability(pipeline, (await parseEmail(message)).body);
    expect(answer?.members['sk-tfidf']?.spam).toBeCloseTo(expected, 6);
    expect(Object.keys(answer?.members ?? {})).toEqual(expect.arrayContaining(spamManifest.members.map((m) => m.id)));
  });
});
