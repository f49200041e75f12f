import { ChorusError } from '../errors';
import { LOG_EPS, softmax } from './math';
import { checkProbMatrix, type ProbMatrix } from './matrix';
import { checkFinite } from './validate';

/** Temperature scaling of a distribution: softmax(log p / T). T > 1 softens, T < 1 sharpens. */
export function applyTemperature(p: ArrayLike<number>, temperature: number): Float64Array {
  if (!Number.isFinite(temperature) || temperature <= 0) {
    throw new ChorusError('invalid_argument', `temperature must be a positive number, got ${temperature}`);
  }
  checkFinite(p, 'probabilities');
  const logits = new Float64Array(p.length);
  for (let k = 0; k < p.length; k++) logits[k] = Math.log(Math.max(p[k] as number, LOG_EPS)) / temperature;
  return softmax(logits);
}

/**
 * Fits T minimising validation log-loss of softmax(z / T) (Guo et al. 2017) by golden-section
 * search on log T in [-4, 4]; `logits` is an n × c matrix of unnormalised log-probabilities.
 */
export function fitLogitTemperature(logits: ProbMatrix, labels: ArrayLike<number>): number {
  checkProbMatrix(logits, labels);
  const loss = (logT: number): number => {
    const t = Math.exp(logT);
    let sum = 0;
    for (let i = 0; i < logits.n; i++) {
      let max = Number.NEGATIVE_INFINITY;
      for (let k = 0; k < logits.c; k++) max = Math.max(max, (logits.data[i * logits.c + k] as number) / t);
      let z = 0;
      for (let k = 0; k < logits.c; k++) z += Math.exp((logits.data[i * logits.c + k] as number) / t - max);
      sum += max + Math.log(z) - (logits.data[i * logits.c + (labels[i] as number)] as number) / t;
    }
    return sum / logits.n;
  };
  const phi = (Math.sqrt(5) - 1) / 2;
  let a = -4;
  let b = 4;
  let x1 = b - phi * (b - a);
  let x2 = a + phi * (b - a);
  let f1 = loss(x1);
  let f2 = loss(x2);
  for (let it = 0; it < 60; it++) {
    if (f1 < f2) {
      b = x2;
      x2 = x1;
      f2 = f1;
      x1 = b - phi * (b - a);
      f1 = loss(x1);
    } else {
      a = x1;
      x1 = x2;
      f1 = f2;
      x2 = a + phi * (b - a);
      f2 = loss(x2);
    }
  }
  return Math.exp((a + b) / 2);
}

/**
 * Fits the temperature of already-normalised distributions (log p floored at LOG_EPS). Rows
 * flagged in `abstained` hold the prior, which no temperature touches: they are left out (1 when
 * every row is).
 */
export function fitTemperature(probs: ProbMatrix, labels: ArrayLike<number>): number {
  checkProbMatrix(probs, labels);
  const flagged = probs.abstained;
  const rows = Array.from({ length: probs.n }, (_, i) => i).filter((i) => !flagged?.[i]);
  if (rows.length === 0) return 1;
  const logs = new Float64Array(rows.length * probs.c);
  rows.forEach((r, k) => {
    for (let j = 0; j < probs.c; j++)
      logs[k * probs.c + j] = Math.log(Math.max(probs.data[r * probs.c + j] as number, LOG_EPS));
  });
  return fitLogitTemperature(
    { n: rows.length, c: probs.c, data: logs },
    rows.map((r) => labels[r] as number),
  );
}
