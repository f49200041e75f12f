import { fitTemperature, type ProbMatrix } from '../../../lib/fusion';
import { type EnsembleManifest, JOB_SPEC_SCHEMAS, type MemberSpec } from '../../../lib/schema';
import {
  fuseWith,
  groupedFolds,
  isTrainable,
  metaLearnerCvLoss,
  rowGroupKeys,
  type Stacked,
  type StackingMember,
  type StackingRows,
  selectRows,
  stackMembers,
} from '../../../lib/train';
import { candidateOf, type JobContext, type JobOutcome } from '../kit/context';
import { type Dataset, featurizeRows, labeled, loadDataset } from '../kit/datasets';
import { logLossOutcome, standardReport } from '../kit/report';

export const schema = JOB_SPEC_SCHEMAS.stack;

/**
 * The job's stacking step on loaded datasets: every trainable member of `base` retrained on k
 * folds of the labelled train rows grouped by near-duplicate key (temperatures on validation),
 * frozen (uploaded) members scored once, then lib/train's meta-learner — the recipe the zoo build
 * runs too.
 */
export async function stackingStep(
  base: EnsembleManifest,
  train: Dataset,
  val: Dataset,
  k: number,
  frozen: (member: MemberSpec) => Promise<ProbMatrix>,
  onMember: (member: StackingMember, index: number) => Promise<void> | void = () => undefined,
): Promise<Stacked & { rows: StackingRows; notes: string[] }> {
  const tr = labeled(train);
  const va = labeled(val);
  const keys = await rowGroupKeys(
    base.input,
    tr.rows.map((r) => train.inputs[r] ?? {}),
    tr.rows.map((r) => train.ids[r]),
  );
  const rows: StackingRows = { labels: tr.labels, folds: groupedFolds(keys, k), k, classes: base.labels.length };
  const notes: string[] = [];
  const members: StackingMember[] = [];
  for (const m of base.members) {
    if (isTrainable(m)) {
      members.push({
        kind: 'retrain',
        id: m.id,
        family: m.family,
        featurizer: m.featurizer,
        options: m.training,
        inputs: await featurizeRows(base, m.featurizer, train, tr.rows),
        calibration: { inputs: await featurizeRows(base, m.featurizer, val, va.rows), labels: va.labels },
      });
      notes.push(`${m.id}: retrained on each of ${k} folds grouped by near-duplicate key (${m.family})`);
    } else {
      members.push({ kind: 'frozen', id: m.id, probs: selectRows(await frozen(m), tr.rows) });
      notes.push(`${m.id}: frozen (not a trainable family); scored once, meta-learner cross-validated`);
    }
  }
  const stacked = await stackMembers(members, rows, onMember);
  return { ...stacked, rows, notes };
}

/**
 * Stacking, the textbook recipe: K-fold out-of-fold member predictions on train, then a
 * multinomial logistic regression over the concatenated probabilities.
 */
export async function run(ctx: JobContext<'stack'>): Promise<JobOutcome> {
  const { spec, manifest: base } = ctx;
  await ctx.progress('loading data', 0.05);
  const train = await loadDataset(ctx.store, spec.train, base);
  const val = await loadDataset(ctx.store, spec.validation, base);
  const stacked = await stackingStep(
    base,
    train,
    val,
    spec.folds,
    (m) => ctx.evaluator.member(base, m, train),
    (m, i) => ctx.progress(`out-of-fold predictions: ${m.id}`, 0.1 + (0.5 * i) / base.members.length),
  );
  await ctx.progress('fitting the meta-learner', 0.65);
  const cvLoss = metaLearnerCvLoss(stacked.oof, stacked.rows);
  const notes = [
    ...stacked.notes,
    `meta-learner ${spec.folds}-fold cross-validated log-loss on train: ${cvLoss.toFixed(4)}`,
  ];
  await ctx.progress('evaluating on validation', 0.75);
  const va = labeled(val);
  const fusion = { ...base.fusion, strategy: 'stacking' as const, metaLearner: stacked.metaLearner, temperature: 1 };
  const valMembers = await ctx.evaluator.members(base, val);
  const provisional = fuseWith({ ...base, fusion }, valMembers);
  const temperature = Number(fitTemperature(selectRows(provisional, va.rows), va.labels).toPrecision(6));
  const candidate = candidateOf(ctx, { fusion: { ...fusion, temperature } }, train.hash);
  const name = `stacking (${spec.folds}-fold OOF), T=${temperature}`;
  const report = await standardReport(ctx, val, [{ name, manifest: candidate }]);
  return logLossOutcome(candidate, report, name, notes, { minGain: spec.gate.minLogLossGain });
}
