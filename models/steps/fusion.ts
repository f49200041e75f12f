import {
  accuracyWeights,
  ensembleSelection,
  type FuseOptions,
  fitTemperature,
  fuseMatrices,
  type ProbMatrix,
} from '../../lib/fusion';
import type { FusionSpec, FusionStrategy, MetaLearner, MetricsRow } from '../../lib/schema';
import { classificationMetrics, selectRows } from '../../lib/train';
import { type BuiltMember, SERVED_VARIANT } from './members';
import { type Split, valOf } from './split';

export interface Candidate {
  name: string;
  strategy: FusionStrategy;
  weightsFrom: FusionSpec['weightsFrom'];
  weights?: Float64Array;
  options: FuseOptions;
  memberIdx: number[];
}

export interface FusionResult {
  rows: MetricsRow[];
  /** the served default: lowest validation log-loss, temperature-scaled */
  chosen: Candidate;
  temperature: number;
  selectionWeights: Float64Array;
  metricsOf(probs: ProbMatrix): MetricsRow['slices'];
}

/** Test and hard-ham metrics of a matrix over the scored rows. */
export function sliceMetrics(split: Split): (probs: ProbMatrix) => MetricsRow['slices'] {
  const slices = { test: split.testPos, 'test/hard-ham': split.testHardHam } as const;
  return (probs) =>
    Object.fromEntries(
      Object.entries(slices).map(([name, rows]) => [
        name,
        classificationMetrics(
          selectRows(probs, rows),
          rows.map((r) => split.yScored[r] as number),
          { negativeClass: 0 },
        ),
      ]),
    );
}

function candidates(members: BuiltMember[], split: Split, metaLearner: MetaLearner) {
  const served = members.map((m) => m.variants[SERVED_VARIANT].probs);
  const accW = accuracyWeights(members.map((m) => m.validationAccuracy));
  const selection = ensembleSelection(
    served.map((m) => valOf(split, m)),
    split.yVal,
    { rounds: 25 },
  );
  const all = members.map((_, i) => i);
  const list: Candidate[] = [
    { name: 'hard vote', strategy: 'hard', weightsFrom: 'equal', options: {}, memberIdx: all },
    { name: 'soft vote', strategy: 'soft', weightsFrom: 'equal', options: {}, memberIdx: all },
    {
      name: 'soft, accuracy weights',
      strategy: 'soft',
      weightsFrom: 'accuracy',
      weights: accW,
      options: { weights: accW },
      memberIdx: all,
    },
    {
      name: 'soft, ensemble selection',
      strategy: 'soft',
      weightsFrom: 'ensemble-selection',
      weights: selection.weights,
      options: { weights: selection.weights },
      memberIdx: all,
    },
    { name: 'geometric', strategy: 'geometric', weightsFrom: 'equal', options: {}, memberIdx: all },
    {
      name: 'stacking (5-fold OOF)',
      strategy: 'stacking',
      weightsFrom: 'equal',
      options: { metaLearner },
      memberIdx: all,
    },
  ];
  const bodyOnly: Candidate = {
    name: 'soft vote, body-only members',
    strategy: 'soft',
    weightsFrom: 'equal',
    options: {},
    memberIdx: members.flatMap((m, i) => (m.def.bodyOnly ? [i] : [])),
  };
  return { served, list, bodyOnly, selection };
}

/**
 * Every fusion strategy over the served members, with metrics rows for members and strategies,
 * and the default chosen on validation log-loss.
 */
export function fitFusion(members: BuiltMember[], split: Split, metaLearner: MetaLearner): FusionResult {
  const metricsOf = sliceMetrics(split);
  const { served, list, bodyOnly, selection } = candidates(members, split, metaLearner);
  const rows: MetricsRow[] = members.flatMap((m) =>
    (['fp32', 'int8'] as const).map((variant) => ({
      name: m.def.id,
      kind: 'member' as const,
      variant,
      bytes: m.variants[variant].bytes.length,
      bodyOnly: m.def.bodyOnly,
      slices: metricsOf(m.variants[variant].probs),
    })),
  );
  const bytesOf = (idx: number[]) =>
    idx.reduce((s, i) => s + (members[i] as BuiltMember).variants[SERVED_VARIANT].bytes.length, 0);
  let best: { candidate: Candidate; valLoss: number; temperature: number } | undefined;
  for (const cand of [...list, bodyOnly]) {
    const fused = fuseMatrices(
      cand.strategy,
      cand.memberIdx.map((i) => served[i] as ProbMatrix),
      cand.options,
    );
    rows.push({
      name: cand.name,
      kind: cand.strategy === 'stacking' ? 'stacking' : 'fusion',
      variant: SERVED_VARIANT,
      bytes: bytesOf(cand.memberIdx),
      bodyOnly: cand === bodyOnly,
      slices: metricsOf(fused),
    });
    if (cand === bodyOnly || cand.strategy === 'hard') continue;
    const valFused = valOf(split, fused);
    const valLoss = classificationMetrics(valFused, split.yVal).logLoss;
    if (!best || valLoss < best.valLoss)
      best = { candidate: cand, valLoss, temperature: fitTemperature(valFused, split.yVal) };
  }
  if (!best) throw new Error('no fusion candidate');
  const chosen = best.candidate;
  const temperature = Number(best.temperature.toPrecision(6));
  rows.push({
    name: `${chosen.name} + temperature (default)`,
    kind: chosen.strategy === 'stacking' ? 'stacking' : 'fusion',
    variant: SERVED_VARIANT,
    bytes: bytesOf(members.map((_, i) => i)),
    slices: metricsOf(fuseMatrices(chosen.strategy, served, { ...chosen.options, temperature })),
  });
  return { rows, chosen, temperature, selectionWeights: selection.weights, metricsOf };
}
