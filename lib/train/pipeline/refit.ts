import { ChorusError } from '../../errors';
import { subsetInputs, trainFamily } from '../fit';
import type { TrainedModel } from '../model';
import type { StackingMember, StackingRows } from './stacking';

type Retrained = Extract<StackingMember, { kind: 'retrain' }>;

/** A refit's temperature: the geometric mean of its fold models' held-fold temperatures. */
export function servingTemperature(foldTemperatures: readonly number[]): number {
  if (foldTemperatures.length === 0) throw new ChorusError('invalid_argument', 'no fold temperature to serve with');
  return Math.fround(Math.exp(foldTemperatures.reduce((s, t) => s + Math.log(t), 0) / foldTemperatures.length));
}

/**
 * The model a stacked ensemble serves for a member it retrained: the same family, featurizer and
 * options fitted on every train row where the member answers — the rows whose out-of-fold
 * predictions the meta-learner was fitted on, so the served model is the one those predictions
 * stand in for (the textbook recipe: out-of-fold for the meta-learner, refit for serving).
 *
 * Its temperature is the geometric mean of the fold models' temperatures, each fitted on the fold
 * that model never saw: no row is both trained on and calibrated on, and the validation split the
 * job reports and gates on is not read.
 */
export function refitMember(member: Retrained, rows: StackingRows, foldTemperatures: readonly number[]): TrainedModel {
  const answers = rows.labels.map((_, i) => i).filter((i) => !member.abstained?.[i]);
  if (answers.length === 0) throw new ChorusError('invalid_argument', `${member.id} answers no train row`);
  const temperature = servingTemperature(foldTemperatures);
  const model = trainFamily(
    member.family,
    member.featurizer,
    subsetInputs(member.inputs, answers),
    answers.map((i) => rows.labels[i] as number),
    rows.classes,
    member.options,
  );
  model.temperature = temperature;
  return model;
}
