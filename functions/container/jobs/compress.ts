import { ChorusError } from '../../../lib/errors';
import { JOB_SPEC_SCHEMAS, type MemberSpec } from '../../../lib/schema';
import { classificationMetrics, quantizeOnnxModel, selectRows, storeModel } from '../../../lib/train';
import { candidateOf, type JobContext, type JobOutcome } from '../kit/context';
import { labeled, loadDataset } from '../kit/datasets';
import { chartsOf, reportRow, standardReport } from '../kit/report';

export const schema = JOB_SPEC_SCHEMAS.compress;

/** int8 weight quantization (and optional magnitude pruning) of one member, re-measured on validation. */
export async function run(ctx: JobContext<'compress'>): Promise<JobOutcome> {
  const { spec, manifest: base } = ctx;
  const member = base.members.find((m) => m.id === spec.member);
  if (!member) throw new ChorusError('invalid_argument', `ensemble '${base.name}' has no member '${spec.member}'`);
  await ctx.progress('quantizing', 0.1);
  const original = await ctx.store.get(member.model.key);
  if (!original) throw new ChorusError('not_found', `model ${member.model.key} is missing`);
  const result = quantizeOnnxModel(original, { prune: spec.prune });
  const model = await storeModel(ctx.store, result.bytes);
  const compressed: MemberSpec = { ...member, model, variant: 'int8' };
  const candidate = candidateOf(ctx, { members: base.members.map((m) => (m.id === member.id ? compressed : m)) });
  await ctx.progress('re-measuring on validation', 0.4);
  const val = await loadDataset(ctx.store, spec.validation, base);
  const { rows, labels } = labeled(val);
  const before = selectRows(await ctx.evaluator.member(base, member, val), rows);
  const after = selectRows(await ctx.evaluator.member(candidate, compressed, val), rows);
  const accBefore = classificationMetrics(before, labels).accuracy;
  const accAfter = classificationMetrics(after, labels).accuracy;
  const report = await standardReport(ctx, val, [{ name: `ensemble with int8 ${member.id}`, manifest: candidate }]);
  const pruned = spec.prune > 0 ? `, ${spec.prune} pruned` : '';
  report.rows.push(
    reportRow(`${member.id} (int8${pruned})`, 'candidate', after, labels, model.bytes, member.costUnits),
  );
  const loss = accBefore - accAfter;
  const ratio = model.bytes / member.model.bytes;
  const pct = (v: number) => (100 * v).toFixed(2);
  return {
    candidate,
    gate: {
      passed: loss <= spec.gate.maxAccuracyLoss,
      detail: `${member.id}: ${member.model.bytes} → ${model.bytes} bytes (${(100 * ratio).toFixed(1)} %), accuracy ${pct(accBefore)} → ${pct(accAfter)} % (loss ${pct(loss)} pt, allowed ${pct(spec.gate.maxAccuracyLoss)} pt)`,
    },
    report: {
      ...chartsOf(report),
      notes: result.tensors.map(
        (t) =>
          `quantized ${t.name} (${t.op}, ${t.dims.join('×')}, per-axis ${t.axis}${t.pruned ? `, ${t.pruned} pruned` : ''})`,
      ),
    },
  };
}
