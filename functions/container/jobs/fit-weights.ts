import { accuracyWeights, ensembleSelection, fitTemperature, fuseMatrices, type ProbMatrix } from '../../../lib/fusion';
import type { EnsembleManifest, FitWeightsJob } from '../../../lib/schema';
import { classificationMetrics, selectRows } from '../../../lib/train';
import { labeled, loadDataset } from '../datasets';
import { type JobContext, type JobOutcome, logLossOutcome, standardReport } from './context';

/** Accuracy-proportional weights or greedy ensemble selection on validation, optional temperature. */
export async function fitWeights(ctx: JobContext, spec: FitWeightsJob): Promise<JobOutcome> {
  const base = ctx.manifest;
  await ctx.progress('loading validation data', 0.05);
  const val = await loadDataset(ctx.store, spec.validation, base);
  const { rows, labels } = labeled(val);
  await ctx.progress('scoring members', 0.2);
  const members = (await ctx.scorer.members(base, val)).map((m) => selectRows(m, rows));
  await ctx.progress('fitting weights', 0.6);
  const weights =
    spec.method === 'accuracy'
      ? accuracyWeights(members.map((m) => classificationMetrics(m, labels).accuracy))
      : ensembleSelection(members, labels, { rounds: spec.rounds }).weights;
  const fused: ProbMatrix = fuseMatrices('soft', members, { weights });
  const temperature = spec.fitTemperature ? Number(fitTemperature(fused, labels).toPrecision(6)) : 1;
  const candidate: EnsembleManifest = {
    ...base,
    fusion: {
      ...base.fusion,
      strategy: 'soft',
      weights: Object.fromEntries(base.members.map((m, i) => [m.id, Number((weights[i] ?? 0).toPrecision(6))])),
      weightsFrom: spec.method,
      temperature,
    },
    provenance: {
      ...base.provenance,
      jobId: ctx.id,
      dataHash: val.hash,
      createdAt: new Date().toISOString(),
      tool: 'fit-weights',
    },
  };
  await ctx.progress('evaluating', 0.8);
  const name = `soft, ${spec.method} weights, T=${temperature}`;
  const report = await standardReport(ctx, val, [{ name, manifest: candidate }]);
  const notes = [
    `weights: ${base.members.map((m, k) => `${m.id} ${(weights[k] ?? 0).toFixed(3)}`).join(', ')}`,
    `fitted on ${rows.length} labeled validation rows`,
  ];
  return logLossOutcome(candidate, report, name, notes, { maxIncrease: spec.gate.maxLogLossIncrease });
}
