import { ChorusError } from '../../errors';
import { meanLogLoss, metaFeatureRow, type ProbMatrix } from '../../fusion';
import type { HashedNgramFeaturizer, MetaLearner } from '../../schema';
import {
  calibrateTemperature,
  type FamilyInputs,
  type FamilyOptions,
  probabilityMatrix,
  subsetInputs,
  trainFamily,
} from '../fit';
import { trainLogisticRegression } from '../logreg';
import { type LinearModel, predictProba, type SparseRow, type TrainedModel } from '../model';
import type { TrainableFamily } from '../trainable';
import { foldRows } from './folds';

/**
 * The meta-learner recipe: multinomial logistic regression over the members' log-odds and
 * abstention indicators (lib/fusion metaFeatureRow); its L2 penalty is the one of `l2Grid` with
 * the lowest grouped K-fold log-loss on the out-of-fold rows.
 */
export const META_LEARNER_RECIPE = {
  epochs: 40,
  learningRate: 0.02,
  seed: 7,
  l2Grid: [1e-4, 1e-3, 1e-2, 3e-2, 1e-1],
} as const;

/** A member as stacking sees it: retrained on every fold, or frozen (scored once on the train rows). */
export type StackingMember =
  | {
      kind: 'retrain';
      id: string;
      family: TrainableFamily;
      featurizer: HashedNgramFeaturizer;
      options: FamilyOptions;
      /** the train rows, featurized for this member */
      inputs: FamilyInputs;
      /** per train row, 1 where the member abstains (no evidence): left out of its fits, flagged to the meta-learner */
      abstained?: Uint8Array;
    }
  | { kind: 'frozen'; id: string; probs: ProbMatrix };

export interface StackingRows {
  labels: readonly number[];
  /** fold of each train row (groupedFolds) */
  folds: readonly number[];
  k: number;
  classes: number;
}

export interface Stacked {
  /** per member, its out-of-fold probabilities on the train rows */
  oof: ProbMatrix[];
  /** per member, the temperature each fold model got on the fold it predicted (none for frozen members) */
  foldTemperatures: number[][];
  metaLearner: MetaLearner;
  /** the meta-learner's own grouped K-fold predictions on the train rows (for its temperature and decision) */
  cv: ProbMatrix;
  /** grouped K-fold log-loss per L2 penalty tried */
  l2Losses: { l2: number; logLoss: number }[];
}

/**
 * Out-of-fold probabilities of one member: fold f's rows predicted by a model fitted without them
 * (on the rows where the member answers), its temperature fitted on the fold it predicts, which
 * the reported and gated figures never use. Rows the member abstains on stay uniform and flagged.
 */
export function outOfFold(
  member: StackingMember,
  rows: StackingRows,
  onFold?: (fold: number, model: TrainedModel) => void,
): ProbMatrix {
  if (member.kind === 'frozen') return member.probs;
  const { labels, folds, k, classes: C } = rows;
  const abstained = member.abstained;
  const answers = (i: number) => !abstained?.[i];
  const data = new Float64Array(folds.length * C).fill(1 / C);
  for (let f = 0; f < k; f++) {
    const split = foldRows(folds, f);
    const fit = split.fit.filter(answers);
    const held = split.held.filter(answers);
    if (held.length === 0 || fit.length === 0) continue;
    const model = trainFamily(
      member.family,
      member.featurizer,
      subsetInputs(member.inputs, fit),
      fit.map((i) => labels[i] as number),
      C,
      member.options,
    );
    const heldInputs = subsetInputs(member.inputs, held);
    calibrateTemperature(
      model,
      heldInputs,
      held.map((i) => labels[i] as number),
    );
    onFold?.(f, model);
    const probs = probabilityMatrix(model, heldInputs);
    held.forEach((i, j) => {
      data.set(probs.data.subarray(j * C, (j + 1) * C), i * C);
    });
  }
  return { n: folds.length, c: C, data, ...(abstained ? { abstained } : {}) };
}

