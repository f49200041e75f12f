import {
  accuracyWeights,
  applyTemperature,
  type CurvePoint,
  ensembleSelection,
  type FuseOptions,
  fitTemperature,
  fuseRows,
  operatingCurve,
  type ProbMatrix,
  thresholdForCost,
} from '../../lib/fusion';
import type { ClassificationMetrics, FusionSpec, FusionStrategy, MetaLearner, MetricsRow } from '../../lib/schema';
import { classificationMetrics, selectRows } from '../../lib/train';
import { type ChoiceRow, chooseDefault, fittedParameters, OPERATING_TARGET, PREFERENCE, rowCost } from './default-rule';
import { type BuiltMember, SERVED_VARIANT, zooFusionOptions } from './members';
import { SLICES, type SliceName } from './slices';
import type { Split } from './split';
import type { CrossFitted } from './stacking';

/** Ham (0) is the negative class, spam (1) the positive one. */
const SPAM = 1;

export interface Candidate {
  name: string;
  strategy: FusionStrategy;
  weightsFrom: FusionSpec['weightsFrom'];
  weights?: Float64Array;
  options: FuseOptions;
  memberIdx: number[];
}

/** Matrices over the scored rows (validation then test): the unmodified messages and each slice. */
export interface Scored {
  base: ProbMatrix;
  slices: Record<SliceName, ProbMatrix>;
}

/** A row fitted on validation: its temperature, threshold and decided labels. */
export interface Fitted {
  temperature: number;
  threshold: number;
  metrics: MetricsRow['slices'];
  /** test scores and curve (for the default's ROC / PR) */
  curve: CurvePoint[];
  /** per validation message, the mean cost of its decisions as sent and in every slice */
  messageCosts: Float64Array;
}

export interface FusionResult {
  rows: MetricsRow[];
  /** the served default */
  chosen: Candidate;
  fitted: Fitted;
  /** per strategy, as the manifest serves it (the manifest's weights for hard / soft / geometric) */
  calibration: Partial<Record<FusionStrategy, { temperature: number; threshold: number }>>;
  manifestWeights?: Float64Array;
  selectionWeights: Float64Array;
  /** validation figures of each default candidate and whether the rule admits it */
  choice: ChoiceRow[];
}

const sliceNames = Object.keys(SLICES) as SliceName[];

/** Every slice's metrics of one row: validation, test, hard ham, and both splits of each robustness slice. */
function rowMetrics(
  split: Split,
  probs: Scored,
  predicted: { base: Int32Array; slices: Record<SliceName, Int32Array> },
) {
  const y = split.yScored;
  const at = (p: ProbMatrix, pred: Int32Array, rows: number[]): ClassificationMetrics =>
    classificationMetrics(
      selectRows(p, rows),
      rows.map((r) => y[r] as number),
      { negativeClass: 0, predicted: rows.map((r) => pred[r] as number) },
    );
  const out: MetricsRow['slices'] = {
    validation: at(probs.base, predicted.base, split.valPos),
    test: at(probs.base, predicted.base, split.testPos),
    'test/hard-ham': at(probs.base, predicted.base, split.testHardHam),
  };
  for (const s of sliceNames) {
    out[`validation/${s}`] = at(probs.slices[s], predicted.slices[s], split.valPos);
    out[`test/${s}`] = at(probs.slices[s], predicted.slices[s], split.testPos);
  }
  return out;
}

/** A fused matrix at a temperature, as fuseRows applies it: not to rows where every member abstained (`abstained`). */
function tempered(p: ProbMatrix, temperature: number): ProbMatrix {
  const data = Float64Array.from(p.data);
  for (let i = 0; i < p.n; i++) {
    if (temperature === 1 || p.abstained?.[i]) continue;
    data.set(applyTemperature(p.data.subarray(i * p.c, (i + 1) * p.c), temperature), i * p.c);
  }
  return { n: p.n, c: p.c, data };
}

/** Scores of the positive class at the given rows. */
const scoresAt = (p: ProbMatrix, rows: readonly number[]) => rows.map((r) => p.data[r * p.c + SPAM] as number);

/** The threshold of OPERATING_TARGET on validation and the validation slices, pooled. */
function fitThreshold(split: Split, probs: Scored): number {
  const scores: number[] = [];
  const positives: boolean[] = [];
  for (const p of [probs.base, ...sliceNames.map((s) => probs.slices[s])]) {
    scores.push(...scoresAt(p, split.valPos));
    for (const r of split.valPos) positives.push(split.yScored[r] === SPAM);
  }
  return Number(thresholdForCost(scores, positives, OPERATING_TARGET.fpCost).toPrecision(6));
}

