import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createNodeBackend } from '../../lib/backends/onnx-node';
import { createWebBackend } from '../../lib/backends/onnx-web';
import type { InferenceBackend, InputTensor } from '../../lib/ensemble';
import { featurizeSparseRows, featurizeText, parseEmail } from '../../lib/features';
import { EnsembleManifestSchema } from '../../lib/schema';
import {
  createRng,
  dequantizedModel,
  exportOnnx,
  type FastTextModel,
  type LinearModel,
  predictProba,
  type SparseRow,
  type TrainedModel,
  trainFastText,
  trainLogisticRegression,
  trainMlp,
  trainNaiveBayes,
} from '../../lib/train';
import { expectClose } from '../helpers/close';

const backends: InferenceBackend[] = [createNodeBackend(), createWebBackend()];
const TOL = 1e-5;

function randomRows(n: number, dim: number, seed: number): { rows: SparseRow[]; labels: number[] } {
  const rng = createRng(seed);
  const rows: SparseRow[] = [];
  const labels: number[] = [];
  for (let i = 0; i < n; i++) {
    const y = Math.floor(rng() * 3);
    const idx = [...new Set([y * 5 + Math.floor(rng() * 5), Math.floor(rng() * dim), Math.floor(rng() * dim)])].sort(
      (a, b) => a - b,
    );
    rows.push({ indices: Int32Array.from(idx), values: Float32Array.from(idx, () => 0.2 + rng()) });
    labels.push(y);
  }
  return { rows, labels };
}

async function runAll(bytes: Uint8Array, feeds: Record<string, InputTensor>): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for (const backend of backends) {
    const session = await backend.createSession(bytes);
    out.push(Float32Array.from((await session.run(feeds, 'probabilities')).data));
    await session.release();
  }
  return out;
}

async function expectParity(
  model: TrainedModel,
  inputs: (SparseRow | number[])[],
  input: InputTensor,
  sparse?: Record<string, InputTensor>,
) {
  for (const variant of ['fp32', 'int8'] as const) {
    const reference = variant === 'int8' ? dequantizedModel(model) : model;
    const expected = inputs.flatMap((x) => Array.from(predictProba(reference, x)));
    const exported = exportOnnx(model, { labels: ['a', 'b', 'c'], variant });
    for (const out of await runAll(exported.bytes, { [exported.inputName]: input })) expectClose(out, expected, TOL);
    if (!sparse) continue;
    // the same model taking the rows' non-zeros (ids + values) instead of dense rows
    const gathered = exportOnnx(model, { labels: ['a', 'b', 'c'], variant, layout: 'sparse' });
    expect(gathered.inputs).toEqual({ ids: 'ids', values: 'values' });
    for (const out of await runAll(gathered.bytes, sparse)) expectClose(out, expected, TOL);
  }
}

