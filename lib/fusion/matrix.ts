import { ChorusError } from '../errors';
import { LOG_EPS } from './math';

/** Row-major n × c probabilities of one classifier over a dataset. */
export interface ProbMatrix {
  readonly n: number;
  readonly c: number;
  readonly data: Float64Array;
  /** 1 where the classifier abstained on that row (its row then holds the prior); absent = never */
  readonly abstained?: Uint8Array;
}

export function checkProbMatrix(m: ProbMatrix, labels?: ArrayLike<number>): void {
  if (m.n <= 0 || m.c < 2 || m.data.length !== m.n * m.c) {
    throw new ChorusError('shape_mismatch', `probability matrix ${m.n}×${m.c} holds ${m.data.length} values`);
  }
  for (let i = 0; i < m.data.length; i++) {
    const v = m.data[i] as number;
    if (!Number.isFinite(v))
      throw new ChorusError('not_finite', `probability [${Math.floor(i / m.c)}, ${i % m.c}] is ${v}`);
  }
  if (labels !== undefined) {
    if (labels.length !== m.n) {
      throw new ChorusError('shape_mismatch', `${labels.length} labels for ${m.n} rows`);
    }
    for (let i = 0; i < labels.length; i++) {
      const y = labels[i] as number;
      if (!Number.isInteger(y) || y < 0 || y >= m.c) {
        throw new ChorusError('invalid_argument', `label ${i} is ${y}, expected an integer in [0, ${m.c})`);
      }
    }
  }
}

/** Mean negative log-likelihood in nats, probabilities floored at LOG_EPS. */
export function meanLogLoss(m: ProbMatrix, labels: ArrayLike<number>): number {
  checkProbMatrix(m, labels);
  let sum = 0;
  for (let i = 0; i < m.n; i++) {
    sum -= Math.log(Math.max(m.data[i * m.c + (labels[i] as number)] as number, LOG_EPS));
  }
  return sum / m.n;
}

/** Splits a matrix into its rows (views, no copy). */
export function rowsOf(m: ProbMatrix): Float64Array[] {
  const rows: Float64Array[] = [];
  for (let i = 0; i < m.n; i++) rows.push(m.data.subarray(i * m.c, (i + 1) * m.c));
  return rows;
}
