import { ChorusError } from '../errors';
import { argmax, checkProbMatrix, meanLogLoss, type ProbMatrix } from '../fusion';
import type { ClassificationMetrics } from '../schema';

/** The answered label of each row: `predicted` where given (a decision rule's), else the argmax. */
function answered(probs: ProbMatrix, predicted?: ArrayLike<number>): ArrayLike<number> {
  if (predicted !== undefined) {
    if (predicted.length !== probs.n)
      throw new ChorusError('shape_mismatch', `${predicted.length} predicted labels for ${probs.n} rows`);
    return predicted;
  }
  return Int32Array.from({ length: probs.n }, (_, i) => argmax(probs.data.subarray(i * probs.c, (i + 1) * probs.c)));
}

/** Fraction of rows whose answered label (argmax, or `predicted`) equals the label. */
export function accuracy(probs: ProbMatrix, labels: ArrayLike<number>, predicted?: ArrayLike<number>): number {
  checkProbMatrix(probs, labels);
  const pred = answered(probs, predicted);
  let correct = 0;
  for (let i = 0; i < probs.n; i++) if (pred[i] === labels[i]) correct++;
  return correct / probs.n;
}

/**
 * Unweighted mean of per-class F1 over the classes that occur in the labels or the predictions
 * (scikit-learn's `f1_score(average='macro')`), so a one-class slice is not halved by the absent class.
 */
export function macroF1(probs: ProbMatrix, labels: ArrayLike<number>, predicted?: ArrayLike<number>): number {
  checkProbMatrix(probs, labels);
  const answers = answered(probs, predicted);
  const tp = new Float64Array(probs.c);
  const fp = new Float64Array(probs.c);
  const fn = new Float64Array(probs.c);
  for (let i = 0; i < probs.n; i++) {
    const pred = answers[i] as number;
    const y = labels[i] as number;
    if (pred === y) tp[y] = (tp[y] as number) + 1;
    else {
      fp[pred] = (fp[pred] as number) + 1;
      fn[y] = (fn[y] as number) + 1;
    }
  }
  let sum = 0;
  let present = 0;
  for (let k = 0; k < probs.c; k++) {
    const denom = 2 * (tp[k] as number) + (fp[k] as number) + (fn[k] as number);
    if (denom === 0) continue;
    present++;
    sum += (2 * (tp[k] as number)) / denom;
  }
  return sum / present;
}

/**
 * Expected calibration error of the top-label confidence over `bins` equal-width bins
 * (Guo et al. 2017): Σ_b |B_b|/n · |acc(B_b) − conf(B_b)|.
 */
export function expectedCalibrationError(probs: ProbMatrix, labels: ArrayLike<number>, bins = 15): number {
  let ece = 0;
  for (const b of calibrationBins(probs, labels, bins))
    ece += (b.count / probs.n) * Math.abs(b.accuracy - b.confidence);
  return ece;
}

/** Non-empty equal-width bins of top-label confidence: mean confidence, accuracy and count of each. */
export function calibrationBins(
  probs: ProbMatrix,
  labels: ArrayLike<number>,
  bins = 15,
): { confidence: number; accuracy: number; count: number }[] {
  checkProbMatrix(probs, labels);
  if (!Number.isInteger(bins) || bins < 1)
    throw new ChorusError('invalid_argument', `bins must be a positive integer, got ${bins}`);
  const count = new Float64Array(bins);
  const conf = new Float64Array(bins);
  const hits = new Float64Array(bins);
  for (let i = 0; i < probs.n; i++) {
    const row = probs.data.subarray(i * probs.c, (i + 1) * probs.c);
    const pred = argmax(row);
    const p = row[pred] as number;
    const b = Math.min(bins - 1, Math.floor(p * bins));
    count[b] = (count[b] as number) + 1;
    conf[b] = (conf[b] as number) + p;
    if (pred === labels[i]) hits[b] = (hits[b] as number) + 1;
  }
  const out: { confidence: number; accuracy: number; count: number }[] = [];
  for (let b = 0; b < bins; b++) {
    const c = count[b] as number;
    if (c > 0) out.push({ confidence: (conf[b] as number) / c, accuracy: (hits[b] as number) / c, count: c });
  }
  return out;
}

/**
 * Share of the rows in one label group (labelled `negative`, or labelled anything else) that are
 * answered with a class other than `negative`; undefined when the group is empty.
 */
function flaggedShare(
  probs: ProbMatrix,
  labels: ArrayLike<number>,
  negative: number,
  predicted: ArrayLike<number> | undefined,
  group: 'negative' | 'positive',
): number | undefined {
  checkProbMatrix(probs, labels);
  const pred = answered(probs, predicted);
  let rows = 0;
  let flagged = 0;
  for (let i = 0; i < probs.n; i++) {
    if ((labels[i] === negative) !== (group === 'negative')) continue;
    rows++;
    if (pred[i] !== negative) flagged++;
  }
  return rows === 0 ? undefined : flagged / rows;
}

/** Fraction of rows labelled `negative` that are predicted as another class (ham flagged as spam). */
export function falsePositiveRate(
  probs: ProbMatrix,
  labels: ArrayLike<number>,
  negative: number,
  predicted?: ArrayLike<number>,
): number | undefined {
  return flaggedShare(probs, labels, negative, predicted, 'negative');
}

/** Fraction of rows not labelled `negative` answered with a class other than `negative` (spam recall). */
export function truePositiveRate(
  probs: ProbMatrix,
  labels: ArrayLike<number>,
  negative: number,
  predicted?: ArrayLike<number>,
): number | undefined {
  return flaggedShare(probs, labels, negative, predicted, 'positive');
}

/** Every metric of the report for one classifier on one slice. */
export function classificationMetrics(
  probs: ProbMatrix,
  labels: ArrayLike<number>,
  options: { negativeClass?: number; predicted?: ArrayLike<number> } = {},
): ClassificationMetrics {
  const neg = options.negativeClass;
  const fpr = neg === undefined ? undefined : falsePositiveRate(probs, labels, neg, options.predicted);
  const tpr = neg === undefined ? undefined : truePositiveRate(probs, labels, neg, options.predicted);
  return {
    n: probs.n,
    accuracy: accuracy(probs, labels, options.predicted),
    macroF1: macroF1(probs, labels, options.predicted),
    logLoss: meanLogLoss(probs, labels),
    ece: expectedCalibrationError(probs, labels),
    ...(fpr === undefined ? {} : { falsePositiveRate: fpr }),
    ...(tpr === undefined ? {} : { truePositiveRate: tpr }),
  };
}

/** Rows of a matrix picked by index (for slices such as hard-ham). */
export function selectRows(probs: ProbMatrix, rows: ArrayLike<number>): ProbMatrix {
  const data = new Float64Array(rows.length * probs.c);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i] as number;
    if (!Number.isInteger(r) || r < 0 || r >= probs.n)
      throw new ChorusError('invalid_argument', `row ${r} out of range`);
    data.set(probs.data.subarray(r * probs.c, (r + 1) * probs.c), i * probs.c);
  }
  const abstained = probs.abstained;
  return {
    n: rows.length,
    c: probs.c,
    data,
    ...(abstained
      ? { abstained: Uint8Array.from({ length: rows.length }, (_, i) => abstained[rows[i] as number] ?? 0) }
      : {}),
  };
}
