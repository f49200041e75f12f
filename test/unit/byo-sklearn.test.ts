/**
 * A model exported the way skl2onnx exports a scikit-learn classifier (ai.onnx.ml
 * LinearClassifier; label and probability outputs) is served by both runtimes, fused with its
 * probabilities as they are, and so is the same model with skl2onnx's default ZipMap
 * (probabilities as a sequence of maps, which neither onnxruntime package hands to JavaScript:
 * served as the tensor the ZipMap labels), its class order checked against the labels at publish.
 */
import onnxProto from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import { createNodeBackend } from '../../lib/backends/onnx-node';
import { createWebBackend } from '../../lib/backends/onnx-web';
import { checkManifestGraphs, predictEnsemble, SessionCache } from '../../lib/ensemble';
import { type EnsembleManifest, EnsembleManifestSchema } from '../../lib/schema';
import { MemoryBlobStore, modelKey, sha256Hex } from '../../lib/store';
import { expectClose } from '../helpers/close';
import { sklearnLikeLogReg, sklearnManifest, softmaxOf } from '../helpers/skl-like';

const { onnx } = onnxProto;

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

async function manifestFor(bytes: Uint8Array, store: MemoryBlobStore, outputName?: string, dtype?: 'float64') {
  const sha256 = await sha256Hex(bytes);
  await store.put(modelKey(sha256), bytes);
  const model = { key: modelKey(sha256), sha256, bytes: bytes.length };
  return EnsembleManifestSchema.parse(sklearnManifest('iris-like', model, ['a', 'b', 'c'], outputName, dtype));
}

/** Publishes `manifest` (its graph checks pass) and expects scikit-learn's predict_proba for every row. */
async function expectPredictProba(
  manifest: EnsembleManifest,
  sessions: SessionCache,
  dtype: 'float32' | 'float64' = 'float32',
): Promise<void> {
  await expect(checkManifestGraphs(manifest, sessions)).resolves.toBeUndefined();
  const answer = await predictEnsemble(
    manifest,
    rows.map((x) => ({ x: { dtype, shape: [4], data: x } })),
    sessions,
  );
  answer.predictions.forEach((p, i) => {
    const probs = p.probabilities as Record<string, number>;
    expectClose([probs.a ?? 0, probs.b ?? 0, probs.c ?? 0], softmaxOf(coef, intercept, rows[i] as number[]), 1e-6);
  });
}

describe.each([createNodeBackend(), createWebBackend()])('a skl2onnx-style classifier in $name', (backend) => {
  it.each([false, true])('publishes and answers predict_proba (ZipMap, the exporter default: %s)', async (zipmap) => {
    const store = new MemoryBlobStore();
    const manifest = await manifestFor(sklearnLikeLogReg(coef, intercept, { zipmap }), store);
    await expectPredictProba(manifest, new SessionCache(backend, store, 64 << 20));
  });

  it.each([false, true])('exported in double (float64 input; ZipMap: %s) it takes a float64 field', async (zipmap) => {
    const store = new MemoryBlobStore();
    const bytes = sklearnLikeLogReg(coef, intercept, { zipmap, double: true });
    const manifest = await manifestFor(bytes, store, undefined, 'float64');
    await expectPredictProba(manifest, new SessionCache(backend, store, 64 << 20), 'float64');
    // a float32 field cannot feed it: publish names both dtypes
    const float32 = EnsembleManifestSchema.parse({
      ...manifest,
      input: { fields: { x: { type: 'tensor', dtype: 'float32', shape: [4] } } },
    });
    await expect(checkManifestGraphs(float32, new SessionCache(backend, store, 64 << 20))).rejects.toThrow(
      /input 'float_input' takes float64, the featurizer produces float32/,
    );
  });

  it('an output that is a sequence, not made by a ZipMap, is still refused at publish', async () => {
    const decoded = onnx.ModelProto.decode(sklearnLikeLogReg(coef, intercept, { zipmap: false }));
    const graph = decoded.graph as InstanceType<typeof onnx.GraphProto>;
    graph.node.push(
      onnx.NodeProto.create({ opType: 'SequenceConstruct', input: ['probability_tensor'], output: ['rows'] }),
    );
    const tensorOfFloat = onnx.TypeProto.create({ tensorType: { elemType: onnx.TensorProto.DataType.FLOAT } });
    graph.output.push(
      onnx.ValueInfoProto.create({ name: 'rows', type: { sequenceType: { elemType: tensorOfFloat } } }),
    );
    const store = new MemoryBlobStore();
    const manifest = await manifestFor(onnx.ModelProto.encode(decoded).finish(), store, 'rows');
    const refused = checkManifestGraphs(manifest, new SessionCache(backend, store, 64 << 20));
    await expect(refused).rejects.toMatchObject({ code: 'invalid_manifest' });
    await expect(refused).rejects.toThrow(/output 'rows' is not a tensor \(a sequence or a map\)/);
  });

  it("a ZipMap's string classes in the manifest's order are served; in another order, publish refuses naming both", async () => {
    const store = new MemoryBlobStore();
    const named = await manifestFor(
      sklearnLikeLogReg(coef, intercept, { zipmap: true, classLabels: ['a', 'b', 'c'] }),
      store,
    );
    await expectPredictProba(named, new SessionCache(backend, store, 64 << 20));

    const swapped = await manifestFor(
      sklearnLikeLogReg(coef, intercept, { zipmap: true, classLabels: ['b', 'a', 'c'] }),
      store,
    );
    const refused = checkManifestGraphs(swapped, new SessionCache(backend, store, 64 << 20));
    await expect(refused).rejects.toMatchObject({ code: 'invalid_manifest' });
    await expect(refused).rejects.toThrow(/classes in the order \[b, a, c\].*labels are \[a, b, c\]/);
  });
});
