import { checkLabels, checkPositive, checkSparseRows } from './check';
import type { LinearModel, SparseRow } from './model';

export interface NaiveBayesOptions {
  classes: number;
  inputDim: number;
  /** Laplace/Lidstone smoothing */
  alpha?: number;
  sampleWeights?: ArrayLike<number>;
}

/**
 * Multinomial naive Bayes over count features. Exported as a linear model: logits = x·log θ + log π.
 * Each feature's log θ is centred across classes — the softmax is unchanged (every class logit
 * moves by the same x_j·m_j) and the weights become small log-ratios that quantize well.
 */
export function trainNaiveBayes(
  rows: readonly SparseRow[],
  labels: ArrayLike<number>,
  o: NaiveBayesOptions,
): LinearModel {
  const { classes: C, inputDim: D } = o;
  checkLabels(labels, rows.length, C);
  checkPositive('inputDim', D, true);
  checkSparseRows(rows, D);
  const alpha = o.alpha ?? 0.5;
  checkPositive('alpha', alpha);
  const counts = new Float64Array(D * C);
  const totals = new Float64Array(C);
  const prior = new Float64Array(C);
  rows.forEach((row, i) => {
    const y = labels[i] as number;
    const sw = o.sampleWeights ? (o.sampleWeights[i] as number) : 1;
    prior[y] = (prior[y] as number) + sw;
    for (let j = 0; j < row.indices.length; j++) {
      const v = sw * (row.values[j] as number);
      const idx = (row.indices[j] as number) * C + y;
      counts[idx] = (counts[idx] as number) + v;
      totals[y] = (totals[y] as number) + v;
    }
  });
  const priorSum = prior.reduce((a, v) => a + v, 0);
  const weights = new Float32Array(D * C);
  for (let f = 0; f < D; f++) {
    let mean = 0;
    for (let k = 0; k < C; k++) {
      const lt = Math.log(((counts[f * C + k] as number) + alpha) / ((totals[k] as number) + alpha * D));
      counts[f * C + k] = lt;
      mean += lt / C;
    }
    for (let k = 0; k < C; k++) weights[f * C + k] = (counts[f * C + k] as number) - mean;
  }
  const bias = new Float32Array(C);
  for (let k = 0; k < C; k++) bias[k] = Math.log(((prior[k] as number) + 1) / (priorSum + C));
  return { family: 'naive-bayes', inputDim: D, classes: C, weights, bias, temperature: 1 };
}