const decideAll = (p: ProbMatrix, threshold: number): Int32Array => {
  const out = new Int32Array(p.n);
  for (let i = 0; i < p.n; i++) out[i] = (p.data[i * p.c + SPAM] as number) > threshold ? SPAM : 0;
  return out;
};

/**
 * A classifier's rows fitted on validation: temperature (validation log-loss; 1 for hard votes and
 * for members, already calibrated), then the threshold, then metrics everywhere.
 */
function fitRow(
  split: Split,
  fuse: (slice?: SliceName, temperature?: number) => ProbMatrix,
  withTemperature: boolean,
): Fitted {
  let temperature = 1;
  if (withTemperature) {
    const raw = fuse(undefined, 1);
    temperature = Number(
      fitTemperature(selectRows(raw, split.valPos), split.yScored.slice(0, split.valPos.length)).toPrecision(6),
    );
  }
  const probs: Scored = {
    base: fuse(undefined, temperature),
    slices: Object.fromEntries(sliceNames.map((s) => [s, fuse(s, temperature)])) as Record<SliceName, ProbMatrix>,
  };
  const threshold = fitThreshold(split, probs);
  const predicted = {
    base: decideAll(probs.base, threshold),
    slices: Object.fromEntries(sliceNames.map((s) => [s, decideAll(probs.slices[s], threshold)])) as Record<
      SliceName,
      Int32Array
    >,
  };
  const curve = operatingCurve(
    scoresAt(probs.base, split.testPos),
    split.testPos.map((r) => split.yScored[r] === SPAM),
  );
  const decisions = [predicted.base, ...sliceNames.map((s) => predicted.slices[s])];
  const messageCosts = Float64Array.from(split.valPos, (r) => {
    const y = split.yScored[r] as number;
    return decisions.reduce((sum, pred) => sum + rowCost(y, pred[r] as number), 0) / decisions.length;
  });
  return { temperature, threshold, metrics: rowMetrics(split, probs, predicted), curve, messageCosts };
}

function candidates(members: BuiltMember[], split: Split, metaLearner: MetaLearner) {
  // the prior and the members that must answer, as the served manifest fuses
  const shared = zooFusionOptions(
    split,
    members.map((m) => m.def),
  );
  const served = members.map((m) => m.variants[SERVED_VARIANT].probs);
  const accW = accuracyWeights(members.map((m) => m.validationAccuracy));
  const selection = ensembleSelection(
    served.map((m) => selectRows(m, split.valPos)),
    split.yVal,
    { rounds: 25, fusion: shared },
  );
  const all = members.map((_, i) => i);
  const list: Candidate[] = [
    { name: 'hard vote', strategy: 'hard', weightsFrom: 'equal', options: { ...shared }, memberIdx: all },
    { name: 'soft vote', strategy: 'soft', weightsFrom: 'equal', options: { ...shared }, memberIdx: all },
    {
      name: 'soft, accuracy weights',
      strategy: 'soft',
      weightsFrom: 'accuracy',
      weights: accW,
      options: { ...shared, weights: accW },
      memberIdx: all,
    },
    {
      name: 'soft, ensemble selection',
      strategy: 'soft',
      weightsFrom: 'ensemble-selection',
      weights: selection.weights,
      options: { ...shared, weights: selection.weights },
      memberIdx: all,
    },
    { name: 'geometric', strategy: 'geometric', weightsFrom: 'equal', options: { ...shared }, memberIdx: all },
    {
      name: 'stacking (log-odds, 5-fold OOF)',
      strategy: 'stacking',
      weightsFrom: 'equal',
      options: { ...shared, metaLearner },
      memberIdx: all,
    },
  ];
  const bodyOnly: Candidate = {
    name: 'soft vote, body-only members',
    strategy: 'soft',
    weightsFrom: 'equal',
    options: zooFusionOptions(
      split,
      members.filter((m) => m.def.bodyOnly).map((m) => m.def),
    ),
    memberIdx: members.flatMap((m, i) => (m.def.bodyOnly ? [i] : [])),
  };
  return { list, bodyOnly, selection, shared };
}

/**
 * Every member and fusion strategy over the served members, each fitted on validation (temperature,
 * then the operating point of OPERATING_TARGET), with metrics on test, hard ham and every
 * robustness slice; the default chosen by DEFAULT_RULE.
 */
