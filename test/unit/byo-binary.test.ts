/**
 * Binary classifiers that end in one value per example — a sigmoid's probability as Keras writes
 * `Dense(1, activation='sigmoid')` ([batch, 1]), or a raw logit as a PyTorch model trained with
 * BCEWithLogits ends ([batch]) — are members as they are: `positive-probability` and
 * `positive-logit` give the second label that probability and the first the rest, in both runtimes.
 */
import onnxProto from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import { createNodeBackend } from '../../lib/backends/onnx-node';
import { createWebBackend } from '../../lib/backends/onnx-web';
import { checkManifestGraphs, predictEnsemble, SessionCache } from '../../lib/ensemble';
import { EnsembleManifestSchema, type MemberSpec } from '../../lib/schema';
import { MemoryBlobStore, modelKey, sha256Hex } from '../../lib/store';
import { valueInfo } from '../../lib/train/onnx';
import { expectClose } from '../helpers/close';
import { sklearnLikeLogReg } from '../helpers/skl-like';

const { onnx } = onnxProto;
const F = onnx.TensorProto.DataType.FLOAT;
const w = [0.7, -1.3, 0.4];
const b = -0.2;

/** x [N, 3] → x·w + b, then a sigmoid to [N, 1] (`sigmoid`) or squeezed to [N] logits. */
function binaryModel(kind: 'sigmoid' | 'logit', batch: number | 'batch' = 'batch'): Uint8Array {
  const tensor = (name: string, dims: number[], values: number[]) =>
    onnx.TensorProto.create({ name, dims, dataType: F, floatData: values });
  const nodes = [
    onnx.NodeProto.create({ opType: 'MatMul', input: ['x', 'w'], output: ['xw'] }),
    onnx.NodeProto.create({ opType: 'Add', input: ['xw', 'b'], output: ['z'] }),
    kind === 'sigmoid'
      ? onnx.NodeProto.create({ opType: 'Sigmoid', input: ['z'], output: ['dense_1'] })
      : onnx.NodeProto.create({ opType: 'Squeeze', input: ['z', 'axis'], output: ['logit'] }),
  ];
  const initializer = [tensor('w', [3, 1], w), tensor('b', [1], [b])];
  if (kind === 'logit') {
    initializer.push(
      onnx.TensorProto.create({ name: 'axis', dims: [1], dataType: onnx.TensorProto.DataType.INT64, int64Data: [1] }),
    );
  }
  const graph = onnx.GraphProto.create({
    name: kind,
    node: nodes,
    initializer,
    input: [valueInfo('x', F, [batch, 3])],
    output: [kind === 'sigmoid' ? valueInfo('dense_1', F, [batch, 1]) : valueInfo('logit', F, [batch])],
  });
  return onnx.ModelProto.encode(
    onnx.ModelProto.create({
      irVersion: 7,
      producerName: kind === 'sigmoid' ? 'tf2onnx' : 'pytorch',
      opsetImport: [onnx.OperatorSetIdProto.create({ domain: '', version: 13 })],
      graph,
    }),
  ).finish();
}

const rows = [
  [1, 0, 2],
  [-1, 2, 0.5],
  [0, 0, 0],
];
const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
const pSpam = (x: number[]) => sigmoid(x.reduce((s, v, j) => s + v * (w[j] as number), b));

async function member(
  store: MemoryBlobStore,
  kind: 'sigmoid' | 'logit',
  output: MemberSpec['output'],
  batch: number | 'batch' = 'batch',
) {
  const bytes = binaryModel(kind, batch);
  const sha256 = await sha256Hex(bytes);
  await store.put(modelKey(sha256), bytes);
  return {
    id: kind,
    model: { key: modelKey(sha256), sha256, bytes: bytes.length },
    featurizer: { kind: 'tensor' as const, field: 'x' },
    inputName: 'x',
    outputName: kind === 'sigmoid' ? 'dense_1' : 'logit',
    output,
  };
}

const manifestOf = (members: unknown[], labels = ['ham', 'spam']) => ({
  name: 'binary',
  version: 1,
  task: 'classification',
  labels,
  input: { fields: { x: { type: 'tensor', dtype: 'float32', shape: [3] } } },
  members,
  fusion: { strategy: 'soft' },
  provenance: { createdAt: '2026-11-23T00:00:00.000Z', tool: 'test' },
});

