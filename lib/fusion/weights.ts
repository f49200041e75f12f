import { ChorusError } from '../errors';
import { checkProbMatrix, meanLogLoss, type ProbMatrix } from './matrix';

/** Accuracy-proportional weights: w_i ∝ validation accuracy of member i, normalised to 1. */
export function accuracyWeights(accuracies: ArrayLike<number>): Float64Array {
  if (accuracies.length === 0) throw new ChorusError('empty_members', 'no member accuracies given');
  const w = new Float64Array(accuracies.length);
  let sum = 0;
  for (let i = 0; i < accuracies.length; i++) {
    const a = accuracies[i] as number;
    if (!Number.isFinite(a) || a < 0 || a > 1) {
      throw new ChorusError('invalid_argument', `accuracy ${i} must be in [0, 1], got ${a}`);
    }
    w[i] = a;
    sum += a;
  }
  if (sum <= 0) throw new ChorusError('invalid_weights', 'every member has accuracy 0');
  for (let i = 0; i < w.length; i++) w[i] = (w[i] as number) / sum;
  return w;
}

export interface EnsembleSelectionOptions {
  /** greedy additions after the initial member (AutoGluon uses 25-100) */
  rounds?: number;
}

export interface EnsembleSelectionResult {
  weights: Float64Array;
  /** member index added in each step, the initial member first */
  path: number[];
  /** validation log-loss after each step */
  losses: number[];
  /** the step whose ensemble `weights` describe: the lowest loss on the path (earliest on ties) */
  best: number;
}

/**
 * Greedy ensemble selection with replacement on validation log-loss (Caruana et al. 2004):
 * start from the best single member, then repeatedly add the member (possibly again) whose
 * addition to the running average lowers log-loss most. Weights are the selection counts up to
 * the best point of the path (lowest validation log-loss; a later round can only add noise), over
 * the number of picks up to there.
 */
export function ensembleSelection(
  members: readonly ProbMatrix[],
  labels: ArrayLike<number>,
  options: EnsembleSelectionOptions = {},
): EnsembleSelectionResult {
  if (members.length === 0) throw new ChorusError('empty_members', 'ensemble selection needs members');
  const first = members[0] as ProbMatrix;
  for (const m of members) {
    checkProbMatrix(m, labels);
    if (m.n !== first.n || m.c !== first.c) {
      throw new ChorusError('shape_mismatch', `member matrices differ: ${m.n}×${m.c} vs ${first.n}×${first.c}`);
    }
  }
  const rounds = options.rounds ?? 25;
  if (!Number.isInteger(rounds) || rounds < 0) {
    throw new ChorusError('invalid_argument', `rounds must be a non-negative integer, got ${rounds}`);
  }
  const counts = new Float64Array(members.length);
  const sum = new Float64Array(first.data.length);
  const path: number[] = [];
  const losses: number[] = [];
  const candidate = new Float64Array(first.data.length);
  for (let step = 0; step <= rounds; step++) {
    let bestIdx = 0;
    let bestLoss = Number.POSITIVE_INFINITY;
    members.forEach((m, idx) => {
      for (let j = 0; j < sum.length; j++) candidate[j] = ((sum[j] as number) + (m.data[j] as number)) / (step + 1);
      const loss = meanLogLoss({ n: first.n, c: first.c, data: candidate }, labels);
      if (loss < bestLoss) {
        bestLoss = loss;
        bestIdx = idx;
      }
    });
    const chosen = members[bestIdx] as ProbMatrix;
    for (let j = 0; j < sum.length; j++) sum[j] = (sum[j] as number) + (chosen.data[j] as number);
    counts[bestIdx] = (counts[bestIdx] as number) + 1;
    path.push(bestIdx);
    losses.push(bestLoss);
  }
  let best = 0;
  for (let s = 1; s < losses.length; s++) if ((losses[s] as number) < (losses[best] as number)) best = s;
  counts.fill(0);
  for (let s = 0; s <= best; s++) counts[path[s] as number] = (counts[path[s] as number] as number) + 1;
  return { weights: counts.map((c) => c / (best + 1)), path, losses, best };
}