export function fitFusion(
  members: BuiltMember[],
  split: Split,
  metaLearner: MetaLearner,
  sliceProbs: Record<SliceName, ProbMatrix[]>,
  /** stacking's answers, every validation row answered out of its fold (crossFittedStacking) */
  crossFitted: CrossFitted,
): FusionResult {
  const { list, bodyOnly, selection, shared } = candidates(members, split, metaLearner);
  const rows: MetricsRow[] = [];
  for (const [i, m] of members.entries()) {
    for (const variant of ['fp32', 'int8'] as const) {
      const probs = m.variants[variant].probs;
      // slices are scored for the served variant only
      const fitted = fitRow(split, (s) => (s === undefined ? probs : (sliceProbs[s][i] as ProbMatrix)), false);
      rows.push({
        name: m.def.id,
        kind: 'member',
        variant,
        bytes: m.variants[variant].bytes.length,
        bodyOnly: m.def.bodyOnly,
        threshold: fitted.threshold,
        slices:
          variant === SERVED_VARIANT
            ? fitted.metrics
            : {
                test: fitted.metrics.test as ClassificationMetrics,
                'test/hard-ham': fitted.metrics['test/hard-ham'] as ClassificationMetrics,
              },
      });
    }
  }
  const bytesOf = (idx: number[]) =>
    idx.reduce((s, i) => s + (members[i] as BuiltMember).variants[SERVED_VARIANT].bytes.length, 0);
  const fitCandidate = (cand: Candidate): Fitted => {
    if (cand.strategy === 'stacking')
      return fitRow(split, (s, temperature) => tempered(crossFitted(s), temperature ?? 1), true);
    const pick = (ms: readonly ProbMatrix[]) => cand.memberIdx.map((i) => ms[i] as ProbMatrix);
    const base = pick(members.map((m) => m.variants[SERVED_VARIANT].probs));
    return fitRow(
      split,
      (s, temperature) =>
        fuseRows(cand.strategy, s === undefined ? base : pick(sliceProbs[s]), { ...cand.options, temperature }).probs,
      cand.strategy !== 'hard',
    );
  };
  const fittedOf = new Map<Candidate, Fitted>();
  for (const cand of [...list, bodyOnly]) {
    const fitted = fitCandidate(cand);
    fittedOf.set(cand, fitted);
    rows.push({
      name: cand.name,
      kind: cand.strategy === 'stacking' ? 'stacking' : 'fusion',
      variant: SERVED_VARIANT,
      bytes: bytesOf(cand.memberIdx),
      bodyOnly: cand === bodyOnly,
      threshold: fitted.threshold,
      temperature: fitted.temperature,
      slices: fitted.metrics,
    });
  }
  // in order of preference; not the hard vote (shares, not probabilities) nor the body-only vote (drops members)
  const { chosen, choice } = chooseDefault(
    PREFERENCE.map((name) => {
      const cand = list.find((c) => c.name === name);
      if (!cand) throw new Error(`no fusion candidate '${name}'`);
      const f = fittedOf.get(cand) as Fitted;
      return {
        cand,
        name: cand.name,
        fittedParameters: fittedParameters(cand.strategy, cand.weights !== undefined, cand.memberIdx.length),
        metrics: f.metrics,
        messageCosts: f.messageCosts,
      };
    }),
  );
  const fitted = fittedOf.get(chosen) as Fitted;
  rows.push({
    name: `default answer: ${chosen.name} at its operating point`,
    kind: chosen.strategy === 'stacking' ? 'stacking' : 'fusion',
    variant: SERVED_VARIANT,
    bytes: bytesOf(chosen.memberIdx),
    threshold: fitted.threshold,
    temperature: fitted.temperature,
    slices: fitted.metrics,
  });

  // What the manifest serves per strategy: hard / soft / geometric with the manifest's weights.
  const manifestWeights = chosen.strategy === 'soft' ? chosen.weights : undefined;
  const calibration: FusionResult['calibration'] = {};
  for (const strategy of ['hard', 'soft', 'geometric', 'stacking'] as const) {
    const same = [...list].find(
      (c) => c.strategy === strategy && (strategy === 'stacking' || c.weights === manifestWeights),
    );
    const f = same
      ? (fittedOf.get(same) as Fitted)
      : fitCandidate({
          name: strategy,
          strategy,
          weightsFrom: 'manual',
          options: { ...shared, ...(manifestWeights ? { weights: manifestWeights } : {}) },
          memberIdx: members.map((_, i) => i),
        });
    calibration[strategy] = { temperature: f.temperature, threshold: f.threshold };
  }
  return {
    rows,
    chosen,
    fitted,
    calibration,
    ...(manifestWeights ? { manifestWeights } : {}),
    selectionWeights: selection.weights,
    choice,
  };
}
