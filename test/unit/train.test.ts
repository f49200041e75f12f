import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { memberGraphProblems, wrapOrtSession } from '../../lib/ensemble';
import { ChorusError } from '../../lib/errors';
import { EnsembleManifestSchema } from '../../lib/schema';
import {
  createRng,
  exportVariants,
  predictProba,
  type SparseRow,
  trainFastText,
  trainLogisticRegression,
  trainNaiveBayes,
  withExport,
} from '../../lib/train';

/** Two classes told apart by which half of an 8-feature space most of their features fall in. */
function toyRows(n: number, seed: number): { rows: SparseRow[]; labels: number[] } {
  const rng = createRng(seed);
  const rows: SparseRow[] = [];
  const labels: number[] = [];
  for (let i = 0; i < n; i++) {
    const y = i % 2;
    const a = y * 4 + Math.floor(rng() * 4);
    const a2 = y * 4 + Math.floor(rng() * 4);
    const b = Math.floor(rng() * 8);
    const idx = [...new Set([a, a2, b])].sort((p, q) => p - q);
    rows.push({ indices: Int32Array.from(idx), values: Float32Array.from(idx.map(() => 1)) });
    labels.push(y);
  }
  return { rows, labels };
}

function toyDocs(n: number, seed: number): { docs: Int32Array[]; labels: number[] } {
  const { rows, labels } = toyRows(n, seed);
  return { docs: rows.map((r) => Int32Array.from(r.indices)), labels };
}

const acc = (predict: (i: number) => Float64Array, labels: number[]) =>
  labels.filter((y, i) => {
    const p = predict(i);
    return ((p[1] as number) > (p[0] as number) ? 1 : 0) === y;
  }).length / labels.length;

describe('trainers', () => {
  const train = toyRows(400, 1);
  const test = toyRows(200, 2);

  it('logistic regression learns a separable problem and is deterministic per seed', () => {
    const a = trainLogisticRegression(train.rows, train.labels, { classes: 2, inputDim: 8, seed: 3, epochs: 10 });
    const b = trainLogisticRegression(train.rows, train.labels, { classes: 2, inputDim: 8, seed: 3, epochs: 10 });
    expect(Array.from(a.weights)).toEqual(Array.from(b.weights));
    expect(acc((i) => predictProba(a, test.rows[i] as SparseRow), test.labels)).toBeGreaterThan(0.85);
    const c = trainLogisticRegression(train.rows, train.labels, { classes: 2, inputDim: 8, seed: 4, epochs: 10 });
    expect(Array.from(c.weights)).not.toEqual(Array.from(a.weights));
  });

  it('logistic regression with a step decayed to zero ends nearer the optimum: seeds agree, constant steps do not', () => {
    const spread = (finalLearningRate?: number) => {
      const weightsOf = (seed: number) =>
        trainLogisticRegression(train.rows, train.labels, {
          classes: 2,
          inputDim: 8,
          seed,
          epochs: 20,
          learningRate: 0.1,
          l2: 0.01,
          ...(finalLearningRate === undefined ? {} : { finalLearningRate }),
        }).weights;
      const a = weightsOf(3);
      const b = weightsOf(4);
      return Math.sqrt(a.reduce((s, w, i) => s + (w - (b[i] as number)) ** 2, 0));
    };
    const constant = spread();
    const decayed = spread(0);
    expect(decayed).toBeLessThan(constant / 3);
  });

  it('naive Bayes learns it and its weights are centred across classes', () => {
    const m = trainNaiveBayes(train.rows, train.labels, { classes: 2, inputDim: 8 });
    expect(acc((i) => predictProba(m, test.rows[i] as SparseRow), test.labels)).toBeGreaterThan(0.85);
    for (let f = 0; f < 8; f++)
      expect((m.weights[f * 2] as number) + (m.weights[f * 2 + 1] as number)).toBeCloseTo(0, 5);
  });

  it('fastText learns it and keeps the padding row at zero', () => {
    const d = toyDocs(400, 1);
    const t = toyDocs(200, 2);
    const m = trainFastText(d.docs, d.labels, { classes: 2, buckets: 8, maxIds: 4, dim: 4, epochs: 10, seed: 5 });
    expect(Array.from(m.embedding.slice(0, 4))).toEqual([0, 0, 0, 0]);
    const ids = (i: number) => Array.from(t.docs[i] as Int32Array, (b) => b + 1);
    expect(acc((i) => predictProba(m, ids(i)), t.labels)).toBeGreaterThan(0.85);
  });

  it('fastText sample weights resample rows (boosting) instead of scaling the step', () => {
    const d = toyDocs(400, 1);
    const t = toyDocs(200, 2);
    const ids = (i: number) => Array.from(t.docs[i] as Int32Array, (b) => b + 1);
    const options = { classes: 2, buckets: 8, maxIds: 4, dim: 4, epochs: 10, seed: 5 };
    // SAMME's third round: a few rows weigh ~100× the rest (weights scaled to mean 1). A step scaled
    // by the weight diverges here; resampling at the usual rate still learns the problem.
    const skewed = d.labels.map((_, i) => (i % 40 === 0 ? 100 : 0.1));
    const boosted = trainFastText(d.docs, d.labels, { ...options, sampleWeights: skewed });
    expect(acc((i) => predictProba(boosted, ids(i)), t.labels)).toBeGreaterThan(0.8);
    // weight is what is learned from: with every row of class 1 at weight 0, class 1 is never seen
    const onlyHam = d.labels.map((y) => (y === 0 ? 1 : 0));
    const m = trainFastText(d.docs, d.labels, { ...options, sampleWeights: onlyHam });
    expect(t.docs.every((_, i) => (predictProba(m, ids(i))[0] as number) > 0.5)).toBe(true);
  });

  it('bad input raises typed errors', () => {
    const cases: [() => unknown, RegExp][] = [
      [() => trainLogisticRegression([], [], { classes: 2, inputDim: 8 }), /at least one example/],
      [() => trainLogisticRegression(train.rows, [0], { classes: 2, inputDim: 8 }), /1 labels for 400/],
      [() => trainLogisticRegression(train.rows, train.labels, { classes: 2, inputDim: 4 }), /outside \[0, 4\)/],
      [() => trainNaiveBayes(train.rows, train.labels, { classes: 1, inputDim: 8 }), /classes must be/],
      [() => trainNaiveBayes(train.rows, train.labels, { classes: 2, inputDim: 8, alpha: -1 }), /alpha/],
      [
        () =>
          trainNaiveBayes([{ indices: Int32Array.from([0]), values: Float32Array.from([Number.NaN]) }], [0], {
            classes: 2,
            inputDim: 8,
          }),
        /NaN/,
      ],
      [() => trainFastText([Int32Array.from([9])], [0], { classes: 2, buckets: 8, maxIds: 4 }), /bucket 9/],
      [() => trainFastText([Int32Array.from([1])], [0.5], { classes: 2, buckets: 8, maxIds: 4 }), /label 0 is 0.5/],
    ];
    for (const [call, message] of cases) {
      expect(call).toThrow(ChorusError);
      expect(call).toThrow(message);
    }
  });
});

