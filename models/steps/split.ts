import type { ProbMatrix } from '../../lib/fusion';
import { selectRows } from '../../lib/train';
import type { CorpusMessage } from '../corpus';

/** The corpus and its fixed split, as every build step sees it. */
export interface Split {
  corpus: CorpusMessage[];
  /** corpus indices per split */
  train: number[];
  validation: number[];
  test: number[];
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
  const where = (split: CorpusMessage['split']) => corpus.flatMap((m, i) => (m.split === split ? [i] : []));
  const train = where('train');
  const validation = where('validation');
  const test = where('test');
  const scored = [...validation, ...test];
  const testPos = test.map((_, i) => validation.length + i);
  const yOf = (rows: readonly number[]) => rows.map((r) => (corpus[r] as CorpusMessage).label);
  return {
    corpus,
    train,
    validation,
    test,
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
