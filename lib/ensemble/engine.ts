import { ChorusError } from '../errors';
import type { TokenizerSource } from '../features';
import { type DecisionRule, enoughEvidence, type FuseOptions, fuse } from '../fusion';
import type { EnsembleManifest, FusionStrategy, MemberSpec, Prediction, PredictResponse } from '../schema';
import type { ModelSession } from './backend';
import { Featurizer } from './inputs';
import { describe, type MemberResult, runMember } from './run-member';
import { type EngineInput, validateInputs } from './validate-inputs';

/**
 * Where the engine gets a ready session for a member (SessionCache in production), and the
 * tokenizers that tokenizer featurizers read (a source without them cannot serve such members).
 */
export interface SessionSource extends Partial<TokenizerSource> {
  session(member: MemberSpec): Promise<ModelSession>;
}

export interface PredictOptions {
  /** override the manifest's strategy */
  strategy?: FusionStrategy;
  returnMembers?: boolean;
}

/**
 * A strategy's own temperature and decision (`fusion.calibration[strategy]`); a manifest without
 * one for the strategy scales only its default strategy by `fusion.temperature`.
 */
export function strategyCalibration(
  manifest: EnsembleManifest,
  strategy: FusionStrategy,
): { temperature: number; decision?: DecisionRule } {
  const { fusion } = manifest;
  const cal = fusion.calibration?.[strategy];
  const temperature = cal?.temperature ?? (strategy === fusion.strategy ? fusion.temperature : 1);
  const d = cal?.decision;
  if (!d) return { temperature };
  if (d.kind === 'costs') return { temperature, decision: { kind: 'costs', costs: d.costs } };
  return {
    temperature,
    decision: { kind: 'threshold', positive: manifest.labels.indexOf(d.positive), threshold: d.threshold },
  };
}

/**
 * What every strategy of the manifest answers an input with when those answering it are not
 * evidence enough (the prior; minAnswering; requireAnyOf as flags over `ids`, in their order:
 * by default the manifest's members).
 */
export function evidenceOptions(
  manifest: EnsembleManifest,
  ids: readonly string[] = manifest.members.map((m) => m.id),
): Pick<FuseOptions, 'prior' | 'minAnswering' | 'requireAnyOf'> {
  const { fusion } = manifest;
  return {
    ...(fusion.prior ? { prior: fusion.prior } : {}),
    ...(fusion.minAnswering ? { minAnswering: fusion.minAnswering } : {}),
    ...(fusion.requireAnyOf ? { requireAnyOf: ids.map((id) => fusion.requireAnyOf?.includes(id) === true) } : {}),
  };
}

/**
 * How the members that answered are fused, from the manifest's fusion spec: weights by member id
 * (renormalised over those present), stacking only when every meta-learner member answered (else
 * soft), the strategy's own temperature and decision, the prior for inputs every member abstains
 * on. Shared by serving and by jobs that evaluate a manifest.
 */
export function fusionPlan(
  manifest: EnsembleManifest,
  strategy: FusionStrategy,
  ids: readonly string[],
): { strategy: FusionStrategy; options: FuseOptions } {
  const { fusion } = manifest;
  const meta = fusion.metaLearner;
  const fallback = evidenceOptions(manifest, ids);
  if (strategy === 'stacking') {
    // The meta-learner needs every member it was fitted on, in its order; without them, degrade to soft.
    if (meta && meta.members.length === ids.length && meta.members.every((id, k) => ids[k] === id)) {
      return { strategy, options: { metaLearner: meta, ...strategyCalibration(manifest, strategy), ...fallback } };
    }
    strategy = 'soft';
  }
  let weights: number[] | undefined;
  if (fusion.weights) {
    weights = ids.map((id) => fusion.weights?.[id] ?? 0);
    if (weights.every((w) => w === 0)) weights = undefined; // only zero-weight members left: equal weights
  }
  return {
    strategy,
    options: { ...(weights ? { weights } : {}), ...strategyCalibration(manifest, strategy), ...fallback },
  };
}

function fuseAll(
  manifest: EnsembleManifest,
  strategy: FusionStrategy,
  ran: readonly MemberResult[],
  n: number,
): { strategy: FusionStrategy; answers: ReturnType<typeof fuse>[] } {
  const plan = fusionPlan(
    manifest,
    strategy,
    ran.map((r) => r.member.id),
  );
  const answers = Array.from({ length: n }, (_, i) =>
    fuse(
      plan.strategy,
      ran.map((r) => r.probs[i] as Float64Array),
      { ...plan.options, abstained: ran.map((r) => r.abstained[i] === true) },
    ),
  );
  return { strategy: plan.strategy, answers };
}

/**
 * One ensemble prediction: validate, featurize once per featurizer, run members (cheapest first
 * with early exit when the manifest sets a cascade threshold), drop failing members, fuse.
 */
