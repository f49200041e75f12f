import { accuracyWeights, ensembleSelection, fitTemperature, fuseMatrices } from '../../../lib/fusion';
import { JOB_SPEC_SCHEMAS } from '../../../lib/schema';
import { classificationMetrics, selectRows } from '../../../lib/train';
import { candidateOf, type JobContext, type JobOutcome } from '../kit/context';
import { labeled, loadDataset } from '../kit/datasets';
import { logLossOutcome, standardReport } from '../kit/report';

export const schema = JOB_SPEC_SCHEMAS['fit-weights'];

/** Accuracy-proportional weights or greedy ensemble selection on validation, optional temperature. */
export async function run(ctx: JobContext<'fit-weights'>): Promise<JobOutcome> {
  const { spec, manifest: base } = ctx;
  await ctx.progress('loading validation data', 0.05);
  const val = await loadDataset(ctx.store, spec.validation, base);
  const { rows, labels } = labeled(val);
  await ctx.progress('scoring members', 0.2);
  const members = (await ctx.evaluator.members(base, val)).map((m) => selectRows(m, rows));
  await ctx.progress('fitting weights', 0.6);
  const weights =
    spec.method === 'accuracy'
      ? accuracyWeights(members.map((m) => classificationMetrics(m, labels).accuracy))
      : ensembleSelection(members, labels, { rounds: spec.rounds }).weights;
  const fused = fuseMatrices('soft', members, { weights });
  const temperature = spec.fitTemperature ? Number(fitTemperature(fused, labels).toPrecision(6)) : 1;
  const candidate = candidateOf(
    ctx,
    {
      fusion: {
        ...base.fusion,
        strategy: 'soft',
        weights: Object.fromEntries(base.members.map((m, i) => [m.id, Number((weights[i] ?? 0).toPrecision(6))])),
        weightsFrom: spec.method,
        temperature,
      },
    },
    val.hash,
  );
  await ctx.progress('evaluating', 0.8);
  const name = `soft, ${spec.method} weights, T=${temperature}`;
  const report = await standardReport(ctx, val, [{ name, manifest: candidate }]);
  const notes = [
    `weights: ${base.members.map((m, k) => `${m.id} ${(weights[k] ?? 0).toFixed(3)}`).join(', ')}`,
    `fitted on ${rows.length} labeled validation rows`,
  ];
  return logLossOutcome(candidate, report, name, notes, { maxIncrease: spec.gate.maxLogLossIncrease });
}
