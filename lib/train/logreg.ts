import { softmax } from '../fusion';
import { checkLabels, checkPositive, checkSparseRows } from './check';
import { affineSparse, type LinearModel, type SparseRow } from './model';
import { createRng, shuffledIndices } from './random';

export interface LogRegOptions {
  classes: number;
  inputDim: number;
  /** L2 penalty λ on the weights (not the bias) */
  l2?: number;
  epochs?: number;
  batchSize?: number;
  learningRate?: number;
  seed?: number;
  /** per-example weights (boosting); default 1 */
  sampleWeights?: ArrayLike<number>;
  /** the step size at the last step, reached linearly from `learningRate` (default: constant) */
  finalLearningRate?: number;
}

/**
 * Multinomial logistic regression with L2, trained by mini-batch Adam over sparse rows.
 * Deterministic for a given seed: batches follow a seeded shuffle.
 */
export function trainLogisticRegression(
  rows: readonly SparseRow[],
  labels: ArrayLike<number>,
  o: LogRegOptions,
): LinearModel {
  const { classes: C, inputDim: D } = o;
  checkLabels(labels, rows.length, C);
  checkPositive('inputDim', D, true);
  checkSparseRows(rows, D);
  const l2 = o.l2 ?? 1e-4;
  const epochs = o.epochs ?? 20;
  const batch = o.batchSize ?? 32;
  const baseLr = o.learningRate ?? 0.02;
  const finalLr = o.finalLearningRate ?? baseLr;
  const rng = createRng(o.seed ?? 1);
  const W = new Float64Array(D * C);
  const b = new Float64Array(C);
  const mW = new Float64Array(D * C);
  const vW = new Float64Array(D * C);
  const mb = new Float64Array(C);
  const vb = new Float64Array(C);
  const gW = new Float64Array(D * C);
  const gb = new Float64Array(C);
  const touched = new Uint8Array(D);
  const beta1 = 0.9;
  const beta2 = 0.999;
  let step = 0;
  const totalSteps = epochs * Math.ceil(rows.length / batch);
  for (let epoch = 0; epoch < epochs; epoch++) {
    const order = shuffledIndices(rows.length, rng);
    for (let start = 0; start < order.length; start += batch) {
      const end = Math.min(order.length, start + batch);
      gb.fill(0);
      const rowsInBatch: number[] = [];
      let wsum = 0;
      for (let t = start; t < end; t++) {
        const i = order[t] as number;
        const row = rows[i] as SparseRow;
        const sw = o.sampleWeights ? (o.sampleWeights[i] as number) : 1;
        wsum += sw;
        const p = softmax(affineSparse(W, b, D, row));
        const y = labels[i] as number;
        for (let k = 0; k < C; k++) {
          const d = sw * ((p[k] as number) - (k === y ? 1 : 0));
          gb[k] = (gb[k] as number) + d;
          for (let j = 0; j < row.indices.length; j++) {
            const f = row.indices[j] as number;
            if (!touched[f]) {
              touched[f] = 1;
              rowsInBatch.push(f);
            }
            gW[f * C + k] = (gW[f * C + k] as number) + d * (row.values[j] as number);
          }
        }
      }
      step++;
      const lr = baseLr + (finalLr - baseLr) * ((step - 1) / Math.max(1, totalSteps - 1));
      const scale = 1 / Math.max(wsum, 1e-12);
      const c1 = 1 - beta1 ** step;
      const c2 = 1 - beta2 ** step;
      // Lazy Adam: only features present in the batch move; L2 acts on those rows (as in sparse
      // implementations), which keeps a step O(nnz) instead of O(D).
      for (const f of rowsInBatch) {
        touched[f] = 0;
        for (let k = 0; k < C; k++) {
          const idx = f * C + k;
          const g = (gW[idx] as number) * scale + l2 * (W[idx] as number);
          gW[idx] = 0;
          mW[idx] = beta1 * (mW[idx] as number) + (1 - beta1) * g;
          vW[idx] = beta2 * (vW[idx] as number) + (1 - beta2) * g * g;
          W[idx] =
            (W[idx] as number) - (lr * ((mW[idx] as number) / c1)) / (Math.sqrt((vW[idx] as number) / c2) + 1e-8);
        }
      }
      for (let k = 0; k < C; k++) {
        const g = (gb[k] as number) * scale;
        mb[k] = beta1 * (mb[k] as number) + (1 - beta1) * g;
        vb[k] = beta2 * (vb[k] as number) + (1 - beta2) * g * g;
        b[k] = (b[k] as number) - (lr * ((mb[k] as number) / c1)) / (Math.sqrt((vb[k] as number) / c2) + 1e-8);
      }
    }
  }
  return {
    family: 'logreg',
    inputDim: D,
    classes: C,
    weights: Float32Array.from(W),
    bias: Float32Array.from(b),
    temperature: 1,
  };
}
