import { abstainsOn } from '../../lib/ensemble';
import type { ProbMatrix } from '../../lib/fusion';
import type { MetaLearner } from '../../lib/schema';
import {
  type FamilyInputs,
  groupedFolds,
  type StackingMember,
  selectRows,
  stackMembers,
  subsetInputs,
} from '../../lib/train';
import { type CorpusMessage, LABELS } from '../corpus';
import type { MemberDefinition } from '../zoo';
import type { Split } from './split';

export const FOLDS = 5;

/**
 * The zoo's stacking step: every member retrained on 5 folds of train grouped by near-duplicate
 * key (on the rows where it answers; temperature on the fold it predicts), then the shared
 * meta-learner over the out-of-fold log-odds and abstentions — the lib/train recipe the `stack`
 * job runs.
 */
export async function stackZoo(
  split: Pick<Split, 'corpus' | 'train' | 'yOf'>,
  members: readonly { def: MemberDefinition; inputs: FamilyInputs }[],
  log: (...a: unknown[]) => void = () => undefined,
  frozen: readonly StackingMember[] = [],
): Promise<MetaLearner> {
  const { corpus, train } = split;
  const folds = groupedFolds(
    train.map((r) => (corpus[r] as CorpusMessage).dupKey),
    FOLDS,
  );
  const stacking: StackingMember[] = members.map(({ def, inputs }) => ({
    kind: 'retrain',
    id: def.id,
    family: def.family,
    featurizer: def.featurizer,
    options: def.options,
    inputs: subsetInputs(inputs, train),
    abstained: Uint8Array.from(train, (r) =>
      abstainsOn(def, (corpus[r] as CorpusMessage).views[def.featurizer.view ?? 'body']) ? 1 : 0,
    ),
  }));
  stacking.push(...frozen);
  const { metaLearner } = await stackMembers(
    stacking,
    { labels: split.yOf(train), folds, k: FOLDS, classes: LABELS.length },
    (m, i) => log(`stacking ${m.id} (${i + 1}/${stacking.length}), ${FOLDS} folds`),
  );
  return metaLearner;
}

/**
 * Stacking when a member cannot be retrained per fold (one brought as ONNX, fitted on train): its
 * answers on train are in-sample, so no meta-learner may learn from them. Instead every member is
 * taken as served (frozen) on the validation rows, which none was fitted on, and the shared
 * meta-learner is fitted there, its L2 chosen by grouped 5-fold log-loss over validation. `cv` is
 * the meta-learner's own out-of-fold answers on validation. Test is never read.
 */
export async function stackOnValidation(
  split: Pick<Split, 'corpus' | 'scored' | 'valPos' | 'yVal'>,
  members: readonly { id: string; probs: ProbMatrix }[],
  log: (...a: unknown[]) => void = () => undefined,
): Promise<{ metaLearner: MetaLearner; cv: ProbMatrix }> {
  const { corpus, scored, valPos } = split;
  const folds = groupedFolds(
    valPos.map((p) => (corpus[scored[p] as number] as CorpusMessage).dupKey),
    FOLDS,
  );
  const stacking: StackingMember[] = members.map((m) => ({
    kind: 'frozen',
    id: m.id,
    probs: selectRows(m.probs, valPos),
  }));
  log(`stacking ${members.length} served members on validation (${FOLDS} grouped folds)`);
  const { metaLearner, cv } = await stackMembers(stacking, {
    labels: split.yVal,
    folds,
    k: FOLDS,
    classes: LABELS.length,
  });
  return { metaLearner, cv };
}
