/**
 * Cross-fitting of the zoo: every member is fitted on train and validation together with the
 * `stack` job's own recipe (lib/train outOfFold + refitMember), so no row is spent only on
 * calibration and no figure fitted on validation reads an in-sample answer:
 *
 * - 5 folds over the fit rows, grouped by near-duplicate key (an augmented copy shares its
 *   source's key, and so its fold);
 * - per fold, the member fitted on the other four and calibrated on the fold it predicts (its
 *   out-of-fold answers there are what the meta-learner learns from, as in the job);
 * - the served model refitted on every fit row, at the geometric mean of the fold temperatures;
 * - the meta-learner fitted on the out-of-fold answers, and one more per fold fitted without it.
 *
 * A validation message (and each of its slices) is later answered by the fold models that never
 * saw its fold, at the other folds' temperatures (members.ts), and by the meta-learner fitted
 * without its fold — one level of cross-fitting: that meta-learner's inputs on the other folds
 * come from fold models that did see it. Test is answered by the served refits only.
 */
import { abstainsOn } from '../../lib/ensemble';
import type { ProbMatrix } from '../../lib/fusion';
import type { MetaLearner } from '../../lib/schema';
import {
  type FamilyInputs,
  featurizeForFamily,
  fitMetaLearner,
  foldRows,
  groupedFolds,
  outOfFold,
  refitMember,
  type StackingMember,
  type StackingRows,
  selectRows,
  subsetInputs,
  type TrainedModel,
} from '../../lib/train';
import { type CorpusMessage, LABELS } from '../corpus';
import { type MemberDefinition, ZOO } from '../zoo';
import type { Split } from './split';

export const FOLDS = 5;

export interface CrossFitMember {
  def: MemberDefinition;
  /** every corpus message featurized for this member */
  inputs: FamilyInputs;
  /** the served model: refitted on every fit row where the member answers */
  model: TrainedModel;
  /** fold f's model: fitted without fold f, calibrated on it */
  foldModels: TrainedModel[];
  /** out-of-fold answers over the fit rows */
  oof: ProbMatrix;
}

export interface CrossFit {
  /** labels and folds of the fit rows (split.fit order) */
  rows: StackingRows;
  members: CrossFitMember[];
  /** the served meta-learner: fitted on every fit row's out-of-fold answers */
  metaLearner: MetaLearner;
  /** fold f's meta-learner: fitted on the out-of-fold answers outside fold f */
  foldMetaLearners: MetaLearner[];
  /** the fold of each validation row (split.validation order), from its place among the fit rows */
  valFolds: number[];
}

/** The fold of every fit row: groupedFolds of the near-duplicate keys. */
export function fitFolds(split: Pick<Split, 'corpus' | 'fit'>): number[] {
  return groupedFolds(
    split.fit.map((r) => (split.corpus[r] as CorpusMessage).dupKey),
    FOLDS,
  );
}

function stackingMember(def: MemberDefinition, inputs: FamilyInputs, split: Pick<Split, 'corpus' | 'fit'>) {
  const view = def.featurizer.view ?? 'body';
  return {
    kind: 'retrain',
    id: def.id,
    family: def.family,
    featurizer: def.featurizer,
    options: def.options,
    inputs: subsetInputs(inputs, split.fit),
    abstained: Uint8Array.from(split.fit, (r) =>
      abstainsOn(def, (split.corpus[r] as CorpusMessage).views[view]) ? 1 : 0,
    ),
  } satisfies StackingMember;
}

/** The meta-learner of the out-of-fold answers at `positions` of the fit rows. */
function metaOn(members: readonly CrossFitMember[], rows: StackingRows, positions: readonly number[]): MetaLearner {
  return fitMetaLearner(
    members.map((m) => selectRows(m.oof, positions)),
    {
      labels: positions.map((i) => rows.labels[i] as number),
      folds: positions.map((i) => rows.folds[i] as number),
      k: rows.k,
      classes: rows.classes,
    },
    members.map((m) => m.def.id),
  ).metaLearner;
}

/** Cross-fits `defs` (the zoo by default) on the split's fit rows. */
export function crossFitZoo(
  split: Pick<Split, 'corpus' | 'fit' | 'validation' | 'yOf'>,
  log: (...a: unknown[]) => void = () => undefined,
  defs: readonly MemberDefinition[] = ZOO,
): CrossFit {
  const rows: StackingRows = { labels: split.yOf(split.fit), folds: fitFolds(split), k: FOLDS, classes: LABELS.length };
  const members = defs.map((def): CrossFitMember => {
    const inputs = featurizeForFamily(
      split.corpus.map((m) => m.views[def.featurizer.view ?? 'body']),
      def.featurizer,
    );
    const member = stackingMember(def, inputs, split);
    const foldModels: TrainedModel[] = [];
    const oof = outOfFold(member, rows, (f, model) => {
      foldModels[f] = model;
    });
    if (foldModels.filter(Boolean).length !== FOLDS)
      throw new Error(`${def.id}: a fold without rows to fit or predict`);
    const model = refitMember(
      member,
      rows,
      foldModels.map((m) => m.temperature),
    );
    log(
      `${def.id}: ${FOLDS} fold models, refit on ${split.fit.length} rows at T=${model.temperature.toFixed(3)} (fold T ${foldModels.map((m) => m.temperature.toFixed(2)).join(' ')})`,
    );
    return { def, inputs, model, foldModels, oof };
  });
  const all = rows.labels.map((_, i) => i);
  const metaLearner = metaOn(members, rows, all);
  const foldMetaLearners = Array.from({ length: FOLDS }, (_, f) => metaOn(members, rows, foldRows(rows.folds, f).fit));
  return { rows, members, metaLearner, foldMetaLearners, valFolds: validationFolds(split, rows) };
}

/** The fold of each validation row (split.validation order), from its place among the fit rows. */
function validationFolds(split: Pick<Split, 'fit' | 'validation'>, rows: Pick<StackingRows, 'folds'>): number[] {
  const at = new Map(split.fit.map((r, i) => [r, i]));
  return split.validation.map((r) => {
    const i = at.get(r);
    if (i === undefined) throw new Error(`validation row ${r} is not a fit row`);
    return rows.folds[i] as number;
  });
}
