import { ChorusError } from '../../../lib/errors';
import { applyTemperature, rowsOf } from '../../../lib/fusion';
import {
  DEFAULT_STUDENT_BUCKETS,
  type DistillJob,
  type EnsembleManifest,
  type HashedNgramFeaturizer,
  JOB_SPEC_SCHEMAS,
  type MemberSpec,
  type PredictInput,
  type TensorValue,
} from '../../../lib/schema';
import {
  calibrateTemperature,
  exportVariants,
  type FastTextModel,
  featurizeForFamily,
  readFastTextOnnx,
  type TrainedModel,
  trainFastText,
  trainMlp,
} from '../../../lib/train';
import { candidateOf, type JobContext, type JobOutcome } from '../kit/context';
import { type Dataset, featurizeRows, featurizerTexts, labeled, loadDataset } from '../kit/datasets';
import { chartsOf, standardReport } from '../kit/report';

export const schema = JOB_SPEC_SCHEMAS.distill;

function studentFeaturizer(
  base: EnsembleManifest,
  init: MemberSpec | undefined,
  chosen?: HashedNgramFeaturizer,
): HashedNgramFeaturizer {
  if (chosen) {
    // own names only (a field called toString is none), and a text one: the student hashes words
    if (!Object.hasOwn(base.input.fields, chosen.field) || base.input.fields[chosen.field]?.type !== 'text')
      throw new ChorusError('invalid_argument', `featurizer field '${chosen.field}' is not a text input field`);
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
    buckets: DEFAULT_STUDENT_BUCKETS,
    seed: 97,
    maxLength: 3000,
    output: 'ids',
    maxIds: 6000,
    ideographs: 'split',
  };
}

/** What either student learns from: every training row (labelled and transfer), the teacher, validation. */
interface StudentData {
  inputs: PredictInput[];
  /** class per row; -1 for unlabeled transfer rows */
  labels: number[];
  kd: { teacher: Float64Array[]; temperature: number; alpha: number; labeled: boolean[] };
  val: Dataset;
  va: { rows: number[]; labels: number[] };
}

/** The student's member entry, all but the model it will be stored as. */
type StudentSpec = Omit<MemberSpec, 'model' | 'variant'>;

const student = (s: Pick<MemberSpec, 'family' | 'featurizer' | 'inputName' | 'costUnits'>): StudentSpec => ({
  id: 'student',
  ...s,
  outputName: 'probabilities',
  output: 'probabilities',
});

async function trainTextStudent(
  ctx: JobContext<'distill'>,
  init: MemberSpec | undefined,
  featurizer: HashedNgramFeaturizer,
  d: StudentData,
): Promise<{ model: TrainedModel; spec: StudentSpec }> {
  const { spec, manifest: base } = ctx;
  const docs = featurizeForFamily(await featurizerTexts(base, featurizer, d.inputs), featurizer);
  if (docs.kind !== 'ids') throw new Error('unreachable');
  let initModel: FastTextModel | undefined;
  if (init) {
    const bytes = await ctx.store.get(init.model.key);
    if (!bytes) throw new ChorusError('not_found', `model ${init.model.key} is missing`);
    initModel = readFastTextOnnx(bytes);
  }
  const model = trainFastText(
    docs.docs,
    d.labels.map((y) => Math.max(y, 0)),
    {
      classes: base.labels.length,
      buckets: featurizer.buckets,
      maxIds: featurizer.maxIds ?? 6000,
      dim: initModel?.dim ?? spec.dim,
      epochs: spec.epochs,
      seed: 97,
      ...(initModel ? { init: initModel } : {}),
      distill: d.kd,
    },
  );
  calibrateTemperature(model, await featurizeRows(base, featurizer, d.val, d.va.rows), d.va.labels);
  return { model, spec: student({ family: 'fasttext', featurizer, inputName: 'ids', costUnits: 3 }) };
}

/** Tensor-input ensembles: a one-hidden-layer MLP student over the float32 tensor field. */
function trainMlpStudent(spec: DistillJob, field: string, d: StudentData): { model: TrainedModel; spec: StudentSpec } {
  const dense = (input: PredictInput | undefined) =>
    Float32Array.from((input?.[field] as TensorValue | undefined)?.data ?? []);
  const model = trainMlp(
    d.inputs.map(dense),
    d.labels.map((y) => Math.max(y, 0)),
    { classes: d.kd.teacher[0]?.length ?? 2, hidden: spec.dim * 2, epochs: spec.epochs * 10, seed: 97, distill: d.kd },
  );
  calibrateTemperature(model, { kind: 'dense', rows: d.va.rows.map((r) => dense(d.val.inputs[r])) }, d.va.labels);
  return {
    model,
    spec: student({ family: 'mlp', featurizer: { kind: 'tensor', field }, inputName: 'x', costUnits: 1 }),
  };
}

