import { type FuseOptions, fuseRows, type ProbMatrix } from '../../lib/fusion';
import type { MetaLearner } from '../../lib/schema';
import { foldRows, groupedFolds, type StackingMember, selectRows, stackMembers } from '../../lib/train';
import { type CorpusMessage, LABELS } from '../corpus';
import { FOLDS } from './crossfit';
import type { SliceName } from './slices';
import type { Split } from './split';

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
  const crossFitted = crossFittedStacking(
    { metaLearner, foldMetaLearners: perFold, valFolds: folds, valPos },
    members.map((m) => m.probs),
    sliceProbs,
    shared,
  );
  return { metaLearner, crossFitted };
}

/**
 * Stacking's answers over the scored rows with no validation row answered in-sample: validation
 * row i by the meta-learner of its fold (`foldMetaLearners[valFolds[i]]`, fitted without it),
 * every other row by the served `metaLearner`. The same holds for each robustness slice.
 */
export function crossFittedStacking(
  fitted: {
    metaLearner: MetaLearner;
    foldMetaLearners: readonly MetaLearner[];
    /** fold of each validation row, in `valPos` order */
    valFolds: readonly number[];
    valPos: readonly number[];
  },
  base: readonly ProbMatrix[],
  sliceProbs: Partial<Record<SliceName, readonly ProbMatrix[]>>,
  shared: Pick<FuseOptions, 'prior' | 'minAnswering' | 'requireAnyOf'>,
): CrossFitted {
  const { metaLearner, foldMetaLearners, valFolds, valPos } = fitted;
  // `abstained` of the result marks rows where every member abstained (the prior, which no temperature touches)
  const fused = (ms: readonly ProbMatrix[]): ProbMatrix => {
    const all = fuseRows('stacking', ms, { ...shared, metaLearner });
    const out = { ...all.probs, abstained: all.abstainedAll };
    foldMetaLearners.forEach((m, f) => {
      const held = foldRows(valFolds, f).held.map((i) => valPos[i] as number);
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
  return (slice) => {
    const key = slice ?? 'base';
    let p = cache.get(key);
    if (!p) {
      const ms = slice === undefined ? base : sliceProbs[slice];
      if (!ms) throw new Error(`no member answers for slice ${slice}`);
      p = fused(ms);
      cache.set(key, p);
    }
    return p;
  };
}
