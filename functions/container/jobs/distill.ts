import { ChorusError } from '../../../lib/errors';
import { applyTemperature, type ProbMatrix } from '../../../lib/fusion';
import type { DistillJob, EnsembleManifest, HashedNgramFeaturizer, MemberSpec } from '../../../lib/schema';
import {
  calibrateTemperature,
  exportOnnx,
  type FastTextModel,
  featurizeForFamily,
  readFastTextOnnx,
  trainFastText,
} from '../../../lib/train';
import { type Dataset, labeled, loadDataset } from '../datasets';
import { fuseWith } from '../scoring';
import { type JobContext, type JobOutcome, memberTexts, putModel, standardReport } from './context';

function studentFeaturizer(base: EnsembleManifest, init: MemberSpec | undefined): HashedNgramFeaturizer {
  if (init) {
    if (init.featurizer.kind !== 'hashed-ngrams' || init.featurizer.output !== 'ids' || init.family !== 'fasttext') {
      throw new ChorusError('invalid_argument', `initFrom '${init.id}' is not a fastText member`);
    }
    return init.featurizer;
  }
  const field = Object.entries(base.input.fields).find(([, f]) => f.type === 'text');
  if (!field)
    throw new ChorusError('invalid_argument', 'distilling tensor-input ensembles into an MLP is not supported yet');
  const [name, spec] = field;
  return {
    kind: 'hashed-ngrams',
    field: name,
    ...(spec.type === 'text' && spec.format === 'rfc822' ? { view: 'body' as const } : {}),
    unit: 'char',
    ngram: [3, 5],
    buckets: 1 << 16,
    seed: 97,
    maxLength: 2000,
    output: 'ids',
    maxIds: 6000,
  };
}

/**
 * Distils the current ensemble into one fastText-style student: teacher = the fused distribution
 * at temperature T, loss α·CE(labels) + (1−α)·T²·KL(teacher‖student), unlabeled transfer rows
 * learn from the teacher alone. The student is exported fp32 + int8 and published alone.
 */