describe('ONNX export bad input', () => {
  it('refuses NaN parameters, wrong label counts and bad temperatures', async () => {
    const { exportOnnx } = await import('../../lib/train');
    const model = trainNaiveBayes(toyRows(20, 1).rows, toyRows(20, 1).labels, { classes: 2, inputDim: 8 });
    expect(() => exportOnnx(model, { labels: ['a'], variant: 'fp32' })).toThrow(/1 labels for 2 classes/);
    expect(() => exportOnnx({ ...model, temperature: 0 }, { labels: ['a', 'b'], variant: 'fp32' })).toThrow(
      /temperature/,
    );
    const broken = { ...model, weights: Float32Array.from(model.weights) };
    broken.weights[3] = Number.NaN;
    expect(() => exportOnnx(broken, { labels: ['a', 'b'], variant: 'fp32' })).toThrow(ChorusError);
    expect(() => exportOnnx(broken, { labels: ['a', 'b'], variant: 'int8' })).toThrow(/weights\[3\] is NaN/);
  });
});

describe('a refit member points at the graph it was exported as', () => {
  it("a sparse member named its inputs its own way takes the export's ids and values", async () => {
    const manifest = EnsembleManifestSchema.parse(JSON.parse(readFileSync('models/spam/manifest.json', 'utf8')));
    const like = manifest.members.find(
      (m) => m.featurizer.kind === 'hashed-ngrams' && m.featurizer.layout === 'sparse',
    );
    if (like?.featurizer.kind !== 'hashed-ngrams') throw new Error('the zoo has a sparse member');
    // named its own way, and declared logits: the export answers soft-maxed probabilities
    const handBuilt = { ...like, inputs: { idx: 'ids', val: 'values' }, output: 'logits' as const };
    const { rows, labels } = toyRows(200, 5);
    const model = trainLogisticRegression(rows, labels, { classes: 2, inputDim: like.featurizer.buckets, epochs: 3 });
    const variants = await exportVariants(model, { labels: manifest.labels, featurizer: like.featurizer });
    const refit = withExport(handBuilt, 'int8', variants.int8);
    expect(refit.inputs).toEqual({ ids: 'ids', values: 'values' });
    expect(refit.inputName).toBeUndefined();
    expect(refit.output).toBe('probabilities');
    expect(refit.model).toEqual(variants.int8.model);
    const s = await ort.InferenceSession.create(variants.int8.bytes);
    const session = wrapOrtSession(s, (t) => new ort.Tensor(t.dtype, t.data, t.dims));
    expect(memberGraphProblems(manifest, refit, session)).toEqual([]);
    // keeping the member's own names (what the jobs did) cannot run
    const kept = { ...handBuilt, model: variants.int8.model };
    expect(memberGraphProblems(manifest, kept, session).join()).toContain("no input 'idx'");
    const members = manifest.members.map((m) => (m.id === refit.id ? refit : m));
    expect(EnsembleManifestSchema.safeParse({ ...manifest, members }).success).toBe(true);
  });
});
