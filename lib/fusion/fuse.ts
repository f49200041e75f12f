import { ChorusError } from '../errors';
import type { FusionStrategy, MetaLearner, Uncertainty } from '../schema';
import { applyTemperature } from './calibration';
import { type DecisionRule, decide } from './decision';
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
  /** how the label is read from the fused distribution; argmax when absent */
  decision?: DecisionRule;
  /**
   * per member, true (or 1) where it abstains for this input: it carries no weight (stacking sees
   * its abstention feature instead of its output)
   */
  abstained?: ArrayLike<boolean | number>;
  /** answered when every member abstains; uniform when absent */
  prior?: ArrayLike<number>;
  /**
   * the fewest members that must answer (not abstain) for an input; with fewer, the input is
   * answered by the prior as when every member abstains. 1 when absent.
   */
  minAnswering?: number;
  /**
   * per member, true (or 1) where it is one of `fusion.requireAnyOf`: an input none of those answer
   * is answered by the prior (the evidence a label needs is not there). No requirement when absent.
   */
  requireAnyOf?: ArrayLike<boolean | number>;
}

export interface FusedAnswer {
  labelIndex: number;
  probabilities: Float64Array;
  uncertainty: Uncertainty;
  /** every member abstained (or fewer answered than `minAnswering`, or none of `requireAnyOf`): the answer is the prior */
  abstainedAll: boolean;
}

function priorOf(options: FuseOptions, classes: number): Float64Array {
  if (!options.prior) return new Float64Array(classes).fill(1 / classes);
  if (options.prior.length !== classes)
    throw new ChorusError('shape_mismatch', `prior has ${options.prior.length} classes, members ${classes}`);
  return Float64Array.from(options.prior);
}

/** Whether the members answering an input are evidence enough: at least `minAnswering`, one of them required. */
export function enoughEvidence(
  present: readonly number[],
  options: Pick<FuseOptions, 'minAnswering' | 'requireAnyOf'>,
): boolean {
  if (present.length < Math.max(1, options.minAnswering ?? 1)) return false;
  const required = options.requireAnyOf;
  return required === undefined || present.some((m) => Boolean(required[m]));
}

/**
 * Fuses one example's member distributions with the named strategy. Members marked in
 * `options.abstained` carry no weight (weights renormalised over the others; stacking reads
 * their abstention feature); when all abstain, or those answering are not evidence enough
 * (`enoughEvidence`), the answer is the prior.
 */
export function fuse(strategy: FusionStrategy, probs: MemberProbabilities, options: FuseOptions = {}): FusedAnswer {
  const abstained = options.abstained;
  const present: number[] = [];
  for (let m = 0; m < probs.length; m++) if (!abstained?.[m]) present.push(m);
  if (probs.length > 0 && !enoughEvidence(present, options)) {
    const prior = priorOf(options, probs[0]?.length ?? 0);
    const labelIndex = decide(prior, options.decision);
    return { labelIndex, probabilities: prior, uncertainty: uncertaintyOf(prior, [], labelIndex), abstainedAll: true };
  }
  const answering = present.length === probs.length ? probs : present.map((m) => probs[m] as ArrayLike<number>);
  let weights = options.weights;
  if (weights !== undefined && present.length < probs.length) {
    const w = options.weights as ArrayLike<number>;
    const kept = present.map((m) => w[m] as number);
    // only zero-weight members answered: equal weights among them
    weights = kept.some((v) => v > 0) ? kept : undefined;
  }
  let fused: Float64Array;
  switch (strategy) {
    case 'hard':
      fused = hardVote(answering, weights);
      break;
    case 'soft':
      fused = softVote(answering, weights);
      break;
    case 'geometric':
      fused = geometricPool(answering, weights);
      break;
    case 'stacking':
      if (!options.metaLearner) {
        throw new ChorusError('invalid_argument', 'stacking needs a fitted meta-learner');
      }
      fused = stackingApply(probs, options.metaLearner, abstained);
      break;
    default:
      throw new ChorusError('unknown_strategy', `unknown fusion strategy '${String(strategy)}'`);
  }
  const t = options.temperature ?? 1;
  if (t !== 1 && strategy !== 'hard') fused = applyTemperature(fused, t);
  const labelIndex = decide(fused, options.decision);
  return {
    labelIndex,
    probabilities: fused,
    uncertainty: uncertaintyOf(fused, answering, labelIndex),
    abstainedAll: false,
  };
}

/**
 * Fuses a whole dataset: members[m] is member m's n × c matrix (its `abstained` rows, if any,
 * carry no weight). Returns the fused n × c matrix.
 */
export function fuseMatrices(
  strategy: FusionStrategy,
  members: readonly ProbMatrix[],
  options: FuseOptions = {},
): ProbMatrix {
  return fuseRows(strategy, members, options).probs;
}

/** `fuseMatrices` with each row's decided label too. */
export function fuseRows(
  strategy: FusionStrategy,
  members: readonly ProbMatrix[],
  options: FuseOptions = {},
): { probs: ProbMatrix; labels: Int32Array; abstainedAll: Uint8Array } {
  const first = members[0];
  if (!first) throw new ChorusError('empty_members', 'fusion needs at least one member');
  for (const m of members) {
    if (m.n !== first.n || m.c !== first.c) {
      throw new ChorusError('shape_mismatch', `member matrices differ: ${m.n}×${m.c} vs ${first.n}×${first.c}`);
    }
  }
  const out = new Float64Array(first.n * first.c);
  const labels = new Int32Array(first.n);
  const all = new Uint8Array(first.n);
  const anyAbstain = members.some((m) => m.abstained !== undefined);
  const mask = new Uint8Array(members.length);
  for (let i = 0; i < first.n; i++) {
    const row = members.map((m) => m.data.subarray(i * m.c, (i + 1) * m.c));
    if (anyAbstain) for (const [k, m] of members.entries()) mask[k] = m.abstained?.[i] ?? 0;
    const a = fuse(strategy, row, anyAbstain ? { ...options, abstained: mask } : options);
    out.set(a.probabilities, i * first.c);
    labels[i] = a.labelIndex;
    all[i] = a.abstainedAll ? 1 : 0;
  }
  // rows answered by the prior are flagged in the matrix too, as a member's abstentions are (fitTemperature skips them)
  const probs = { n: first.n, c: first.c, data: out, ...(all.includes(1) ? { abstained: all } : {}) };
  return { probs, labels, abstainedAll: all };
}