describe.each([createNodeBackend(), createWebBackend()])('one-value binary members in $name', (backend) => {
  it('a sigmoid [batch, 1] and a logit [batch] member answer [1 − p, p], and fuse', async () => {
    const store = new MemoryBlobStore();
    const members = [
      await member(store, 'sigmoid', 'positive-probability'),
      await member(store, 'logit', 'positive-logit'),
    ];
    const manifest = EnsembleManifestSchema.parse(manifestOf(members));
    const sessions = new SessionCache(backend, store, 64 << 20);
    await expect(checkManifestGraphs(manifest, sessions)).resolves.toBeUndefined();
    const inputs = rows.map((x) => ({ x: { dtype: 'float32' as const, shape: [3], data: x } }));
    const answer = await predictEnsemble(manifest, inputs, sessions, { returnMembers: true });
    answer.predictions.forEach((p, i) => {
      const q = pSpam(rows[i] as number[]);
      const probs = p.probabilities as Record<string, number>;
      expectClose([probs.ham ?? 0, probs.spam ?? 0], [1 - q, q], 1e-6);
      expect(p.label).toBe(q > 0.5 ? 'spam' : 'ham');
    });
  });

  it('publish names a member whose declared output count disagrees with its graph', async () => {
    const store = new MemoryBlobStore();
    const sessions = new SessionCache(backend, store, 64 << 20);
    const asLabels = EnsembleManifestSchema.parse(manifestOf([await member(store, 'sigmoid', 'probabilities')]));
    await expect(checkManifestGraphs(asLabels, sessions)).rejects.toThrow(/one value per label/);
    // and a graph of one value per label ([batch, 2], skl2onnx-style) declared as one value
    const bytes = sklearnLikeLogReg([w, w.map((v) => -v)], [b, -b], { zipmap: false });
    const sha256 = await sha256Hex(bytes);
    await store.put(modelKey(sha256), bytes);
    const twoColumns = {
      id: 'two',
      model: { key: modelKey(sha256), sha256, bytes: bytes.length },
      featurizer: { kind: 'tensor' as const, field: 'x' },
      inputName: 'float_input',
      outputName: 'output_probability',
      output: 'positive-probability' as const,
    };
    const asOne = EnsembleManifestSchema.parse(manifestOf([twoColumns]));
    await expect(checkManifestGraphs(asOne, sessions)).rejects.toThrow(/one value per example, for 'spam'/);
    const asTwo = EnsembleManifestSchema.parse(manifestOf([{ ...twoColumns, output: 'probabilities' }]));
    await expect(checkManifestGraphs(asTwo, sessions)).resolves.toBeUndefined();
  });
});

it('an infinite logit is no answer: the member fails instead of claiming certainty', async () => {
  const store = new MemoryBlobStore();
  const manifest = EnsembleManifestSchema.parse(manifestOf([await member(store, 'logit', 'positive-logit')]));
  const sessions = new SessionCache(createNodeBackend(), store, 64 << 20);
  // 0.7 · 3e38 + 1.3 · 3e38 overflows float32 inside the graph
  const overflow = { x: { dtype: 'float32' as const, shape: [3], data: [3e38, -3e38, 0] } };
  await expect(predictEnsemble(manifest, [overflow], sessions)).rejects.toMatchObject({ code: 'no_healthy_member' });
});

describe.each([createNodeBackend(), createWebBackend()])('a graph traced with a fixed batch in $name', (backend) => {
  // torch.onnx.export without dynamic_axes fixes the batch to the example's (often 1)
  it.each([1, 2, 5])('batch %i answers a request of 3 inputs, row for row', async (batch) => {
    const store = new MemoryBlobStore();
    const fixed = { ...(await member(store, 'sigmoid', 'positive-probability', batch)), id: `fixed-${batch}` };
    const manifest = EnsembleManifestSchema.parse(manifestOf([fixed]));
    const sessions = new SessionCache(backend, store, 64 << 20);
    await expect(checkManifestGraphs(manifest, sessions)).resolves.toBeUndefined();
    const inputs = rows.map((x) => ({ x: { dtype: 'float32' as const, shape: [3], data: x } }));
    const answer = await predictEnsemble(manifest, inputs, sessions);
    expect(answer.degraded ?? []).toEqual([]);
    answer.predictions.forEach((p, i) => {
      const q = pSpam(rows[i] as number[]);
      expectClose([(p.probabilities as Record<string, number>).spam ?? 0], [q], 1e-6);
    });
  });
});

it('a one-value member needs exactly two labels', async () => {
  const store = new MemoryBlobStore();
  const three = manifestOf([await member(store, 'logit', 'positive-logit')], ['a', 'b', 'c']);
  const parsed = EnsembleManifestSchema.safeParse(three);
  expect(parsed.success).toBe(false);
  expect(parsed.error?.issues[0]?.path).toEqual(['members', 0, 'output']);
});
