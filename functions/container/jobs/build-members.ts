import { ChorusError } from '../../../lib/errors';
import { ensembleSelection, type ProbMatrix } from '../../../lib/fusion';
import type { BuildMembersJob, EnsembleManifest, MemberSpec } from '../../../lib/schema';
import {
  calibrateTemperature,
  createRng,
  exportOnnx,
  type Family,
  featurizeForFamily,
  probabilityMatrix,
  selectRows,
  subsetInputs,
  trainFamily,
} from '../../../lib/train';
import { labeled, loadDataset } from '../datasets';
import { type JobContext, type JobOutcome, logLossOutcome, memberTexts, putModel, standardReport } from './context';
import { isTrainable } from './stack';

/**
 * Grows diverse members of a trainable family: bagging (bootstrap samples, new seeds) or
 * boosting (SAMME: members trained on reweighted data, misclassified rows weigh more). The new
 * members join the ensemble and soft-vote weights are refitted by ensemble selection on validation.
 */
export async function buildMembers(ctx: JobContext, spec: BuildMembersJob): Promise<JobOutcome> {
  const base = ctx.manifest;
  const C = base.labels.length;
  const like = base.members.find((m) => m.id === spec.like);
  if (!like || !isTrainable(like) || like.featurizer.kind !== 'hashed-ngrams') {
    throw new ChorusError('invalid_argument', `'${spec.like}' is not a trainable member of '${base.name}'`);
  }
  const featurizer = like.featurizer;
  await ctx.progress('loading data', 0.05);
  const train = await loadDataset(ctx.store, spec.train, base);
  const val = await loadDataset(ctx.store, spec.validation, base);
  const tr = labeled(train);
  const va = labeled(val);
  const inputs = featurizeForFamily(
    await memberTexts(
      base,
      like,
      tr.rows.map((r) => train.inputs[r] ?? {}),
    ),
    featurizer,
  );
  const valInputs = featurizeForFamily(
    await memberTexts(
      base,
      like,
      va.rows.map((r) => val.inputs[r] ?? {}),
    ),
    featurizer,
  );
  const n = tr.rows.length;
  const rng = createRng(spec.seed);
  const weights = new Float64Array(n).fill(1 / n);
  const added: MemberSpec[] = [];
  const notes: string[] = [];
  for (let k = 0; k < spec.count; k++) {
    await ctx.progress(`training member ${k + 1} of ${spec.count}`, 0.1 + (0.5 * k) / spec.count);
    const options = { ...like.training, seed: spec.seed * 1000 + k + 1 };
    let model: ReturnType<typeof trainFamily>;
    if (spec.method === 'bagging') {
      const sample = Array.from({ length: n }, () => Math.floor(rng() * n));
      model = trainFamily(
        like.family as Family,
        featurizer,
        subsetInputs(inputs, sample),
        sample.map((i) => tr.labels[i] as number),
        C,
        options,
      );
      notes.push(`${like.id}-bag${k + 1}: bootstrap sample of ${n} rows (${new Set(sample).size} distinct)`);
    } else {
      const scaled = Array.from(weights, (w) => w * n);
      model = trainFamily(like.family as Family, featurizer, inputs, tr.labels, C, options, scaled);
      const probs: ProbMatrix = probabilityMatrix(model, inputs);
      let err = 0;
      const wrong = tr.labels.map((y, i) => {
        let best = 0;
        for (let c = 1; c < C; c++)
          if ((probs.data[i * C + c] as number) > (probs.data[i * C + best] as number)) best = c;
        return best !== y;
      });
      wrong.forEach((w, i) => {
        if (w) err += weights[i] as number;
      });
      err = Math.min(Math.max(err, 1e-10), 1 - 1e-10);
      // SAMME (Zhu et al. 2009): α = log((1 − err)/err) + log(C − 1)
      const alpha = Math.log((1 - err) / err) + Math.log(C - 1);
      notes.push(
        `${like.id}-boost${k + 1}: weighted training error ${(100 * err).toFixed(2)} %, α = ${alpha.toFixed(3)}`,
      );
      if (err >= 1 - 1 / C) break;
      let sum = 0;
      wrong.forEach((w, i) => {
        if (w) weights[i] = (weights[i] as number) * Math.exp(alpha);
        sum += weights[i] as number;
      });
      for (let i = 0; i < n; i++) weights[i] = (weights[i] as number) / sum;
    }
    calibrateTemperature(model, valInputs, va.labels);
    const id = `${like.id}-${spec.method === 'bagging' ? 'bag' : 'boost'}${k + 1}`;
    const fp32 = exportOnnx(model, { labels: base.labels, variant: 'fp32', docString: id });
    await putModel(ctx.store, fp32.bytes);
    const int8 = exportOnnx(model, { labels: base.labels, variant: 'int8', docString: id });
    added.push({ ...like, id, model: await putModel(ctx.store, int8.bytes), variant: 'int8', metrics: undefined });
  }
  await ctx.progress('refitting fusion weights', 0.7);
  const grown: EnsembleManifest = { ...base, members: [...base.members, ...added] };
  const valMembers = (await ctx.scorer.members(grown, val)).map((m) => selectRows(m, va.rows));
  const selection = ensembleSelection(valMembers, va.labels, { rounds: 25 });
  const candidate: EnsembleManifest = {
    ...grown,
    fusion: {
      strategy: 'soft',
      weights: Object.fromEntries(
        grown.members.map((m, i) => [m.id, Number((selection.weights[i] ?? 0).toPrecision(6))]),
      ),
      weightsFrom: 'ensemble-selection',
      temperature: 1,
      quorum: base.fusion.quorum,
    },
    provenance: {
      ...base.provenance,
      jobId: ctx.id,
      dataHash: train.hash,
      createdAt: new Date().toISOString(),
      tool: 'build-members',
    },
  };
  const name = `+${added.length} ${spec.method} members, selection weights`;
  const report = await standardReport(ctx, val, [{ name, manifest: candidate }]);
  return logLossOutcome(candidate, report, name, notes, { maxIncrease: spec.gate.maxLogLossIncrease });
}
