import { ChorusError } from '../../errors';
import { meanLogLoss, type ProbMatrix } from '../../fusion';
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
import { type LinearModel, predictProba, type SparseRow } from '../model';
import type { TrainableFamily } from '../trainable';
import { foldRows } from './folds';

/** The meta-learner recipe: multinomial logistic regression over concatenated member probabilities. */
export const META_LEARNER_RECIPE = { l2: 1e-3, epochs: 60, learningRate: 0.05, seed: 7 } as const;

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
      /** held-out rows each fold model's temperature is fitted on */
      calibration: { inputs: FamilyInputs; labels: ArrayLike<number> };
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
  metaLearner: MetaLearner;
}

/** Out-of-fold probabilities of one member: fold f's rows predicted by a model fitted without them. */
export function outOfFold(member: StackingMember, rows: StackingRows): ProbMatrix {
  if (member.kind === 'frozen') return member.probs;
  const { labels, folds, k, classes: C } = rows;
  const data = new Float64Array(folds.length * C);
  for (let f = 0; f < k; f++) {
    const { fit, held } = foldRows(folds, f);
    if (held.length === 0) continue;
    const model = trainFamily(
      member.family,
      member.featurizer,
      subsetInputs(member.inputs, fit),
      fit.map((i) => labels[i] as number),
      C,
      member.options,
    );
    calibrateTemperature(model, member.calibration.inputs, member.calibration.labels);
    const probs = probabilityMatrix(model, subsetInputs(member.inputs, held));
    held.forEach((i, j) => {
      data.set(probs.data.subarray(j * C, (j + 1) * C), i * C);
    });
  }
  return { n: folds.length, c: C, data };
}

/** Meta-features of each row: the members' probabilities side by side. */
export function metaFeatures(oof: readonly ProbMatrix[]): SparseRow[] {
  const n = oof[0]?.n ?? 0;
  const c = oof[0]?.c ?? 0;
  return Array.from({ length: n }, (_, i) => {
    const values = new Float32Array(oof.length * c);
    oof.forEach((m, mi) => {
      values.set(m.data.subarray(i * c, (i + 1) * c), mi * c);
    });
    return { indices: Int32Array.from(values.keys()), values };
  });
}

function fitMeta(rows: readonly SparseRow[], labels: readonly number[], classes: number): LinearModel {
  const inputDim = rows[0]?.values.length ?? 0;
  return trainLogisticRegression(rows, labels, { classes, inputDim, ...META_LEARNER_RECIPE });
}

/** The meta-learner fitted on out-of-fold probabilities, in the manifest's form. */
export function fitMetaLearner(
  oof: readonly ProbMatrix[],
  labels: readonly number[],
  classes: number,
  memberIds: readonly string[],
): MetaLearner {
  const meta = fitMeta(metaFeatures(oof), labels, classes);
  const width = oof.length * classes;
  return {
    kind: 'logistic',
    members: [...memberIds],
    coef: Array.from({ length: classes }, (_, k) =>
      Array.from({ length: width }, (__, j) => meta.weights[j * classes + k] as number),
    ),
    intercept: Array.from(meta.bias),
  };
}

/** K-fold cross-validated log-loss of the meta-learner itself, on the same folds. */
export function metaLearnerCvLoss(oof: readonly ProbMatrix[], rows: StackingRows): number {
  const features = metaFeatures(oof);
  const C = rows.classes;
  const data = new Float64Array(features.length * C);
  for (let f = 0; f < rows.k; f++) {
    const { fit, held } = foldRows(rows.folds, f);
    if (held.length === 0) continue;
    const model = fitMeta(
      fit.map((i) => features[i] as SparseRow),
      fit.map((i) => rows.labels[i] as number),
      C,
    );
    for (const i of held) data.set(predictProba(model, features[i] as SparseRow), i * C);
  }
  return meanLogLoss({ n: features.length, c: C, data }, rows.labels);
}

/**
 * Stacking, the textbook recipe shared by the zoo build and the `stack` job: out-of-fold member
 * predictions on the train rows (folds grouped by near-duplicate key), then the meta-learner over
 * them. `onMember` runs before each member (progress).
 */
export async function stackMembers(
  members: readonly StackingMember[],
  rows: StackingRows,
  onMember?: (member: StackingMember, index: number) => Promise<void> | void,
): Promise<Stacked> {
  if (new Set(rows.folds).size < 2)
    throw new ChorusError('invalid_argument', `stacking needs train rows in at least two of the ${rows.k} folds`);
  const oof: ProbMatrix[] = [];
  for (const [i, member] of members.entries()) {
    await onMember?.(member, i);
    oof.push(outOfFold(member, rows));
  }
  return {
    oof,
    metaLearner: fitMetaLearner(
      oof,
      rows.labels,
      rows.classes,
      members.map((m) => m.id),
    ),
  };
}
