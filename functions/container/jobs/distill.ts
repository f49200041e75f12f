import { ChorusError } from '../../../lib/errors';
import { applyTemperature, type ProbMatrix } from '../../../lib/fusion';
import type {
  DistillJob,
  EnsembleManifest,
  HashedNgramFeaturizer,
  MemberSpec,
  PredictInput,
  TensorValue,
} from '../../../lib/schema';
import {
  calibrateTemperature,
  exportOnnx,
  type FastTextModel,
  featurizeForFamily,
  readFastTextOnnx,
  type TrainedModel,
  trainFastText,
  trainMlp,
} from '../../../lib/train';
import { type Dataset, labeled, loadDataset } from '../datasets';
import { fuseWith } from '../scoring';
import { type JobContext, type JobOutcome, memberTexts, putModel, standardReport } from './context';

function studentFeaturizer(
  base: EnsembleManifest,
  init: MemberSpec | undefined,
  chosen?: HashedNgramFeaturizer,
): HashedNgramFeaturizer {
  if (chosen) {
    if (!(chosen.field in base.input.fields))
      throw new ChorusError('invalid_argument', `featurizer field '${chosen.field}' is not an input field`);
    if (chosen.output !== 'ids')
      throw new ChorusError('invalid_argument', "a fastText student's featurizer needs output 'ids'");
    return chosen;
  }
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
  // One student has to stand in for members that read different views: give it all of them.
  return {
    kind: 'hashed-ngrams',
    field: name,
    ...(spec.type === 'text' && spec.format === 'rfc822' ? { view: 'all' as const } : {}),
    unit: 'word',
    ngram: [1, 2],
    buckets: 1 << 16,
    seed: 97,
    maxLength: 3000,
    output: 'ids',
    maxIds: 6000,
  };
}

type Distillation = { teacher: Float64Array[]; temperature: number; alpha: number; labeled: boolean[] };
type Labeled = { rows: number[]; labels: number[] };

async function trainTextStudent(
  ctx: JobContext,
  spec: DistillJob,
  base: EnsembleManifest,
  init: MemberSpec | undefined,
  inputs: PredictInput[],
  labelsAll: number[],
  kd: Distillation,
  val: Dataset,
  va: Labeled,
): Promise<{ student: TrainedModel; studentSpec: MemberSpec }> {
  const featurizer = studentFeaturizer(base, init, spec.featurizer);
  const studentSpec: MemberSpec = {
    id: 'student',
    model: { key: 'pending', sha256: '0'.repeat(64), bytes: 1 },
    family: 'fasttext',
    featurizer,
    inputName: 'ids',
    outputName: 'probabilities',
    output: 'probabilities',
    costUnits: 3,
  };
  const docs = featurizeForFamily(await memberTexts(base, studentSpec, inputs), featurizer);
  if (docs.kind !== 'ids') throw new Error('unreachable');
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
      classes: base.labels.length,
      buckets: featurizer.buckets,
      maxIds: featurizer.maxIds ?? 6000,
      dim: initModel?.dim ?? spec.dim,
      epochs: spec.epochs,
      seed: 97,
      ...(initModel ? { init: initModel } : {}),
      distill: kd,
    },
  );
  const valTexts = await memberTexts(
    base,
    studentSpec,
    va.rows.map((r) => val.inputs[r] ?? {}),
  );
  calibrateTemperature(student, featurizeForFamily(valTexts, featurizer), va.labels);
  return { student, studentSpec };
}

/** Tensor-input ensembles: a one-hidden-layer MLP student over the float32 tensor field. */
function trainMlpStudent(
  spec: DistillJob,
  field: string,
  inputs: PredictInput[],
  labelsAll: number[],
  kd: Distillation,
  val: Dataset,
  va: Labeled,
): { student: TrainedModel; studentSpec: MemberSpec } {
  const dense = (input: PredictInput | undefined) =>
    Float32Array.from((input?.[field] as TensorValue | undefined)?.data ?? []);
  const student = trainMlp(
    inputs.map(dense),
    labelsAll.map((y) => Math.max(y, 0)),
    { classes: kd.teacher[0]?.length ?? 2, hidden: spec.dim * 2, epochs: spec.epochs * 10, seed: 97, distill: kd },
  );
  calibrateTemperature(student, { kind: 'dense', rows: va.rows.map((r) => dense(val.inputs[r])) }, va.labels);
  const studentSpec: MemberSpec = {
    id: 'student',
    model: { key: 'pending', sha256: '0'.repeat(64), bytes: 1 },
    family: 'mlp',
    featurizer: { kind: 'tensor', field },
    inputName: 'x',
    outputName: 'probabilities',
    output: 'probabilities',
    costUnits: 1,
  };
  return { student, studentSpec };
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
  const tensorField = Object.values(base.input.fields).some((f) => f.type === 'text')
    ? undefined
    : Object.entries(base.input.fields).find(([, f]) => f.type === 'tensor' && f.dtype === 'float32')?.[0];
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
  await ctx.progress('training the student', 0.3);
  const kd = {
    teacher: teacherRows,
    temperature: spec.temperature,
    alpha: spec.alpha,
    labeled: labelsAll.map((y) => y >= 0),
  };
  const va = labeled(val);
  const { student, studentSpec } = tensorField
    ? trainMlpStudent(spec, tensorField, inputs, labelsAll, kd, val, va)
    : await trainTextStudent(ctx, spec, base, init, inputs, labelsAll, kd, val, va);
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
  const member: MemberSpec = { ...studentSpec, model: int8Ref, variant: 'int8' };
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
  const report = await standardReport(ctx, val, [{ name: 'student (int8)', manifest: candidate }]);
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
        `T=${spec.temperature}, α=${spec.alpha}, ${student.family} student, ${inputs.length} training rows${transfer ? ` (${transfer.inputs.length} unlabeled transfer)` : ''}${init ? `, initialised from ${init.id}` : ''}`,
      ],
    },
  };
}
