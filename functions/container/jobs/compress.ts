import { ChorusError } from '../../../lib/errors';
import type { CompressJob, EnsembleManifest, MemberSpec } from '../../../lib/schema';
import { classificationMetrics, quantizeOnnxModel, selectRows } from '../../../lib/train';
import { labeled, loadDataset } from '../datasets';
import { reportRow } from '../report';
import { type JobContext, type JobOutcome, putModel, standardReport } from './context';

/** int8 weight quantization (and optional magnitude pruning) of one member, re-measured on validation. */
export async function compress(ctx: JobContext, spec: CompressJob): Promise<JobOutcome> {
  const base = ctx.manifest;
  const member = base.members.find((m) => m.id === spec.member);
  if (!member) throw new ChorusError('invalid_argument', `ensemble '${base.name}' has no member '${spec.member}'`);
  await ctx.progress('quantizing', 0.1);
  const original = await ctx.store.get(member.model.key);
  if (!original) throw new ChorusError('not_found', `model ${member.model.key} is missing`);
  const result = quantizeOnnxModel(original, { prune: spec.prune });
  const model = await putModel(ctx.store, result.bytes);
  const compressed: MemberSpec = { ...member, model, variant: 'int8' };
  const candidate: EnsembleManifest = {
    ...base,
    members: base.members.map((m) => (m.id === member.id ? compressed : m)),
    provenance: { ...base.provenance, jobId: ctx.id, createdAt: new Date().toISOString(), tool: 'compress' },
  };
  await ctx.progress('re-measuring on validation', 0.4);
  const val = await loadDataset(ctx.store, spec.validation, base);
  const { rows, labels } = labeled(val);
  const before = selectRows(await ctx.scorer.member(base, member, val), rows);
  const after = selectRows(await ctx.scorer.member(candidate, compressed, val), rows);
  const accBefore = classificationMetrics(before, labels).accuracy;
  const accAfter = classificationMetrics(after, labels).accuracy;
  const name = `ensemble with int8 ${member.id}`;
  const report = await standardReport(ctx, val, [{ name, manifest: candidate }]);
  report.rows.push(
    reportRow(
      `${member.id} (int8${spec.prune > 0 ? `, ${spec.prune} pruned` : ''})`,
      'candidate',
      after,
      labels,
      model.bytes,
      member.costUnits,
    ),
  );
  const loss = accBefore - accAfter;
  const passed = loss <= spec.gate.maxAccuracyLoss;
  const ratio = model.bytes / member.model.bytes;
  return {
    candidate,
    gate: {
      passed,
      detail: `${member.id}: ${member.model.bytes} → ${model.bytes} bytes (${(100 * ratio).toFixed(1)} %), accuracy ${(100 * accBefore).toFixed(2)} → ${(100 * accAfter).toFixed(2)} % (loss ${(100 * loss).toFixed(2)} pt, allowed ${(100 * spec.gate.maxAccuracyLoss).toFixed(2)} pt)`,
    },
    report: {
      rows: report.rows,
      reliability: report.reliability,
      robustness: report.robustness,
      notes: result.tensors.map(
        (t) =>
          `quantized ${t.name} (${t.op}, ${t.dims.join('×')}, per-axis ${t.axis}${t.pruned ? `, ${t.pruned} pruned` : ''})`,
      ),
    },
  };
}
