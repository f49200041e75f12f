import { ChorusError } from '../errors';
import { checkFinite } from './validate';

/** Floor for log p so that a member's hard zero cannot veto every other member. */
export const LOG_EPS = 1e-12;

/** Index of the largest entry; ties go to the lowest index (as numpy.argmax). */
export function argmax(values: ArrayLike<number>): number {
  if (values.length === 0) throw new ChorusError('invalid_argument', 'argmax of an empty array');
  let best = 0;
  let bestValue = values[0] as number;
  for (let i = 1; i < values.length; i++) {
    const v = values[i] as number;
    if (v > bestValue) {
      best = i;
      bestValue = v;
    }
  }
  return best;
}

/** Numerically stable softmax. */
export function softmax(logits: ArrayLike<number>): Float64Array {
  if (logits.length === 0) throw new ChorusError('invalid_argument', 'softmax of an empty array');
  checkFinite(logits, 'logits');
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i] as number);
  const out = new Float64Array(logits.length);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) {
    const e = Math.exp((logits[i] as number) - max);
    out[i] = e;
    sum += e;
  }
  for (let i = 0; i < out.length; i++) out[i] = (out[i] as number) / sum;
  return out;
}

/** Entropy in nats. */
export function entropy(p: ArrayLike<number>): number {
  let h = 0;
  for (let i = 0; i < p.length; i++) {
    const v = p[i] as number;
    if (v > 0) h -= v * Math.log(v);
  }
  return h;
}
