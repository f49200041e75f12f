import { abstainsOn } from '../../../lib/ensemble';
import { fitTemperature, type ProbMatrix } from '../../../lib/fusion';
import { type EnsembleManifest, JOB_SPEC_SCHEMAS, type MemberSpec } from '../../../lib/schema';
import {
  exportVariants,
  featurizeForFamily,
  groupedFolds,
  isTrainable,
  refitMember,
  rowGroupKeys,
  type Stacked,
  type StackingMember,
  type StackingRows,
  selectRows,
  servingTemperature,
  stackMembers,
  withExport,
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
): Promise<Stacked & { rows: StackingRows; members: StackingMember[]; notes: string[] }> {
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
      notes.push(
        `${m.id}: retrained on each of ${k} folds grouped by near-duplicate key (${m.family}); the served model is its refit on all train rows`,
      );
    } else {
      members.push({ kind: 'frozen', id: m.id, probs: selectRows(await frozen(m), tr.rows) });
      notes.push(
        `${m.id}: frozen (not a trainable family): served as it is, scored on train, which it must not have been fitted on`,
      );
    }
  }
  const stacked = await stackMembers(members, rows, onMember);
  return { ...stacked, rows, members, notes };
}

/**
 * The members the stacked version serves: each retrained member's refit on all train rows
 * (lib/train refitMember), exported in the base member's variant; frozen members as they are. The
 * meta-learner was fitted on exactly these models' out-of-fold stand-ins, never on the base's
 * members, whose outputs on the job's train rows follow another scale.
 */
async function servedMembers(
  ctx: JobContext<'stack'>,
  stacked: Awaited<ReturnType<typeof stackingStep>>,
): Promise<MemberSpec[]> {
  const base = ctx.manifest;
  return Promise.all(
    base.members.map(async (m, i) => {
      const member = stacked.members[i];
      if (member?.kind !== 'retrain') return m;
      const model = refitMember(member, stacked.rows, stacked.foldTemperatures[i] ?? []);
      const variants = await exportVariants(
        model,
        { labels: base.labels, docString: `${m.id} refit by ${ctx.id}`, featurizer: m.featurizer },
        ctx.store,
      );
      const variant = m.variant ?? 'int8';
      return { ...withExport(m, variant, variants[variant]), metrics: undefined };
    }),
  );
}

/**
 * Stacking, the textbook recipe: K-fold out-of-fold member predictions on train, a logistic
 * meta-learner over their log-odds and abstentions, and the refitted members served under it.
 * Every fitted number (fold models, refits, temperatures, L2, meta-learner) comes from train; the
 * validation split only measures, so the report's and the gate's figures are held out.
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
    `refits served with the geometric mean of their fold models' temperatures: ${stacked.members
      .flatMap((m, i) =>
        m.kind === 'retrain' ? [`${m.id} ${servingTemperature(stacked.foldTemperatures[i] ?? []).toFixed(3)}`] : [],
      )
      .join(', ')}`,
  ];
  await ctx.progress('refitting members on all train rows', 0.7);
  const members = await servedMembers(ctx, stacked);
  await ctx.progress('evaluating on validation', 0.75);
  // The other strategies' temperatures and decisions were fitted for the base's members: stale here.
  const fusion = {
    ...base.fusion,
    strategy: 'stacking' as const,
    metaLearner: stacked.metaLearner,
    temperature,
    calibration: { stacking: { temperature } },
  };
  const candidate = candidateOf(ctx, { members, fusion }, train.hash);
  const name = `stacking (${spec.folds}-fold OOF), T=${temperature}`;
  const report = await standardReport(ctx, val, [{ name, manifest: candidate }]);
  return logLossOutcome(candidate, report, name, notes, { minGain: spec.gate.minLogLossGain });
}
