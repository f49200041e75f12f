/**
 * A model exported the way skl2onnx exports a scikit-learn classifier (ai.onnx.ml
 * LinearClassifier; label and probability outputs) is served by both runtimes, fused with its
 * probabilities as they are; the same model with skl2onnx's default ZipMap (probabilities as a
 * sequence of maps, which neither onnxruntime package can hand to JavaScript) is refused at
 * publish with what to change, instead of failing every request.
 */
import { describe, expect, it } from 'vitest';
import { createNodeBackend } from '../../lib/backends/onnx-node';
import { createWebBackend } from '../../lib/backends/onnx-web';
import { checkManifestGraphs, predictEnsemble, SessionCache } from '../../lib/ensemble';
import { EnsembleManifestSchema } from '../../lib/schema';
import { MemoryBlobStore, modelKey, sha256Hex } from '../../lib/store';
import { expectClose } from '../helpers/close';
import { sklearnLikeLogReg } from '../helpers/skl-like';

const coef = [
  [0.8, -1.2, 0.3, 2.0],
  [-0.4, 0.9, -0.7, 0.1],
  [0.2, 0.1, 1.1, -1.5],
];
const intercept = [0.05, -0.2, 0.1];
const rows = [
  [1, 0, 0.5, 2],
  [0, 3, -1, 0],
  [-2, 1, 1, 1],
];

/** What scikit-learn's predict_proba gives for a multinomial model: softmax(coef · x + intercept). */
const softmaxOf = (x: number[]) => {
  const z = coef.map((w, k) => w.reduce((s, v, j) => s + v * (x[j] as number), intercept[k] as number));
  const m = Math.max(...z);
  const e = z.map((v) => Math.exp(v - m));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
};

async function manifestFor(bytes: Uint8Array, store: MemoryBlobStore) {
  const sha256 = await sha256Hex(bytes);
  await store.put(modelKey(sha256), bytes);
  return EnsembleManifestSchema.parse({
    name: 'iris-like',
    version: 1,
    task: 'classification',
    labels: ['a', 'b', 'c'],
    input: { fields: { x: { type: 'tensor', dtype: 'float32', shape: [4] } } },
    members: [
      {
        id: 'sk-logreg',
        model: { key: modelKey(sha256), sha256, bytes: bytes.length },
        featurizer: { kind: 'tensor', field: 'x' },
        inputName: 'float_input',
        outputName: 'output_probability',
        output: 'probabilities',
      },
    ],
    fusion: { strategy: 'soft' },
    provenance: { createdAt: '2026-11-23T00:00:00.000Z', tool: 'skl2onnx' },
  });
}

describe.each([createNodeBackend(), createWebBackend()])('a skl2onnx-style classifier in $name', (backend) => {
  it('publishes and answers predict_proba', async () => {
    const store = new MemoryBlobStore();
    const manifest = await manifestFor(sklearnLikeLogReg(coef, intercept, { zipmap: false }), store);
    const sessions = new SessionCache(backend, store, 64 << 20);
    await expect(checkManifestGraphs(manifest, sessions)).resolves.toBeUndefined();
    const answer = await predictEnsemble(
      manifest,
      rows.map((x) => ({ x: { dtype: 'float32', shape: [4], data: x } })),
      sessions,
    );
    answer.predictions.forEach((p, i) => {
      const probs = p.probabilities as Record<string, number>;
      expectClose([probs.a ?? 0, probs.b ?? 0, probs.c ?? 0], softmaxOf(rows[i] as number[]), 1e-6);
    });
  });

  it('with ZipMap (the exporter default) it is refused at publish, saying what to change', async () => {
    const store = new MemoryBlobStore();
    const manifest = await manifestFor(sklearnLikeLogReg(coef, intercept, { zipmap: true }), store);
    const refused = checkManifestGraphs(manifest, new SessionCache(backend, store, 64 << 20));
    await expect(refused).rejects.toMatchObject({ code: 'invalid_manifest' });
    await expect(refused).rejects.toThrow(/output 'output_probability' is not a tensor .*zipmap/);
  });
});