export async function distill(ctx: JobContext, spec: DistillJob): Promise<JobOutcome> {
  const base = ctx.manifest;
  const C = base.labels.length;
  const init = spec.initFrom ? base.members.find((m) => m.id === spec.initFrom) : undefined;
  if (spec.initFrom && !init) throw new ChorusError('invalid_argument', `no member '${spec.initFrom}' to start from`);
  const featurizer = studentFeaturizer(base, init);
  await ctx.progress('loading data', 0.05);
  const train = await loadDataset(ctx.store, spec.train, base);
  const val = await loadDataset(ctx.store, spec.validation, base);
  const transfer: Dataset | undefined = spec.transfer ? await loadDataset(ctx.store, spec.transfer, base) : undefined;
  await ctx.progress('teacher outputs', 0.15);
  const teacherOf = async (d: Dataset): Promise<ProbMatrix> => fuseWith(base, await ctx.scorer.members(base, d));
  const sets = transfer ? [train, transfer] : [train];
  const inputs = sets.flatMap((d) => d.inputs);
  const labelsAll = sets.flatMap((d, s) => Array.from(d.labels, (y) => (s === 0 ? y : -1)));
  const teacherRows: Float64Array[] = [];
  for (const d of sets) {
    const t = await teacherOf(d);
    for (let i = 0; i < t.n; i++)
      teacherRows.push(applyTemperature(t.data.subarray(i * C, (i + 1) * C), spec.temperature));
  }
  const studentSpec: MemberSpec = {
    id: 'student',
    model: { key: 'pending', sha256: '0'.repeat(64), bytes: 1 },
    family: 'fasttext',
    featurizer,
    inputName: 'ids',
    outputName: 'probabilities',
    output: 'probabilities',
    costUnits: 1,
  };
  const texts = await memberTexts(base, studentSpec, inputs);
  const docs = featurizeForFamily(texts, featurizer);
  if (docs.kind !== 'ids') throw new Error('unreachable');
  await ctx.progress('training the student', 0.3);
  let initModel: FastTextModel | undefined;
  if (init) {
    const bytes = await ctx.store.get(init.model.key);
    if (!bytes) throw new ChorusError('not_found', `model ${init.model.key} is missing`);
    initModel = readFastTextOnnx(bytes);
  }
  const student = trainFastText(
    docs.docs,
    labelsAll.map((y) => Math.max(y, 0)),
    {
      classes: C,
      buckets: featurizer.buckets,
      maxIds: featurizer.maxIds ?? 6000,
      dim: initModel?.dim ?? spec.dim,
      epochs: spec.epochs,
      seed: 97,
      ...(initModel ? { init: initModel } : {}),
      distill: {
        teacher: teacherRows,
        temperature: spec.temperature,
        alpha: spec.alpha,
        labeled: labelsAll.map((y) => y >= 0),
      },
    },
  );
  const va = labeled(val);
  const valDocs = featurizeForFamily(
    await memberTexts(
      base,
      studentSpec,
      va.rows.map((r) => val.inputs[r] ?? {}),
    ),
    featurizer,
  );
  calibrateTemperature(student, valDocs, va.labels);
  await ctx.progress('exporting', 0.6);
  const fp32 = exportOnnx(student, {
    labels: base.labels,
    variant: 'fp32',
    docString: `student of ${base.name} v${base.version}`,
  });
  const int8 = exportOnnx(student, {
    labels: base.labels,
    variant: 'int8',
    docString: `student of ${base.name} v${base.version}`,
  });
  const fp32Ref = await putModel(ctx.store, fp32.bytes);
  const int8Ref = await putModel(ctx.store, int8.bytes);
  const member: MemberSpec = { ...studentSpec, id: 'student', model: int8Ref, variant: 'int8', costUnits: 3 };
  const candidate: EnsembleManifest = {
    ...base,
    members: [member],
    fusion: { strategy: 'soft', temperature: 1, quorum: 1 },
    provenance: {
      ...base.provenance,
      jobId: ctx.id,
      dataHash: train.hash,
      createdAt: new Date().toISOString(),
      tool: 'distill',
    },
  };
  await ctx.progress('evaluating', 0.7);
  const report = await standardReport(ctx, val, [{ name: 'student (int8)', manifest: candidate }], []);
  const memberLosses = report.rows.filter((r) => r.kind === 'member').map((r) => r.logLoss);
  const best = Math.min(...memberLosses);
  const ensembleLoss = report.losses.base as number;
  const studentLoss = report.losses['student (int8)'] as number;
  const gain = best - ensembleLoss;
  const recovered = gain > 0 ? (best - studentLoss) / gain : studentLoss <= ensembleLoss ? 1 : 0;
  const passed = recovered >= spec.gate.minGainRecovered;

  return {
    candidate,
    gate: {
      passed,
      detail: `student recovers ${(100 * recovered).toFixed(1)} % of the ensemble's log-loss gain over the best member (best member ${best.toFixed(4)}, ensemble ${ensembleLoss.toFixed(4)}, student ${studentLoss.toFixed(4)}; required ≥ ${(100 * spec.gate.minGainRecovered).toFixed(0)} %)`,
    },
    report: {
      rows: report.rows,
      reliability: report.reliability,
      robustness: report.robustness,
      notes: [
        `student fp32 ${fp32Ref.key} (${fp32Ref.bytes} bytes), int8 ${int8Ref.key} (${int8Ref.bytes} bytes)`,
        `T=${spec.temperature}, α=${spec.alpha}, ${docs.docs.length} training rows${transfer ? ` (${transfer.inputs.length} unlabeled transfer)` : ''}${init ? `, initialised from ${init.id}` : ''}`,
      ],
      gate: { passed, detail: '' },
    },
  };
}
