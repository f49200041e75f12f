import { abstainsOn } from '../../../lib/ensemble';
import { fitTemperature, type ProbMatrix } from '../../../lib/fusion';
import { type EnsembleManifest, JOB_SPEC_SCHEMAS, type MemberSpec } from '../../../lib/schema';
import {
  featurizeForFamily,
  groupedFolds,
  isTrainable,
  rowGroupKeys,
  type Stacked,
  type StackingMember,
  type StackingRows,
  selectRows,
  stackMembers,
} from '../../../lib/train';
import { candidateOf, type JobContext, type JobOutcome } from '../kit/context';
import { type Dataset, featurizerTexts, labeled, loadDataset } from '../kit/datasets';
import { logLossOutcome, standardReport } from '../kit/report';

export const schema = JOB_SPEC_SCHEMAS.stack;

/**
 * The job's stacking step on loaded train rows: every trainable member of `base` retrained on k
 * folds of the labelled train rows grouped by near-duplicate key (where it does not abstain;
 * temperature on the fold it predicts), frozen (uploaded) members scored once, then lib/train's
 * meta-learner over log-odds and abstentions — the recipe the zoo build runs too. Validation is
 * not read: the job reports and gates on it.
 */
export async function stackingStep(
  base: EnsembleManifest,
  train: Dataset,
  k: number,
  frozen: (member: MemberSpec) => Promise<ProbMatrix>,
  onMember: (member: StackingMember, index: number) => Promise<void> | void = () => undefined,
): Promise<Stacked & { rows: StackingRows; notes: string[] }> {
  const tr = labeled(train);
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
      const texts = await featurizerTexts(
        base,
        m.featurizer,
        tr.rows.map((r) => train.inputs[r] ?? {}),
      );
      members.push({
        kind: 'retrain',
        id: m.id,
        family: m.family,
        featurizer: m.featurizer,
        options: m.training,
        inputs: featurizeForFamily(texts, m.featurizer),
        abstained: Uint8Array.from(texts, (t) => (abstainsOn(m, t) ? 1 : 0)),
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
    spec.folds,
    (m) => ctx.evaluator.member(base, m, train),
    (m, i) => ctx.progress(`out-of-fold predictions: ${m.id}`, 0.1 + (0.5 * i) / base.members.length),
  );
  await ctx.progress('fitting the meta-learner', 0.65);
  // The temperature comes from the meta-learner's own grouped K-fold predictions on train, so the
  // validation figures below (report and gate) are held out from every fitted number.
  const temperature = Number(fitTemperature(stacked.cv, stacked.rows.labels).toPrecision(6));
  const notes = [
    ...stacked.notes,
    `meta-learner L2 by grouped ${spec.folds}-fold log-loss on train: ${stacked.l2Losses.map((l) => `${l.l2} → ${l.logLoss.toFixed(4)}`).join(', ')}`,
    `temperature ${temperature} fitted on the meta-learner's out-of-fold predictions over train; validation is held out`,
  ];
  await ctx.progress('evaluating on validation', 0.75);
  const fusion = {
    ...base.fusion,
    strategy: 'stacking' as const,
    metaLearner: stacked.metaLearner,
    temperature,
    calibration: { ...base.fusion.calibration, stacking: { temperature } },
  };
  const candidate = candidateOf(ctx, { fusion }, train.hash);
  const name = `stacking (${spec.folds}-fold OOF), T=${temperature}`;
  const report = await standardReport(ctx, val, [{ name, manifest: candidate }]);
  return logLossOutcome(candidate, report, name, notes, { minGain: spec.gate.minLogLossGain });
}