/** Meta-features of each row: per member, its log-odds and abstention indicator (metaFeatureRow). */
export function metaFeatures(oof: readonly ProbMatrix[]): SparseRow[] {
  const n = oof[0]?.n ?? 0;
  const c = oof[0]?.c ?? 0;
  const mask = new Uint8Array(oof.length);
  const out = new Float64Array(oof.length * c);
  return Array.from({ length: n }, (_, i) => {
    oof.forEach((m, mi) => {
      mask[mi] = m.abstained?.[i] ?? 0;
    });
    metaFeatureRow(
      oof.map((m) => m.data.subarray(i * c, (i + 1) * c)),
      'log-odds',
      mask,
      out,
    );
    const values = Float32Array.from(out);
    return { indices: Int32Array.from(values.keys()), values };
  });
}

function fitMeta(rows: readonly SparseRow[], labels: readonly number[], classes: number, l2: number): LinearModel {
  const inputDim = rows[0]?.values.length ?? 0;
  const { l2Grid: _, ...recipe } = META_LEARNER_RECIPE;
  return trainLogisticRegression(rows, labels, { classes, inputDim, l2, ...recipe });
}

/** The meta-learner's grouped K-fold predictions on its own rows, at one L2 penalty. */
function metaCv(features: readonly SparseRow[], rows: StackingRows, l2: number): ProbMatrix {
  const C = rows.classes;
  const data = new Float64Array(features.length * C).fill(1 / C);
  for (let f = 0; f < rows.k; f++) {
    const { fit, held } = foldRows(rows.folds, f);
    if (held.length === 0 || fit.length === 0) continue;
    const model = fitMeta(
      fit.map((i) => features[i] as SparseRow),
      fit.map((i) => rows.labels[i] as number),
      C,
      l2,
    );
    for (const i of held) data.set(predictProba(model, features[i] as SparseRow), i * C);
  }
  return { n: features.length, c: C, data };
}

/**
 * The meta-learner fitted on out-of-fold member outputs, in the manifest's form, with the L2
 * penalty chosen by grouped K-fold log-loss on the same rows and folds.
 */
export function fitMetaLearner(
  oof: readonly ProbMatrix[],
  rows: StackingRows,
  memberIds: readonly string[],
): Omit<Stacked, 'oof' | 'foldTemperatures'> {
  const features = metaFeatures(oof);
  const classes = rows.classes;
  let best: { l2: number; loss: number; cv: ProbMatrix } | undefined;
  const l2Losses: { l2: number; logLoss: number }[] = [];
  for (const l2 of META_LEARNER_RECIPE.l2Grid) {
    const cv = metaCv(features, rows, l2);
    const loss = meanLogLoss(cv, rows.labels);
    l2Losses.push({ l2, logLoss: loss });
    if (!best || loss < best.loss) best = { l2, loss, cv };
  }
  if (!best) throw new ChorusError('invalid_argument', 'no L2 penalty to try');
  const meta = fitMeta(features, rows.labels, classes, best.l2);
  const width = oof.length * classes;
  return {
    metaLearner: {
      kind: 'logistic',
      features: 'log-odds',
      members: [...memberIds],
      coef: Array.from({ length: classes }, (_, k) =>
        Array.from({ length: width }, (__, j) => meta.weights[j * classes + k] as number),
      ),
      intercept: Array.from(meta.bias),
    },
    cv: best.cv,
    l2Losses,
  };
}

/**
 * Stacking, the textbook recipe shared by the zoo build and the `stack` job: out-of-fold member
 * predictions on the train rows (folds grouped by near-duplicate key), then the meta-learner over
 * their log-odds and abstentions, its L2 penalty chosen by grouped K-fold log-loss. `onMember`
 * runs before each member (progress).
 */
export async function stackMembers(
  members: readonly StackingMember[],
  rows: StackingRows,
  onMember?: (member: StackingMember, index: number) => Promise<void> | void,
): Promise<Stacked> {
  if (new Set(rows.folds).size < 2)
    throw new ChorusError('invalid_argument', `stacking needs train rows in at least two of the ${rows.k} folds`);
  const oof: ProbMatrix[] = [];
  const foldTemperatures: number[][] = [];
  for (const [i, member] of members.entries()) {
    await onMember?.(member, i);
    const temperatures: number[] = [];
    oof.push(outOfFold(member, rows, (_, model) => temperatures.push(model.temperature)));
    foldTemperatures.push(temperatures);
  }
  return {
    oof,
    foldTemperatures,
    ...fitMetaLearner(
      oof,
      rows,
      members.map((m) => m.id),
    ),
  };
}