export async function predictEnsemble(
  manifest: EnsembleManifest,
  inputs: readonly EngineInput[],
  sessions: SessionSource,
  options: PredictOptions = {},
): Promise<PredictResponse> {
  validateInputs(manifest.input, inputs);
  const requested = options.strategy ?? manifest.fusion.strategy;
  if (requested === 'stacking' && !manifest.fusion.metaLearner) {
    throw new ChorusError('unknown_strategy', `ensemble '${manifest.name}' has no fitted meta-learner for stacking`);
  }
  const n = inputs.length;
  const classes = manifest.labels.length;
  const tokenizers = sessions.tokenizer ? { tokenizer: sessions.tokenizer.bind(sessions) } : undefined;
  const featurizer = new Featurizer(manifest.input, inputs, tokenizers);
  await featurizer.prepare(manifest.members);
  const degraded: { member: string; reason: string }[] = [];
  const results: MemberResult[] = [];
  const threshold = manifest.fusion.cascadeThreshold;
  /** per input, how many of `results` (in run order) its answer uses; 0: all of them */
  const usedBy = new Int32Array(n);

  if (threshold === undefined) {
    const settled = await Promise.allSettled(
      manifest.members.map((m) => runMember(m, featurizer, sessions, n, classes)),
    );
    settled.forEach((s, k) => {
      const member = manifest.members[k] as MemberSpec;
      if (s.status === 'fulfilled') results.push(s.value);
      else degraded.push({ member: member.id, reason: describe(s.reason) });
    });
  } else {
    // Each input stops at the first member after which its own fused margin reaches the threshold,
    // and is answered and charged by the members up to there: the same answer as alone, whatever
    // else is in the call. Members run on for the inputs not yet sure.
    const order = [...manifest.members].sort((a, b) => a.costUnits - b.costUnits);
    // Abstention is read from the text before any member runs: an input whose members that will
    // ever answer are not evidence enough (minAnswering, requireAnyOf) is the prior whatever runs,
    // so it waits for nothing.
    const willAnswer: number[][] = Array.from({ length: n }, () => []);
    for (const [k, member] of manifest.members.entries()) {
      // a member whose abstentions cannot be read counts as answering: it fails (degraded) when it runs
      const abstains = await featurizer.abstentions(member).catch(() => [] as boolean[]);
      for (let i = 0; i < n; i++) if (abstains[i] !== true) willAnswer[i]?.push(k);
    }
    const evidence = evidenceOptions(manifest);
    const hopeless = willAnswer.map((present) => !enoughEvidence(present, evidence));
    for (const member of order) {
      try {
        results.push(await runMember(member, featurizer, sessions, n, classes));
      } catch (e) {
        degraded.push({ member: member.id, reason: describe(e) });
        continue;
      }
      hopeless.forEach((h, i) => {
        if (usedBy[i] === 0 && h) usedBy[i] = results.length;
      });
      if (results.length < manifest.fusion.quorum) continue;
      const partial = fuseAll(manifest, 'soft', results, n);
      partial.answers.forEach((a, i) => {
        // the prior is no evidence: an input whose members so far abstained runs on
        if (usedBy[i] === 0 && !a.abstainedAll && a.uncertainty.margin >= threshold) usedBy[i] = results.length;
      });
      if (usedBy.every((k) => k > 0)) break;
    }
  }

  // fewer survivors than minAnswering, or none of requireAnyOf, could only ever answer the prior:
  // as unhealthy as a lost quorum. Survivors: members that did not fail (a cascade may not run all).
  const survivors = manifest.members.filter((m) => !degraded.some((d) => d.member === m.id)).map((m) => m.id);
  const needed = Math.max(manifest.fusion.quorum, manifest.fusion.minAnswering ?? 1);
  if (survivors.length < needed) {
    throw new ChorusError(
      'no_healthy_member',
      `${survivors.length} of ${manifest.members.length} members answered; the ensemble needs ${needed}`,
      { details: { degraded } },
    );
  }
  const required = manifest.fusion.requireAnyOf;
  if (required && !survivors.some((id) => required.includes(id))) {
    throw new ChorusError(
      'no_healthy_member',
      `none of the members an answer requires (${required.join(', ')}) answered`,
      { details: { degraded } },
    );
  }
  // Manifest order among those used, so stacking sees its fitted order; one fusion per cut.
  const rank = new Map(manifest.members.map((m, k) => [m.id, k]));
  const used = (k: number) =>
    results.slice(0, k || results.length).sort((a, b) => (rank.get(a.member.id) ?? 0) - (rank.get(b.member.id) ?? 0));
  const cuts = new Map<number, { members: MemberResult[]; fused: ReturnType<typeof fuseAll> }>();
  for (const k of new Set(usedBy)) cuts.set(k, { members: used(k), fused: fuseAll(manifest, requested, used(k), n) });
  const whole = cuts.get(0) ??
    cuts.get(Math.max(...usedBy)) ?? { members: used(0), fused: fuseAll(manifest, requested, used(0), n) };
  const labelMap = (p: ArrayLike<number>): Record<string, number> =>
    Object.fromEntries(manifest.labels.map((l, k) => [l, p[k] as number]));
  let units = 0;
  const predictions: Prediction[] = Array.from(usedBy, (k, i) => {
    const cut = cuts.get(k) ?? whole;
    const a = cut.fused.answers[i] as ReturnType<typeof fuse>;
    // an answer that is the prior (every member abstained, or those answering were not evidence enough) uses no member's
    const answered = a.abstainedAll ? [] : cut.members.filter((r) => r.abstained[i] !== true);
    // Charged: the members this input used that ran and did not abstain for it.
    for (const r of answered) if (!r.skipped) units += r.member.costUnits;
    return {
      label: manifest.labels[a.labelIndex] as string,
      probabilities: labelMap(a.probabilities),
      uncertainty: a.uncertainty,
      abstained: a.abstainedAll ? 'all' : cut.members.filter((r) => r.abstained[i] === true).map((r) => r.member.id),
      ...(threshold === undefined ? {} : { ran: answered.map((r) => r.member.id) }),
      ...(options.returnMembers
        ? { members: Object.fromEntries(answered.map((r) => [r.member.id, labelMap(r.probs[i] as Float64Array)])) }
        : {}),
    };
  });
  return {
    ensemble: manifest.name,
    version: manifest.version,
    strategy: whole.fused.strategy,
    predictions,
    ran: results.filter((r) => !r.skipped).map((r) => r.member.id),
    degraded,
    usage: { units, inputs: n },
  };
}
