import { evidenceOptions } from '../../../lib/ensemble';
import { accuracyWeights, ensembleSelection, fitTemperature } from '../../../lib/fusion';
import { JOB_SPEC_SCHEMAS } from '../../../lib/schema';
import { classificationMetrics, selectRows } from '../../../lib/train';
import { candidateOf, type JobContext, type JobOutcome } from '../kit/context';
import { labeled, loadDataset } from '../kit/datasets';
import { logLossOutcome, logLossRule, standardReport } from '../kit/report';

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
      : ensembleSelection(members, labels, {
          rounds: spec.rounds,
          fusion: evidenceOptions(base),
        }).weights;
  // Soft's temperature is the one fitted here (a base `calibration.soft` entry would override
  // `fusion.temperature`); hard's and geometric's entries, and their decisions, were fitted for the
  // old weights and are dropped; stacking reads no weights and keeps its own.
  const stacking = base.fusion.calibration?.stacking;
  const withTemperature = (temperature: number) =>
    candidateOf(
      ctx,
      {
        fusion: {
          ...base.fusion,
          strategy: 'soft',
          weights: Object.fromEntries(base.members.map((m, i) => [m.id, Number((weights[i] ?? 0).toPrecision(6))])),
          weightsFrom: spec.method,
          temperature,
          calibration: { soft: { temperature }, ...(stacking ? { stacking } : {}) },
        },
      },
      val.hash,
    );
  // The temperature is fitted on the serving engine's own answers (abstentions, prior, quorum).
  const temperature = spec.fitTemperature
    ? Number(
        fitTemperature(selectRows(await ctx.evaluator.ensemble(withTemperature(1), val), rows), labels).toPrecision(6),
      )
    : 1;
  const candidate = withTemperature(temperature);
  await ctx.progress('evaluating', 0.8);
  const name = `soft, ${spec.method} weights, T=${temperature}`;
  const report = await standardReport(ctx, val, [{ name, manifest: candidate }]);
  const notes = [
    `weights: ${base.members.map((m, k) => `${m.id} ${(weights[k] ?? 0).toFixed(3)}`).join(', ')}`,
    `weights and temperature fitted on the ${rows.length} labeled validation rows these figures are measured on (in-sample: the spec gives no second split)`,
    ...(base.fusion.calibration?.soft?.decision || base.fusion.calibration?.geometric?.decision
      ? ['operating points fitted for the old weights are dropped: soft answers by argmax until one is fitted again']
      : []),
  ];
  return logLossOutcome(candidate, report, name, notes, logLossRule(spec.gate));
}
