import { ChorusError } from '../errors';
import type { MetaFeatures, MetaLearner } from '../schema';
import { argmax, LOG_EPS, softmax } from './math';
import { checkMemberProbabilities, type MemberProbabilities, normalizeWeights } from './validate';

/**
 * Hard vote: each member votes its argmax with its weight. Returns the weighted vote shares; the
 * label is their argmax with ties to the lowest class index (scikit-learn's VotingClassifier).
 */
export function hardVote(probs: MemberProbabilities, weights?: ArrayLike<number>): Float64Array {
  const classes = checkMemberProbabilities(probs);
  const w = normalizeWeights(weights, probs.length);
  const shares = new Float64Array(classes);
  probs.forEach((p, m) => {
    const k = argmax(p);
    shares[k] = (shares[k] as number) + (w[m] as number);
  });
  return shares;
}

/** Soft vote / weighted average: Σ w_i p_i with weights normalised to sum 1. */
export function softVote(probs: MemberProbabilities, weights?: ArrayLike<number>): Float64Array {
  const classes = checkMemberProbabilities(probs);
  const w = normalizeWeights(weights, probs.length);
  const out = new Float64Array(classes);
  probs.forEach((p, m) => {
    const wm = w[m] as number;
    for (let k = 0; k < classes; k++) out[k] = (out[k] as number) + wm * (p[k] as number);
  });
  return out;
}

/** Geometric (log-linear) pooling: softmax(Σ w_i log p_i), with p floored at LOG_EPS. */
export function geometricPool(probs: MemberProbabilities, weights?: ArrayLike<number>): Float64Array {
  const classes = checkMemberProbabilities(probs);
  const w = normalizeWeights(weights, probs.length);
  const logits = new Float64Array(classes);
  probs.forEach((p, m) => {
    const wm = w[m] as number;
    for (let k = 0; k < classes; k++) {
      logits[k] = (logits[k] as number) + wm * Math.log(Math.max(p[k] as number, LOG_EPS));
    }
  });
  return softmax(logits);
}

/** Log-odds meta-features are clipped to ±this, so one member's hard 0 or 1 cannot dominate. */
export const LOG_ODDS_CLIP = 12;

/**
 * One row of meta-features, member after member, C values each. `probabilities` (legacy): the
 * member's distribution. `log-odds`: log p_k − log p_0 for k = 1…C−1 (class 0 is the reference,
 * so a binary member gives one column, none redundant), then an abstention indicator; an
 * abstaining member contributes zeros and indicator 1, so it carries no evidence either way.
 */
export function metaFeatureRow(
  probs: MemberProbabilities,
  features: MetaFeatures,
  abstained?: ArrayLike<boolean | number>,
  out?: Float64Array,
): Float64Array {
  const classes = probs[0]?.length ?? 0;
  const row = out ?? new Float64Array(probs.length * classes);
  probs.forEach((p, m) => {
    const base = m * classes;
    if (features === 'probabilities') {
      for (let j = 0; j < classes; j++) row[base + j] = p[j] as number;
      return;
    }
    if (abstained?.[m]) {
      for (let j = 0; j < classes - 1; j++) row[base + j] = 0;
      row[base + classes - 1] = 1;
      return;
    }
    const ref = Math.log(Math.max(p[0] as number, LOG_EPS));
    for (let j = 1; j < classes; j++) {
      const z = Math.log(Math.max(p[j] as number, LOG_EPS)) - ref;
      row[base + j - 1] = Math.min(LOG_ODDS_CLIP, Math.max(-LOG_ODDS_CLIP, z));
    }
    row[base + classes - 1] = 0;
  });
  return row;
}

/**
 * Stacking: multinomial logistic regression over the members' meta-features (`metaFeatureRow`),
 * in the member order the meta-learner was fitted with.
 */
export function stackingApply(
  probs: MemberProbabilities,
  meta: MetaLearner,
  abstained?: ArrayLike<boolean | number>,
): Float64Array {
  const classes = checkMemberProbabilities(probs);
  const features = probs.length * classes;
  if (meta.members.length !== probs.length) {
    throw new ChorusError('shape_mismatch', `meta-learner expects ${meta.members.length} members, got ${probs.length}`);
  }
  if (meta.intercept.length !== classes || meta.coef.length !== classes) {
    throw new ChorusError('shape_mismatch', `meta-learner has ${meta.coef.length} classes, members ${classes}`);
  }
  const x = metaFeatureRow(probs, meta.features ?? 'probabilities', abstained);
  const logits = new Float64Array(classes);
  for (let k = 0; k < classes; k++) {
    const row = meta.coef[k] as number[];
    if (row.length !== features) {
      throw new ChorusError(
        'shape_mismatch',
        `meta-learner row ${k} has ${row.length} coefficients, expected ${features}`,
      );
    }
    let z = meta.intercept[k] as number;
    for (let j = 0; j < features; j++) z += (row[j] as number) * (x[j] as number);
    logits[k] = z;
  }
  return softmax(logits);
}
