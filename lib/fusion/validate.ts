import { ChorusError } from '../errors';

/** Probabilities of one example from each of M members: M arrays of C classes. */
export type MemberProbabilities = readonly ArrayLike<number>[];

const SUM_TOLERANCE = 1e-3;

/** Checks M ≥ 1 members, equal class counts ≥ 2, finite non-negative entries summing to 1. */
export function checkMemberProbabilities(probs: MemberProbabilities): number {
  if (probs.length === 0) {
    throw new ChorusError('empty_members', 'fusion needs at least one member distribution');
  }
  const classes = probs[0]?.length ?? 0;
  if (classes < 2) {
    throw new ChorusError('shape_mismatch', `a distribution needs at least 2 classes, got ${classes}`);
  }
  probs.forEach((p, m) => {
    if (p.length !== classes) {
      throw new ChorusError('shape_mismatch', `member ${m} has ${p.length} classes, member 0 has ${classes}`, {
        details: { member: m },
      });
    }
    let sum = 0;
    for (let k = 0; k < classes; k++) {
      const v = p[k] as number;
      if (!Number.isFinite(v)) {
        throw new ChorusError('not_finite', `member ${m} class ${k} is ${v}`, { details: { member: m } });
      }
      if (v < 0) {
        throw new ChorusError('invalid_argument', `member ${m} class ${k} is negative (${v})`);
      }
      sum += v;
    }
    if (Math.abs(sum - 1) > SUM_TOLERANCE) {
      throw new ChorusError('invalid_argument', `member ${m} probabilities sum to ${sum}, not 1`, {
        details: { member: m },
      });
    }
  });
  return classes;
}

/** Returns weights normalised to sum 1; undefined means equal weights. */
export function normalizeWeights(weights: ArrayLike<number> | undefined, members: number): Float64Array {
  if (members <= 0) {
    throw new ChorusError('empty_members', 'weights need at least one member');
  }
  const out = new Float64Array(members);
  if (weights === undefined) {
    out.fill(1 / members);
    return out;
  }
  if (weights.length !== members) {
    throw new ChorusError('invalid_weights', `got ${weights.length} weights for ${members} members`);
  }
  let sum = 0;
  for (let i = 0; i < members; i++) {
    const w = weights[i] as number;
    if (!Number.isFinite(w)) throw new ChorusError('invalid_weights', `weight ${i} is ${w}`);
    if (w < 0) throw new ChorusError('invalid_weights', `weight ${i} is negative (${w})`);
    out[i] = w;
    sum += w;
  }
  if (sum <= 0) throw new ChorusError('invalid_weights', 'weights sum to 0');
  for (let i = 0; i < members; i++) out[i] = (out[i] as number) / sum;
  return out;
}

export function checkFinite(values: ArrayLike<number>, what: string): void {
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (!Number.isFinite(v)) throw new ChorusError('not_finite', `${what}[${i}] is ${v}`);
  }
}
