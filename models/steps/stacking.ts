import { abstainsOn } from '../../lib/ensemble';
import { type FuseOptions, fuseRows, type ProbMatrix } from '../../lib/fusion';
import type { MetaLearner } from '../../lib/schema';
import {
  type FamilyInputs,
  foldRows,
  groupedFolds,
  type StackingMember,
  selectRows,
  stackMembers,
  subsetInputs,
} from '../../lib/train';
import { type CorpusMessage, LABELS } from '../corpus';
import type { MemberDefinition } from '../zoo';
import type { SliceName } from './slices';
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
  const { metaLearner } = await stackMembers(
    stacking,
    { labels: split.yOf(train), folds, k: FOLDS, classes: LABELS.length },
    (m, i) => log(`stacking ${m.id} (${i + 1}/${stacking.length}), ${FOLDS} folds`),
  );
  return metaLearner;
}

/** Fused stacking probabilities (temperature 1) over the scored rows, for the base rows or one slice. */
export type CrossFitted = (slice?: SliceName) => ProbMatrix;

/**
 * Stacking when a member cannot be retrained per fold (one brought as ONNX, fitted on train): its
 * answers on train are in-sample, so no meta-learner may learn from them. Instead every member is
 * taken as served (frozen) on the validation rows, which none was fitted on, and the shared
 * meta-learner is fitted there, its L2 chosen by grouped 5-fold log-loss over validation. Test is
 * never read.
 *
 * Because validation is then the meta-learner's training data, the figures that are fitted or
 * chosen on validation (temperature, operating point, the default) must not read its in-sample
 * answers: `crossFitted` answers each validation row, and the same message in every robustness
 * slice, with a meta-learner fitted (the whole recipe, L2 search included) on the other four
 * grouped folds; test rows get the meta-learner fitted on all of validation.
 */
export async function stackOnValidation(
  split: Pick<Split, 'corpus' | 'scored' | 'valPos' | 'yVal'>,
  members: readonly { id: string; probs: ProbMatrix }[],
  sliceProbs: Partial<Record<SliceName, readonly ProbMatrix[]>>,
  log: (...a: unknown[]) => void = () => undefined,
  /** the served fusion's prior and fewest answering members */
  shared: Pick<FuseOptions, 'prior' | 'minAnswering' | 'requireAnyOf'> = {},
): Promise<{ metaLearner: MetaLearner; crossFitted: CrossFitted }> {
  const { corpus, scored, valPos } = split;
  const keys = valPos.map((p) => (corpus[scored[p] as number] as CorpusMessage).dupKey);
  const folds = groupedFolds(keys, FOLDS);
  const frozenOn = (rows: readonly number[]) =>
    members.map((m): StackingMember => ({ kind: 'frozen', id: m.id, probs: selectRows(m.probs, rows) }));
  log(`stacking ${members.length} served members on validation (${FOLDS} grouped folds, cross-fitted)`);
  const { metaLearner } = await stackMembers(frozenOn(valPos), {
    labels: split.yVal,
    folds,
    k: FOLDS,
    classes: LABELS.length,
  });
  // One meta-learner per fold, fitted on the validation rows outside it (their folds regrouped).
  const perFold: MetaLearner[] = [];
  for (let f = 0; f < FOLDS; f++) {
    const fit = foldRows(folds, f).fit;
    const rows = fit.map((i) => valPos[i] as number);
    const { metaLearner: m } = await stackMembers(frozenOn(rows), {
      labels: fit.map((i) => split.yVal[i] as number),
      folds: groupedFolds(
        fit.map((i) => keys[i] as string),
        FOLDS,
      ),
      k: FOLDS,
      classes: LABELS.length,
    });
    perFold.push(m);
  }
  // `abstained` of the result marks rows where every member abstained (the prior, which no temperature touches)
  const fused = (ms: readonly ProbMatrix[]): ProbMatrix => {
    const all = fuseRows('stacking', ms, { ...shared, metaLearner });
    const out = { ...all.probs, abstained: all.abstainedAll };
    perFold.forEach((m, f) => {
      const held = foldRows(folds, f).held.map((i) => valPos[i] as number);
      const { probs: p, abstainedAll } = fuseRows(
        'stacking',
        ms.map((x) => selectRows(x, held)),
        { ...shared, metaLearner: m },
      );
      held.forEach((r, j) => {
        out.data.set(p.data.subarray(j * p.c, (j + 1) * p.c), r * p.c);
        out.abstained[r] = abstainedAll[j] as number;
      });
    });
    return out;
  };
  const cache = new Map<SliceName | 'base', ProbMatrix>();
  const crossFitted: CrossFitted = (slice) => {
    const key = slice ?? 'base';
    let p = cache.get(key);
    if (!p) {
      const ms = slice === undefined ? members.map((m) => m.probs) : sliceProbs[slice];
      if (!ms) throw new Error(`no member answers for slice ${slice}`);
      p = fused(ms);
      cache.set(key, p);
    }
    return p;
  };
  return { metaLearner, crossFitted };
}
