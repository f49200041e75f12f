import { fitTemperature, LOG_EPS, type ProbMatrix } from '../../../lib/fusion';
import type { EnsembleManifest, MemberSpec, MetaLearner, StackJob } from '../../../lib/schema';
import {
  calibrateTemperature,
  type Family,
  featurizeForFamily,
  predictProba,
  probabilityMatrix,
  type SparseRow,
  selectRows,
  subsetInputs,
  trainFamily,
  trainLogisticRegression,
} from '../../../lib/train';
import { labeled, loadDataset } from '../datasets';
import { fuseWith } from '../scoring';
import { type JobContext, type JobOutcome, logLossOutcome, memberTexts, standardReport } from './context';

const TRAINABLE: readonly string[] = ['logreg', 'naive-bayes', 'fasttext'];

export function isTrainable(m: MemberSpec): boolean {
  return m.featurizer.kind === 'hashed-ngrams' && TRAINABLE.includes(m.family ?? '') && m.training !== undefined;
}

function metaRows(oof: ProbMatrix[], n: number): SparseRow[] {
  const c = oof[0]?.c ?? 0;
  return Array.from({ length: n }, (_, i) => {
    const values = new Float32Array(oof.length * c);
    oof.forEach((m, mi) => {
      values.set(m.data.subarray(i * c, (i + 1) * c), mi * c);
    });
    return { indices: Int32Array.from(values.keys()), values };
  });
}

function fitMeta(rows: SparseRow[], labels: number[], members: number, classes: number) {
  return trainLogisticRegression(rows, labels, {
    classes,
    inputDim: members * classes,
    l2: 1e-3,
    epochs: 60,
    learningRate: 0.05,
    seed: 7,
  });
}

/**
 * Stacking, the textbook recipe: K-fold out-of-fold member predictions on train (trainable members
 * retrained per fold; frozen uploaded members scored once, the meta-learner cross-validated), then
 * a multinomial logistic regression over the concatenated probabilities.
 */
export async function stack(ctx: JobContext, spec: StackJob): Promise<JobOutcome> {
  const base = ctx.manifest;
  const C = base.labels.length;
  await ctx.progress('loading data', 0.05);
  const train = await loadDataset(ctx.store, spec.train, base);
  const val = await loadDataset(ctx.store, spec.validation, base);
  const tr = labeled(train);
  const va = labeled(val);
  const K = spec.folds;
  const fold = tr.rows.map((_, i) => i % K);
  const oof: ProbMatrix[] = [];
  const notes: string[] = [];
  for (const [mi, member] of base.members.entries()) {
    await ctx.progress(`out-of-fold predictions: ${member.id}`, 0.1 + (0.5 * mi) / base.members.length);
    if (!isTrainable(member) || member.featurizer.kind !== 'hashed-ngrams') {
      oof.push(selectRows(await ctx.scorer.member(base, member, train), tr.rows));
      notes.push(`${member.id}: frozen (not a trainable family); scored once, meta-learner cross-validated`);
      continue;
    }
    const spec2 = member.featurizer;
    const trainTexts = await memberTexts(
      base,
      member,
      tr.rows.map((r) => train.inputs[r] ?? {}),
    );
    const valTexts = await memberTexts(
      base,
      member,
      va.rows.map((r) => val.inputs[r] ?? {}),
    );
    const inputs = featurizeForFamily(trainTexts, spec2);
    const valInputs = featurizeForFamily(valTexts, spec2);
    const data = new Float64Array(tr.rows.length * C);
    for (let k = 0; k < K; k++) {
      const fit = fold.map((f, i) => (f !== k ? i : -1)).filter((i) => i >= 0);
      const held = fold.map((f, i) => (f === k ? i : -1)).filter((i) => i >= 0);
      const model = trainFamily(
        member.family as Family,
        spec2,
        subsetInputs(inputs, fit),
        fit.map((i) => tr.labels[i] as number),
        C,
        member.training,
      );
      calibrateTemperature(model, valInputs, va.labels);
      const probs = probabilityMatrix(model, subsetInputs(inputs, held));
      held.forEach((i, j) => {
        data.set(probs.data.subarray(j * C, (j + 1) * C), i * C);
      });
    }
    oof.push({ n: tr.rows.length, c: C, data });
    notes.push(`${member.id}: retrained on each of ${K} folds (${member.family})`);
  }
  await ctx.progress('fitting the meta-learner', 0.65);
  const rows = metaRows(oof, tr.rows.length);
  // Cross-validated log-loss of the meta-learner itself (what frozen members rely on).
  let cvLoss = 0;
  for (let k = 0; k < K; k++) {
    const fit = fold.map((f, i) => (f !== k ? i : -1)).filter((i) => i >= 0);
    const held = fold.map((f, i) => (f === k ? i : -1)).filter((i) => i >= 0);
    const m = fitMeta(
      fit.map((i) => rows[i] as SparseRow),
      fit.map((i) => tr.labels[i] as number),
      oof.length,
      C,
    );
    for (const i of held) {
      const p = predictProba(m, rows[i] as SparseRow);
      cvLoss -= Math.log(Math.max(p[tr.labels[i] as number] as number, LOG_EPS)) / tr.rows.length;
    }
  }
  notes.push(`meta-learner ${K}-fold cross-validated log-loss on train: ${cvLoss.toFixed(4)}`);
  const meta = fitMeta(rows, tr.labels, oof.length, C);
  const metaLearner: MetaLearner = {
    kind: 'logistic',
    members: base.members.map((m) => m.id),
    coef: Array.from({ length: C }, (_, k) =>
      Array.from({ length: oof.length * C }, (__, j) => meta.weights[j * C + k] as number),
    ),
    intercept: Array.from(meta.bias),
  };
  await ctx.progress('evaluating on validation', 0.75);
  const provisional: EnsembleManifest = {
    ...base,
    fusion: { ...base.fusion, strategy: 'stacking', metaLearner, temperature: 1 },
  };
  const valMembers = await ctx.scorer.members(base, val);
  const temperature = Number(
    fitTemperature(selectRows(fuseWith(provisional, valMembers), va.rows), va.labels).toPrecision(6),
  );
  const candidate: EnsembleManifest = {
    ...provisional,
    fusion: { ...provisional.fusion, temperature },
    provenance: {
      ...base.provenance,
      jobId: ctx.id,
      dataHash: train.hash,
      createdAt: new Date().toISOString(),
      tool: 'stack',
    },
  };
  const name = `stacking (${K}-fold OOF), T=${temperature}`;
  const report = await standardReport(ctx, val, [{ name, manifest: candidate }]);
  return logLossOutcome(candidate, report, name, notes, { minGain: spec.gate.minLogLossGain });
}