/**
 * Distils the current ensemble into one fastText-style student: teacher = the fused distribution
 * at temperature T, loss α·CE(labels) + (1−α)·T²·KL(teacher‖student), unlabeled transfer rows
 * learn from the teacher alone. The student is exported fp32 + int8 and published alone.
 */
export async function run(ctx: JobContext<'distill'>): Promise<JobOutcome> {
  const { spec, manifest: base } = ctx;
  const init = spec.initFrom ? base.members.find((m) => m.id === spec.initFrom) : undefined;
  if (spec.initFrom && !init) throw new ChorusError('invalid_argument', `no member '${spec.initFrom}' to start from`);
  const tensorField = Object.values(base.input.fields).some((f) => f.type === 'text')
    ? undefined
    : Object.entries(base.input.fields).find(([, f]) => f.type === 'tensor' && f.dtype === 'float32')?.[0];
  // a bad featurizer is refused before the teacher is run over the data
  const featurizer = tensorField ? undefined : studentFeaturizer(base, init, spec.featurizer);
  await ctx.progress('loading data', 0.05);
  const train = await loadDataset(ctx.store, spec.train, base);
  const val = await loadDataset(ctx.store, spec.validation, base);
  const transfer: Dataset | undefined = spec.transfer ? await loadDataset(ctx.store, spec.transfer, base) : undefined;
  await ctx.progress('teacher outputs', 0.15);
  const sets = transfer ? [train, transfer] : [train];
  const inputs = sets.flatMap((d) => d.inputs);
  const labelsAll = sets.flatMap((d, s) => Array.from(d.labels, (y) => (s === 0 ? y : -1)));
  const teacherRows: Float64Array[] = [];
  for (const d of sets)
    for (const row of rowsOf(await ctx.evaluator.ensemble(base, d)))
      teacherRows.push(applyTemperature(row, spec.temperature));
  await ctx.progress('training the student', 0.3);
  const data: StudentData = {
    inputs,
    labels: labelsAll,
    kd: {
      teacher: teacherRows,
      temperature: spec.temperature,
      alpha: spec.alpha,
      labeled: labelsAll.map((y) => y >= 0),
    },
    val,
    va: labeled(val),
  };
  const trained = featurizer
    ? await trainTextStudent(ctx, init, featurizer, data)
    : trainMlpStudent(spec, tensorField as string, data);
  await ctx.progress('exporting', 0.6);
  const variants = await exportVariants(
    trained.model,
    { labels: base.labels, docString: `student of ${base.name} v${base.version}` },
    ctx.store,
  );
  const member: MemberSpec = { ...trained.spec, model: variants.int8.model, variant: 'int8' };
  const candidate = candidateOf(
    ctx,
    { members: [member], fusion: { strategy: 'soft', temperature: 1, quorum: 1 } },
    train.hash,
  );
  await ctx.progress('evaluating', 0.7);
  const report = await standardReport(ctx, val, [{ name: 'student (int8)', manifest: candidate }]);
  const memberLosses = report.rows.filter((r) => r.kind === 'member').map((r) => r.logLoss);
  const best = Math.min(...memberLosses);
  const ensembleLoss = report.losses.base as number;
  const studentLoss = report.losses['student (int8)'] as number;
  const gain = best - ensembleLoss;
  // Without a gain over the best member there is nothing to recover: the figure is undefined and the gate fails.
  const recovered = gain > 0 ? (best - studentLoss) / gain : undefined;
  const passed = recovered !== undefined && recovered >= spec.gate.minGainRecovered;
  const losses = `best member ${best.toFixed(4)}, ensemble ${ensembleLoss.toFixed(4)}, student ${studentLoss.toFixed(4)}`;

  return {
    candidate,
    gate: {
      passed,
      detail:
        recovered === undefined
          ? `gain recovered is undefined: the ensemble does not beat its best member on validation log-loss (${losses}), so there is no gain to distil; gate failed`
          : `student recovers ${(100 * recovered).toFixed(1)} % of the ensemble's log-loss gain over the best member (${losses}; required ≥ ${(100 * spec.gate.minGainRecovered).toFixed(0)} %)`,
    },
    report: {
      ...chartsOf(report),
      notes: [
        `student fp32 ${variants.fp32.model.key} (${variants.fp32.bytes.length} bytes), int8 ${variants.int8.model.key} (${variants.int8.bytes.length} bytes)`,
        `T=${spec.temperature}, α=${spec.alpha}, ${trained.model.family} student, ${inputs.length} training rows${transfer ? ` (${transfer.inputs.length} unlabeled transfer)` : ''}${init ? `, initialised from ${init.id}` : ''}`,
      ],
    },
  };
}
