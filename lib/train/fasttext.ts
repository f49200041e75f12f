import { ChorusError } from '../errors';
import { softmax } from '../fusion';
import { checkLabels, checkPositive } from './check';
import { bucketIds } from './ids';
import { type FastTextModel, fastTextHidden } from './model';
import { createRng, shuffledIndices } from './random';

export interface FastTextOptions {
  classes: number;
  /** hash buckets; the embedding has buckets + 1 rows (row 0 = padding) */
  buckets: number;
  maxIds: number;
  dim?: number;
  epochs?: number;
  learningRate?: number;
  seed?: number;
  /**
   * per-example weights (boosting): each epoch visits `docs.length` examples drawn with
   * replacement with probability ∝ weight (weighted resampling), at the usual learning rate
   */
  sampleWeights?: ArrayLike<number>;
  /** start from this model's parameters (transfer); must have the same shape */
  init?: FastTextModel;
  /**
   * Knowledge distillation (Hinton et al. 2015): loss = α·CE(label) + (1−α)·T²·KL(teacher_T ‖ student_T).
   * `teacher[i]` is the teacher's distribution at temperature T; rows with `labeled[i] === false`
   * (transfer data) learn from the teacher alone.
   */
  distill?: { teacher: readonly ArrayLike<number>[]; temperature: number; alpha: number; labeled?: ArrayLike<boolean> };
}

/**
 * Draws `n` indices with replacement, index i with probability ∝ weights[i] (inverse CDF over the
 * cumulative weights), so boosting reweights which examples are seen rather than the step size.
 */
function weightedSampler(weights: ArrayLike<number>, n: number, rng: () => number): () => Int32Array {
  if (weights.length !== n)
    throw new ChorusError('shape_mismatch', `${weights.length} sample weights for ${n} examples`);
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const w = weights[i] as number;
    if (!(w >= 0) || !Number.isFinite(w)) throw new ChorusError('invalid_argument', `sample weight ${i} is ${w}`);
    sum += w;
    cdf[i] = sum;
  }
  if (sum <= 0) throw new ChorusError('invalid_argument', 'sample weights sum to 0');
  return () =>
    Int32Array.from({ length: n }, () => {
      const u = rng() * sum;
      let lo = 0;
      let hi = n - 1;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if ((cdf[mid] as number) > u) hi = mid;
        else lo = mid + 1;
      }
      return lo;
    });
}

/**
 * fastText-style classifier (Joulin et al. 2016): hashed n-gram ids → mean embedding → linear →
 * softmax, trained by per-example SGD with a linearly decaying learning rate, as fastText does.
 * `docs[i]` holds example i's bucket ids (0-based; the model adds 1 for the padding row).
 */
export function trainFastText(
  docs: readonly Int32Array[],
  labels: ArrayLike<number>,
  o: FastTextOptions,
): FastTextModel {
  const C = o.classes;
  checkLabels(labels, docs.length, C);
  checkPositive('buckets', o.buckets, true);
  checkPositive('maxIds', o.maxIds, true);
  const dim = o.dim ?? 16;
  const epochs = o.epochs ?? 8;
  const lr0 = o.learningRate ?? 0.3;
  checkPositive('dim', dim, true);
  const rng = createRng(o.seed ?? 1);
  const vocab = o.buckets + 1;
  let embedding: Float32Array;
  let weights: Float32Array;
  let bias: Float32Array;
  if (o.init) {
    if (o.init.vocab !== vocab || o.init.dim !== dim || o.init.classes !== C) {
      throw new ChorusError('shape_mismatch', 'init model has another shape than the requested student');
    }
    embedding = Float32Array.from(o.init.embedding);
    weights = Float32Array.from(o.init.weights);
    bias = Float32Array.from(o.init.bias);
  } else {
    embedding = new Float32Array(vocab * dim);
    for (let i = dim; i < embedding.length; i++) embedding[i] = (rng() * 2 - 1) / dim;
    weights = new Float32Array(dim * C);
    bias = new Float32Array(C);
  }
  const model: FastTextModel = {
    family: 'fasttext',
    vocab,
    dim,
    classes: C,
    embedding,
    weights,
    bias,
    maxIds: o.maxIds,
    temperature: 1,
  };
  const ids = docs.map((d) => {
    for (const b of d.subarray(0, o.maxIds))
      if (b < 0 || b >= o.buckets) throw new ChorusError('shape_mismatch', `bucket ${b} outside [0, ${o.buckets})`);
    return bucketIds(d, o.maxIds);
  });
  const kd = o.distill;
  if (kd) {
    if (kd.teacher.length !== docs.length)
      throw new ChorusError('shape_mismatch', `${kd.teacher.length} teacher rows for ${docs.length} examples`);
    checkPositive('temperature', kd.temperature);
    if (!(kd.alpha >= 0 && kd.alpha <= 1))
      throw new ChorusError('invalid_argument', `alpha must be in [0, 1], got ${kd.alpha}`);
  }
  const total = epochs * docs.length;
  const sampler = o.sampleWeights ? weightedSampler(o.sampleWeights, docs.length, rng) : undefined;
  const grad = new Float64Array(dim);
  let seen = 0;
  for (let epoch = 0; epoch < epochs; epoch++) {
    const order = sampler ? sampler() : shuffledIndices(docs.length, rng);
    for (let t = 0; t < order.length; t++, seen++) {
      const i = order[t] as number;
      const doc = ids[i] as Int32Array;
      const lr = lr0 * (1 - seen / total);
      const { hidden, count } = fastTextHidden(model, doc);
      const z = new Float64Array(C);
      for (let k = 0; k < C; k++) {
        let s = bias[k] as number;
        for (let d = 0; d < dim; d++) s += (hidden[d] as number) * (weights[d * C + k] as number);
        z[k] = s;
      }
      const p = softmax(z);
      const y = labels[i] as number;
      // ∂loss/∂z: α(p − onehot) + (1−α)·T·(softmax(z/T) − teacher); T² · (1/T) from the chain rule.
      let alpha = 1;
      let pT: Float64Array | undefined;
      let q: ArrayLike<number> | undefined;
      if (kd) {
        alpha = kd.labeled && !kd.labeled[i] ? 0 : kd.alpha;
        pT = softmax(z.map((v) => v / kd.temperature));
        q = kd.teacher[i] as ArrayLike<number>;
      }
      grad.fill(0);
      for (let k = 0; k < C; k++) {
        let dz = alpha * ((p[k] as number) - (k === y ? 1 : 0));
        if (kd && pT && q) dz += (1 - alpha) * kd.temperature * ((pT[k] as number) - (q[k] as number));
        bias[k] = (bias[k] as number) - lr * dz;
        for (let d = 0; d < dim; d++) {
          grad[d] = (grad[d] as number) + dz * (weights[d * C + k] as number);
          weights[d * C + k] = (weights[d * C + k] as number) - lr * dz * (hidden[d] as number);
        }
      }
      if (count === 0) continue;
      const step = lr / count;
      for (let j = 0; j < doc.length; j++) {
        if (doc[j] === 0) continue; // padding: row 0 stays zero
        const base = (doc[j] as number) * dim;
        for (let d = 0; d < dim; d++)
          embedding[base + d] = (embedding[base + d] as number) - step * (grad[d] as number);
      }
    }
  }
  return model;
}