describe('ONNX export: TypeScript forward = onnxruntime-node = onnxruntime-web (1e-5)', () => {
  const dim = 15;
  const { rows, labels } = randomRows(300, dim, 9);
  const batch = rows.slice(0, 12);
  const dense = new Float32Array(batch.length * dim);
  batch.forEach((r, i) => {
    r.indices.forEach((j, k) => {
      dense[i * dim + j] = r.values[k] as number;
    });
  });
  const denseInput: InputTensor = { dtype: 'float32', data: dense, dims: [batch.length, dim] };
  // the batch's non-zeros padded to the longest row with (id 0, value 0), as a sparse featurizer makes them
  const width = Math.max(...batch.map((r) => r.indices.length)) + 1;
  const ids = new BigInt64Array(batch.length * width);
  const values = new Float32Array(batch.length * width);
  batch.forEach((r, i) => {
    r.indices.forEach((j, k) => {
      ids[i * width + k] = BigInt(j);
      values[i * width + k] = r.values[k] as number;
    });
  });
  const sparseInput: Record<string, InputTensor> = {
    ids: { dtype: 'int64', data: ids, dims: [batch.length, width] },
    values: { dtype: 'float32', data: values, dims: [batch.length, width] },
  };

  it('logistic regression, fp32 and int8, dense and sparse', async () => {
    const m: LinearModel = trainLogisticRegression(rows, labels, { classes: 3, inputDim: dim, epochs: 5 });
    m.temperature = 0.8;
    await expectParity(m, batch, denseInput, sparseInput);
  });

  it('naive Bayes, fp32 and int8, dense and sparse', async () => {
    const m = trainNaiveBayes(rows, labels, { classes: 3, inputDim: dim });
    m.temperature = 3;
    await expectParity(m, batch, denseInput, sparseInput);
  });

  it('refuses a sparse layout for a model that is not linear', () => {
    const docs = rows.map((r) => Int32Array.from(r.indices));
    const m = trainFastText(docs, labels, { classes: 3, buckets: dim, maxIds: 6, dim: 4, epochs: 1 });
    expect(() => exportOnnx(m, { labels: ['a', 'b', 'c'], variant: 'fp32', layout: 'sparse' })).toThrow(/linear/);
  });

  it('MLP with in-graph standardisation, fp32 and int8', async () => {
    const denseRows = rows.map((r) => {
      const x = new Float32Array(dim);
      r.indices.forEach((j, k) => {
        x[j] = 10 * (r.values[k] as number) + 3;
      });
      return x;
    });
    const m = trainMlp(denseRows, labels, { classes: 3, hidden: 8, epochs: 5 });
    m.temperature = 1.3;
    const batchRows = denseRows.slice(0, 12);
    const data = new Float32Array(batchRows.length * dim);
    batchRows.forEach((x, i) => {
      data.set(x, i * dim);
    });
    await expectParity(
      m,
      batchRows.map((x) => Array.from(x)),
      { dtype: 'float32', data, dims: [batchRows.length, dim] },
    );
  });

  it('fastText with padding, fp32 and int8', async () => {
    const docs = rows.map((r) => Int32Array.from(r.indices));
    const m: FastTextModel = trainFastText(docs, labels, { classes: 3, buckets: dim, maxIds: 6, dim: 4, epochs: 3 });
    const ids = batch.map((r) => Array.from(r.indices, (b) => b + 1));
    const data = new BigInt64Array(batch.length * 6);
    ids.forEach((row, i) => {
      row.forEach((id, j) => {
        data[i * 6 + j] = BigInt(id);
      });
    });
    // an all-padding row must not divide by zero
    ids.push([]);
    const withEmpty = new BigInt64Array(data.length + 6);
    withEmpty.set(data);
    await expectParity(m, ids, { dtype: 'int64', data: withEmpty, dims: [batch.length + 1, 6] });
  });
});

describe('the committed spam zoo runs identically in both runtimes', () => {
  const manifest = EnsembleManifestSchema.parse(JSON.parse(readFileSync('models/spam/manifest.json', 'utf8')));
  const reference = JSON.parse(readFileSync('models/spam/reference.json', 'utf8')) as {
    message: string;
    members: Record<string, number[]>;
  }[];

  it('featurizing the reference messages and running each member reproduces the build outputs', async () => {
    expect(reference.length).toBeGreaterThanOrEqual(4);
    for (const member of manifest.members) {
      const bytes = readFileSync(`models/spam/${member.id}.${member.variant}.onnx`);
      for (const ref of reference.slice(0, 4)) {
        const views = await parseEmail(ref.message);
        const spec = member.featurizer;
        if (spec.kind !== 'hashed-ngrams') throw new Error('zoo members are hashed-ngram members');
        const text = views[spec.view ?? 'body'];
        let feeds: Record<string, InputTensor>;
        if (spec.layout === 'sparse') {
          const { ids, values, width } = featurizeSparseRows([text], spec);
          feeds = {
            ids: { dtype: 'int64', data: ids, dims: [1, width] },
            values: { dtype: 'float32', data: values, dims: [1, width] },
          };
        } else {
          const features = featurizeText(text, spec);
          feeds = {
            [member.inputName ?? '']:
              features instanceof BigInt64Array
                ? { dtype: 'int64', data: features, dims: [1, features.length] }
                : { dtype: 'float32', data: features, dims: [1, features.length] },
          };
        }
        const [node, web] = await runAll(bytes, feeds);
        const expected = ref.members[member.id] as number[];
        expectClose(node as Float32Array, expected, TOL);
        expectClose(web as Float32Array, expected, TOL);
      }
    }
  });
});
