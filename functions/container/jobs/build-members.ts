import { evidenceOptions } from '../../../lib/ensemble';
import { ChorusError } from '../../../lib/errors';
import { argmax, ensembleSelection, fitTemperature, rowsOf } from '../../../lib/fusion';
import { type EnsembleManifest, JOB_SPEC_SCHEMAS, type MemberSpec } from '../../../lib/schema';
import {
  calibrateTemperature,
  createRng,
  exportVariants,
  type FamilyInputs,
  isTrainable,
  probabilityMatrix,
  selectRows,
  subsetInputs,
  type TrainableMember,
  type TrainedModel,
  trainFamily,
  withExport,
} from '../../../lib/train';
import { candidateOf, type JobContext, type JobOutcome } from '../kit/context';
import { featurizeRows, groupedHalves, labeled, loadDataset } from '../kit/datasets';
import { logLossOutcome, logLossRule, standardReport } from '../kit/report';

export const schema = JOB_SPEC_SCHEMAS['build-members'];

/**
 * SAMME (Zhu et al. 2009) after one boosted member: its weighted error and weight α, and the
 * rows reweighted (misclassified ones up) unless the member is no better than chance (`stop`).
 */
function sammeStep(
  model: TrainedModel,
  inputs: FamilyInputs,
  labels: readonly number[],
  weights: Float64Array,
): { alpha: number; err: number; stop: boolean } {
  const C = model.classes;
  const wrong = rowsOf(probabilityMatrix(model, inputs)).map((p, i) => argmax(p) !== labels[i]);
  let err = 0;
  wrong.forEach((w, i) => {
    if (w) err += weights[i] as number;
  });
  err = Math.min(Math.max(err, 1e-10), 1 - 1e-10);
  // α = log((1 − err)/err) + log(C − 1)
  const alpha = Math.log((1 - err) / err) + Math.log(C - 1);
  if (err >= 1 - 1 / C) return { alpha, err, stop: true };
  let sum = 0;
  wrong.forEach((w, i) => {
    if (w) weights[i] = (weights[i] as number) * Math.exp(alpha);
    sum += weights[i] as number;
  });
  for (let i = 0; i < weights.length; i++) weights[i] = (weights[i] as number) / sum;
  return { alpha, err, stop: false };
}

/**
 * Grows diverse members of a trainable family: bagging (bootstrap samples, new seeds) or
 * boosting (SAMME: members trained on reweighted data, misclassified rows weigh more). The new
 * members join the ensemble and soft-vote weights are refitted by ensemble selection on one half of
 * validation; the report and gate measure the other half.
 */
export async function run(ctx: JobContext<'build-members'>): Promise<JobOutcome> {
  const { spec, manifest: base } = ctx;
  const C = base.labels.length;
  const found = base.members.find((m) => m.id === spec.like);
  if (!found || !isTrainable(found))
    throw new ChorusError('invalid_argument', `'${spec.like}' is not a trainable member of '${base.name}'`);
  const like: TrainableMember = found;
  await ctx.progress('loading data', 0.05);
  const train = await loadDataset(ctx.store, spec.train, base);
  // Temperatures and selection weights are fitted on one half of validation (groups kept
  // together); the report and the gate measure the other half, which nothing was fitted on.
  const { fit: val, held } = await groupedHalves(base, await loadDataset(ctx.store, spec.validation, base));
  const tr = labeled(train);
  const va = labeled(val);
  const inputs = await featurizeRows(base, like.featurizer, train, tr.rows);
  const valInputs = await featurizeRows(base, like.featurizer, val, va.rows);
  const n = tr.rows.length;
  const rng = createRng(spec.seed);
  const weights = new Float64Array(n).fill(1 / n);
  const added: MemberSpec[] = [];
  const notes: string[] = [];
  for (let k = 0; k < spec.count; k++) {
    await ctx.progress(`training member ${k + 1} of ${spec.count}`, 0.1 + (0.5 * k) / spec.count);
    const options = { ...like.training, seed: spec.seed * 1000 + k + 1 };
    let model: TrainedModel;
    if (spec.method === 'bagging') {
      const sample = Array.from({ length: n }, () => Math.floor(rng() * n));
      const labels = sample.map((i) => tr.labels[i] as number);
      model = trainFamily(like.family, like.featurizer, subsetInputs(inputs, sample), labels, C, options);
      notes.push(`${like.id}-bag${k + 1}: bootstrap sample of ${n} rows (${new Set(sample).size} distinct)`);
    } else {
      const scaled = Array.from(weights, (w) => w * n);
      model = trainFamily(like.family, like.featurizer, inputs, tr.labels, C, options, scaled);
      const { alpha, err, stop } = sammeStep(model, inputs, tr.labels, weights);
      notes.push(
        `${like.id}-boost${k + 1}: weighted training error ${(100 * err).toFixed(2)} %, α = ${alpha.toFixed(3)}`,
      );
      if (stop) break;
    }
    calibrateTemperature(model, valInputs, va.labels);
    const id = `${like.id}-${spec.method === 'bagging' ? 'bag' : 'boost'}${k + 1}`;
    const variants = await exportVariants(
      model,
      { labels: base.labels, docString: id, featurizer: like.featurizer },
      ctx.store,
    );
    added.push({ ...withExport(like, 'int8', variants.int8), id, metrics: undefined });
  }
  await ctx.progress('refitting fusion weights', 0.7);
  const grown: EnsembleManifest = { ...base, members: [...base.members, ...added] };
  const valMembers = (await ctx.evaluator.members(grown, val)).map((m) => selectRows(m, va.rows));
  const selection = ensembleSelection(valMembers, va.labels, {
    rounds: 25,
    fusion: evidenceOptions(grown),
  });
  const withTemperature = (temperature: number) =>
    candidateOf(
      ctx,
      {
        members: grown.members,
        fusion: {
          strategy: 'soft',
          weights: Object.fromEntries(
            grown.members.map((m, i) => [m.id, Number((selection.weights[i] ?? 0).toPrecision(6))]),
          ),
          weightsFrom: 'ensemble-selection',
          temperature,
          calibration: { soft: { temperature } },
          quorum: base.fusion.quorum,
          ...(base.fusion.prior ? { prior: base.fusion.prior } : {}),
          ...(base.fusion.minAnswering ? { minAnswering: base.fusion.minAnswering } : {}),
          ...(base.fusion.requireAnyOf ? { requireAnyOf: base.fusion.requireAnyOf } : {}),
        },
      },
      train.hash,
    );
  // soft's temperature on the same half, from the serving engine's own answers
  const fused = selectRows(await ctx.evaluator.ensemble(withTemperature(1), val), va.rows);
  const candidate = withTemperature(Number(fitTemperature(fused, va.labels).toPrecision(6)));
  const name = `+${added.length} ${spec.method} members, selection weights`;
  const report = await standardReport(ctx, held, [{ name, manifest: candidate }]);
  notes.push(
    `new members' temperatures, the selection weights and soft's temperature (${candidate.fusion.temperature}) fitted on ${va.rows.length} validation rows; every figure here is on the other ${labeled(held).rows.length} (near-duplicate groups kept on one side)`,
  );
  return logLossOutcome(candidate, report, name, notes, logLossRule(spec.gate));
}
