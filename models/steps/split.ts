import type { ProbMatrix } from '../../lib/fusion';
import { selectRows } from '../../lib/train';
import type { CorpusMessage } from '../corpus';

/** The corpus and its fixed split, as every build step sees it. */
export interface Split {
  corpus: CorpusMessage[];
  /** corpus indices per split; train includes its augmented copies, validation and test do not */
  train: number[];
  validation: number[];
  test: number[];
  /** the rows every served member is fitted on: train and validation with their augmented copies */
  fit: number[];
  /** rows the exported models are scored on: validation then test, in that order */
  scored: number[];
  /** positions within `scored` */
  valPos: number[];
  testPos: number[];
  testHardHam: number[];
  yOf(rows: readonly number[]): number[];
  yVal: number[];
  yScored: number[];
}

export function splitCorpus(corpus: CorpusMessage[]): Split {
  const where = (keep: (m: CorpusMessage) => boolean) => corpus.flatMap((m, i) => (keep(m) ? [i] : []));
  const train = where((m) => m.split === 'train');
  const validation = where((m) => m.split === 'validation' && !m.augmented);
  const test = where((m) => m.split === 'test' && !m.augmented);
  const fit = where((m) => m.split !== 'test');
  const scored = [...validation, ...test];
  const testPos = test.map((_, i) => validation.length + i);
  const yOf = (rows: readonly number[]) => rows.map((r) => (corpus[r] as CorpusMessage).label);
  return {
    corpus,
    train,
    validation,
    test,
    fit,
    scored,
    valPos: validation.map((_, i) => i),
    testPos,
    testHardHam: testPos.filter((p) => (corpus[scored[p] as number] as CorpusMessage).group === 'hard-ham-1'),
    yOf,
    yVal: yOf(validation),
    yScored: yOf(scored),
  };
}

/** Validation rows of a matrix over the scored rows. */
export const valOf = (s: Split, m: ProbMatrix): ProbMatrix => selectRows(m, s.valPos);
