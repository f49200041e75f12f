import { ChorusError } from '../errors';
import { argmax } from './math';

/**
 * How a label is read from a calibrated distribution, in class indices. `threshold`: the positive
 * class when its probability is above the threshold, else the most probable other class. `costs`:
 * the label with the least expected cost, costs[true][predicted]. No rule: argmax.
 */
export type DecisionRule =
  | { kind: 'threshold'; positive: number; threshold: number }
  | { kind: 'costs'; costs: readonly (readonly number[])[] };

/** The label a decision rule gives a distribution (ties to the lowest index, as argmax). */
export function decide(p: ArrayLike<number>, rule?: DecisionRule): number {
  if (!rule) return argmax(p);
  if (rule.kind === 'threshold') {
    if (rule.positive < 0 || rule.positive >= p.length)
      throw new ChorusError('invalid_argument', `positive class ${rule.positive} outside [0, ${p.length})`);
    if ((p[rule.positive] as number) > rule.threshold) return rule.positive;
    let best = -1;
    let bestValue = Number.NEGATIVE_INFINITY;
    for (let k = 0; k < p.length; k++) {
      if (k === rule.positive) continue;
      if ((p[k] as number) > bestValue) {
        best = k;
        bestValue = p[k] as number;
      }
    }
    return best;
  }
  const C = p.length;
  if (rule.costs.length !== C || rule.costs.some((row) => row.length !== C))
    throw new ChorusError('shape_mismatch', `a cost matrix must be ${C} × ${C}`);
  let best = 0;
  let bestCost = Number.POSITIVE_INFINITY;
  for (let j = 0; j < C; j++) {
    let cost = 0;
    for (let k = 0; k < C; k++) cost += (p[k] as number) * ((rule.costs[k] as readonly number[])[j] as number);
    if (cost < bestCost) {
      best = j;
      bestCost = cost;
    }
  }
  return best;
}

/** One point of a binary operating curve: threshold, false-positive and true-positive rates, precision. */
export interface CurvePoint {
  threshold: number;
  fpr: number;
  tpr: number;
  precision: number;
}

/**
 * ROC / precision-recall points of scores (probability of the positive class) against binary
 * truths, one point per distinct score, highest threshold first; `positive` is called when the
 * score is above the threshold.
 */
export function operatingCurve(scores: ArrayLike<number>, positives: ArrayLike<boolean>): CurvePoint[] {
  const order = Array.from({ length: scores.length }, (_, i) => i).sort(
    (a, b) => (scores[b] as number) - (scores[a] as number) || a - b,
  );
  let P = 0;
  for (let i = 0; i < positives.length; i++) if (positives[i]) P++;
  const N = scores.length - P;
  const out: CurvePoint[] = [{ threshold: 1, fpr: 0, tpr: 0, precision: 1 }];
  let tp = 0;
  let fp = 0;
  for (let k = 0; k < order.length; k++) {
    const i = order[k] as number;
    if (positives[i]) tp++;
    else fp++;
    const s = scores[i] as number;
    const next = order[k + 1];
    if (next !== undefined && (scores[next] as number) === s) continue;
    // every row with a score ≥ s is called positive: a threshold just below s
    const below = next === undefined ? 0 : (scores[next] as number);
    out.push({
      threshold: below,
      fpr: N === 0 ? 0 : fp / N,
      tpr: P === 0 ? 0 : tp / P,
      precision: tp + fp === 0 ? 1 : tp / (tp + fp),
    });
  }
  return out;
}

/** Area under the ROC curve (trapezoids over `operatingCurve`). */
export function rocAuc(curve: readonly CurvePoint[]): number {
  let area = 0;
  for (let k = 1; k < curve.length; k++) {
    const a = curve[k - 1] as CurvePoint;
    const b = curve[k] as CurvePoint;
    area += ((b.fpr - a.fpr) * (a.tpr + b.tpr)) / 2;
  }
  return area;
}

/**
 * The lowest threshold (so the highest recall) at which the share of negatives scored above it
 * is at most `maxFpr`, never below `floor` (0.5: a calibrated answer is not called positive when
 * it is less likely than not).
 */
export function thresholdForFpr(
  scores: ArrayLike<number>,
  positives: ArrayLike<boolean>,
  maxFpr: number,
  floor = 0.5,
): number {
  if (!(maxFpr >= 0 && maxFpr < 1))
    throw new ChorusError('invalid_argument', `maxFpr must be in [0, 1), got ${maxFpr}`);
  const negatives: number[] = [];
  for (let i = 0; i < scores.length; i++) if (!positives[i]) negatives.push(scores[i] as number);
  negatives.sort((a, b) => b - a);
  const allowed = Math.floor(maxFpr * negatives.length + 1e-9);
  // called positive when score > t: t = the (allowed + 1)-th highest negative score
  const t = negatives[allowed] ?? 0;
  return Math.min(Math.max(t, floor), 1 - 1e-6);
}

/**
 * The threshold (never below `floor`) minimising `fpCost` · false positives + false negatives over
 * the rows: a cost-ratio target (a false alarm costs `fpCost` misses). Ties go to the lower threshold.
 */
export function thresholdForCost(
  scores: ArrayLike<number>,
  positives: ArrayLike<boolean>,
  fpCost: number,
  floor = 0.5,
): number {
  if (!(fpCost > 0)) throw new ChorusError('invalid_argument', `fpCost must be positive, got ${fpCost}`);
  const order = Array.from({ length: scores.length }, (_, i) => i).sort(
    (a, b) => (scores[a] as number) - (scores[b] as number) || a - b,
  );
  // threshold t calls score > t positive; start at t = floor: every row above floor is positive
  let fp = 0;
  let fn = 0;
  for (let i = 0; i < scores.length; i++) {
    const above = (scores[i] as number) > floor;
    if (above && !positives[i]) fp++;
    if (!above && positives[i]) fn++;
  }
  let best = floor;
  let bestCost = fpCost * fp + fn;
  // raise t through each distinct score above the floor
  for (let k = 0; k < order.length; k++) {
    const i = order[k] as number;
    const s = scores[i] as number;
    if (s <= floor) continue;
    if (positives[i]) fn++;
    else fp--;
    const next = order[k + 1];
    if (next !== undefined && (scores[next] as number) === s) continue;
    const cost = fpCost * fp + fn;
    if (cost < bestCost) {
      bestCost = cost;
      best = s;
    }
  }
  return Math.min(best, 1 - 1e-6);
}
