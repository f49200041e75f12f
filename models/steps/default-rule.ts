/**
 * How the served default is picked among the fusion candidates, each at its own operating point.
 *
 * Cost: OPERATING_TARGET's cost per message (a ham flagged counts `fpCost` spam missed) over
 * validation and its six robustness slices, each validation message's seven rows averaged, so a
 * message is one observation. Fitted fusions (weights, a meta-learner) often lose out of sample to
 * the plain average they refine (the "forecast combination puzzle"), so the rule is the one
 * standard error rule: among the candidates whose cost is within one standard error of the
 * lowest, the first in PREFERENCE (fewest fitted fusion parameters first). The limits of
 * DEFAULT_RULE are reported beside it ("eligible"), not used to rank.
 */
import type { ClassificationMetrics, FusionStrategy, MetricsRow } from '../../lib/schema';
import { SLICES, type SliceName } from './slices';

/**
 * The operating-point target every row is fitted for: a cost ratio. The spam threshold (never
 * below 0.5) minimises `fpCost` × ham called spam + spam missed over the validation messages and
 * their six robustness slices pooled, so the point holds on mail shaped unlike the collection.
 * Nine is the middle of the cost ratios the cost-sensitive spam-filtering literature evaluates at
 * (Androutsopoulos et al., 2000: λ = 1 when a blocked ham is only marked, 9 when its sender must
 * resend it, 999 when it is deleted): a ham lost to a spam label costs the caller more than a spam
 * let through, and a caller here may act on the label.
 */
export const OPERATING_TARGET = { fpCost: 9 } as const;
export const OPERATING_TARGET_TEXT = `spam threshold ≥ 0.5 minimising ${OPERATING_TARGET.fpCost} × (ham called spam) + (spam missed) over validation and its six robustness slices pooled`;

export const DEFAULT_RULE = { maxFpr: 0.003, maxSliceFpr: 0.02, minSliceRecall: 0.85 } as const;
const CONTENT_SLICES: readonly SliceName[] = ['headers-min', 'first-sentence', 'html-only', 'no-urls'];
const sliceNames = Object.keys(SLICES) as SliceName[];

/** DEFAULT_RULE in words, for METRICS.md. */
export const DEFAULT_RULE_TEXT = `each candidate (soft, weighted soft, geometric, stacking; not the hard vote, whose vote shares are not probabilities) gets its temperature and operating point on validation and its cost there (${OPERATING_TARGET.fpCost} × ham called spam + spam missed, per message, each validation message's seven rows — as sent and in its six robustness slices — averaged). Fitted fusions often lose out of sample to the plain average they refine, so the default is chosen by the one-standard-error rule: among the candidates within one standard error (over validation messages) of the lowest cost, the first in this order — soft vote, geometric (no fusion parameters fitted beyond the temperature; the mean of probabilities first, since one confident member moves it by at most a fifth where in the log pool it can outvote the rest), accuracy weights, ensemble selection (one weight per member), stacking (two per member and a bias). "Eligible" is reported beside it: validation ham FPR ≤ ${100 * DEFAULT_RULE.maxFpr} %, ham FPR ≤ ${100 * DEFAULT_RULE.maxSliceFpr} % on every validation slice and spam recall ≥ ${100 * DEFAULT_RULE.minSliceRecall} % on every validation slice that keeps content (${CONTENT_SLICES.join(', ')})`;

/**
 * The order of preference among candidates whose costs differ by less than their noise: the fewest
 * fitted fusion parameters first; of the two plain pools, the linear one (a mean of probabilities)
 * first, since one confident member moves it by at most 1/k, where in the log pool its log-odds
 * can outvote the rest.
 */
export const PREFERENCE = [
  'soft vote',
  'geometric',
  'soft, accuracy weights',
  'soft, ensemble selection',
  'stacking (log-odds, 5-fold OOF)',
] as const;

/** Fusion parameters a strategy fits beyond its temperature, for `members` members. */
export function fittedParameters(strategy: FusionStrategy, weighted: boolean, members: number): number {
  if (strategy === 'stacking') return 2 * members + 1;
  return weighted ? members : 0;
}

/** Cost of each row's decision: a ham called spam costs fpCost, a spam missed 1. */
export function rowCost(label: number, predicted: number): number {
  if (label === predicted) return 0;
  return label === 0 ? OPERATING_TARGET.fpCost : 1;
}

export interface DefaultCandidate<C> {
  cand: C;
  name: string;
  fittedParameters: number;
  metrics: MetricsRow['slices'];
  /** per validation message, its seven rows' mean cost at the candidate's operating point */
  messageCosts: ArrayLike<number>;
}

export interface ChoiceRow {
  name: string;
  eligible: boolean;
  cost: number;
  costSe: number;
  fittedParameters: number;
  accuracy: number;
  logLoss: number;
  fpr: number;
  worstSliceFpr: number;
  worstSliceRecall: number;
}

function meanAndSe(xs: ArrayLike<number>): { mean: number; se: number } {
  const n = xs.length;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += xs[i] as number;
  const mean = sum / n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += ((xs[i] as number) - mean) ** 2;
  return { mean, se: n > 1 ? Math.sqrt(ss / (n - 1) / n) : 0 };
}

/**
 * The served default among the candidates (DEFAULT_RULE_TEXT), with every candidate's figures.
 * Candidates come in order of preference (PREFERENCE): within one standard error of the lowest
 * cost, the first is served.
 */
export function chooseDefault<C>(candidates: readonly DefaultCandidate<C>[]): { chosen: C; choice: ChoiceRow[] } {
  const rows = candidates.map((c) => {
    const m = c.metrics;
    const v = m.validation as ClassificationMetrics;
    const { mean, se } = meanAndSe(c.messageCosts);
    const worstSliceFpr = Math.max(...sliceNames.map((s) => m[`validation/${s}`]?.falsePositiveRate ?? 0));
    const worstSliceRecall = Math.min(...CONTENT_SLICES.map((s) => m[`validation/${s}`]?.truePositiveRate ?? 1));
    const row: ChoiceRow = {
      name: c.name,
      cost: mean,
      costSe: se,
      fittedParameters: c.fittedParameters,
      accuracy: v.accuracy,
      logLoss: v.logLoss,
      fpr: v.falsePositiveRate ?? 0,
      worstSliceFpr,
      worstSliceRecall,
      eligible:
        (v.falsePositiveRate ?? 0) <= DEFAULT_RULE.maxFpr &&
        worstSliceFpr <= DEFAULT_RULE.maxSliceFpr &&
        worstSliceRecall >= DEFAULT_RULE.minSliceRecall,
    };
    return { cand: c.cand, row };
  });
  const best = [...rows].sort((a, b) => a.row.cost - b.row.cost || a.row.logLoss - b.row.logLoss)[0];
  if (!best) throw new Error('no fusion candidate');
  // candidates come in order of preference: the first within one standard error of the best
  const pick = rows.find((r) => r.row.cost <= best.row.cost + best.row.costSe) ?? best;
  return { chosen: pick.cand, choice: rows.map((r) => r.row) };
}
