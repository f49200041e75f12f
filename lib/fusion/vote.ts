import { ChorusError } from '../errors';
import type { MetaLearner } from '../schema';
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

/**
 * Stacking: multinomial logistic regression over the concatenated member probabilities, in the
 * member order the meta-learner was fitted with.
 */
export function stackingApply(probs: MemberProbabilities, meta: MetaLearner): Float64Array {
  const classes = checkMemberProbabilities(probs);
  const features = probs.length * classes;
  if (meta.members.length !== probs.length) {
    throw new ChorusError('shape_mismatch', `meta-learner expects ${meta.members.length} members, got ${probs.length}`);
  }
  if (meta.intercept.length !== classes || meta.coef.length !== classes) {
    throw new ChorusError('shape_mismatch', `meta-learner has ${meta.coef.length} classes, members ${classes}`);
  }
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
    probs.forEach((p, m) => {
      for (let j = 0; j < classes; j++) z += (row[m * classes + j] as number) * (p[j] as number);
    });
    logits[k] = z;
  }
  return softmax(logits);
}
