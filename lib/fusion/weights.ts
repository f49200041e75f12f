import { ChorusError } from '../errors';
import { enoughEvidence, type FuseOptions } from './fuse';
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
  /**
   * how the ensemble answers an input (fuse's options), so the path is scored as it will be
   * served: members' abstained rows (`ProbMatrix.abstained`) carry no weight, and an input that is
   * not evidence enough is the prior
   */
  fusion?: Pick<FuseOptions, 'prior' | 'minAnswering' | 'requireAnyOf'>;
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
 * the number of picks up to there. Each input's average is over the selected members that answer
 * it, as a soft vote with these weights serves it (`options.fusion`).
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
  const { n, c } = first;
  const answers = (m: ProbMatrix, i: number) => !m.abstained?.[i];
  // Per input, what it is when no selected member answers it: the prior when those answering are
  // not evidence enough, else equal weights among them (fuse's rule for zero-weight members).
  const fallback = new Float64Array(n * c);
  const settled = new Uint8Array(n); // the prior whatever is selected
  const prior = options.fusion?.prior;
  for (let i = 0; i < n; i++) {
    const present = members.flatMap((m, k) => (answers(m, i) ? [k] : []));
    if (!enoughEvidence(present, options.fusion ?? {})) {
      settled[i] = 1;
      for (let k = 0; k < c; k++) fallback[i * c + k] = prior ? (prior[k] as number) : 1 / c;
      continue;
    }
    for (const m of present) {
      const data = (members[m] as ProbMatrix).data;
      for (let k = 0; k < c; k++) {
        const j = i * c + k;
        fallback[j] = (fallback[j] as number) + (data[j] as number) / present.length;
      }
    }
  }
  const counts = new Float64Array(members.length);
  const sum = new Float64Array(first.data.length);
  const weight = new Float64Array(n);
  const path: number[] = [];
  const losses: number[] = [];
  const candidate = new Float64Array(first.data.length);
  const mix = (m: ProbMatrix) => {
    for (let i = 0; i < n; i++) {
      const add = settled[i] === 0 && answers(m, i) ? 1 : 0;
      const w = (weight[i] as number) + add;
      for (let k = 0; k < c; k++) {
        const j = i * c + k;
        candidate[j] =
          w === 0 || settled[i] === 1
            ? (fallback[j] as number)
            : ((sum[j] as number) + add * (m.data[j] as number)) / w;
      }
    }
    return meanLogLoss({ n, c, data: candidate }, labels);
  };
  for (let step = 0; step <= rounds; step++) {
    let bestIdx = 0;
    let bestLoss = Number.POSITIVE_INFINITY;
    members.forEach((m, idx) => {
      const loss = mix(m);
      if (loss < bestLoss) {
        bestLoss = loss;
        bestIdx = idx;
      }
    });
    const chosen = members[bestIdx] as ProbMatrix;
    for (let i = 0; i < n; i++) {
      if (settled[i] === 1 || !answers(chosen, i)) continue;
      weight[i] = (weight[i] as number) + 1;
      for (let k = 0; k < c; k++) sum[i * c + k] = (sum[i * c + k] as number) + (chosen.data[i * c + k] as number);
    }
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
