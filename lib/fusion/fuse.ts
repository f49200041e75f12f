import { ChorusError } from '../errors';
import type { FusionStrategy, MetaLearner, Uncertainty } from '../schema';
import { applyTemperature } from './calibration';
import { argmax } from './math';
import type { ProbMatrix } from './matrix';
import { uncertaintyOf } from './uncertainty';
import type { MemberProbabilities } from './validate';
import { geometricPool, hardVote, softVote, stackingApply } from './vote';

export interface FuseOptions {
  /** one weight per member, in member order; undefined = equal */
  weights?: ArrayLike<number>;
  metaLearner?: MetaLearner;
  /** applied to the fused distribution; 1 = none. Not applied to hard votes (shares, not beliefs). */
  temperature?: number;
}

export interface FusedAnswer {
  labelIndex: number;
  probabilities: Float64Array;
  uncertainty: Uncertainty;
}

/** Fuses one example's member distributions with the named strategy. */
export function fuse(strategy: FusionStrategy, probs: MemberProbabilities, options: FuseOptions = {}): FusedAnswer {
  let fused: Float64Array;
  switch (strategy) {
    case 'hard':
      fused = hardVote(probs, options.weights);
      break;
    case 'soft':
      fused = softVote(probs, options.weights);
      break;
    case 'geometric':
      fused = geometricPool(probs, options.weights);
      break;
    case 'stacking':
      if (!options.metaLearner) {
        throw new ChorusError('invalid_argument', 'stacking needs a fitted meta-learner');
      }
      fused = stackingApply(probs, options.metaLearner);
      break;
    default:
      throw new ChorusError('unknown_strategy', `unknown fusion strategy '${String(strategy)}'`);
  }
  const t = options.temperature ?? 1;
  if (t !== 1 && strategy !== 'hard') fused = applyTemperature(fused, t);
  return { labelIndex: argmax(fused), probabilities: fused, uncertainty: uncertaintyOf(fused, probs) };
}

/** Fuses a whole dataset: members[m] is member m's n × c matrix. Returns the fused n × c matrix. */
export function fuseMatrices(
  strategy: FusionStrategy,
  members: readonly ProbMatrix[],
  options: FuseOptions = {},
): ProbMatrix {
  const first = members[0];
  if (!first) throw new ChorusError('empty_members', 'fusion needs at least one member');
  for (const m of members) {
    if (m.n !== first.n || m.c !== first.c) {
      throw new ChorusError('shape_mismatch', `member matrices differ: ${m.n}×${m.c} vs ${first.n}×${first.c}`);
    }
  }
  const out = new Float64Array(first.n * first.c);
  for (let i = 0; i < first.n; i++) {
    const row = members.map((m) => m.data.subarray(i * m.c, (i + 1) * m.c));
    out.set(fuse(strategy, row, options).probabilities, i * first.c);
  }
  return { n: first.n, c: first.c, data: out };
}
