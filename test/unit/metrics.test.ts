import { describe, expect, it } from 'vitest';
import { ChorusError } from '../../lib/errors';
import {
  accuracy,
  classificationMetrics,
  expectedCalibrationError,
  falsePositiveRate,
  macroF1,
  selectRows,
} from '../../lib/train';

// Four examples, two classes. Predictions: [0, 1, 1, 0]; labels: [0, 1, 0, 0].
const probs = { n: 4, c: 2, data: Float64Array.from([0.9, 0.1, 0.3, 0.7, 0.4, 0.6, 0.8, 0.2]) };
const labels = [0, 1, 0, 0];

describe('metrics on hand-computed cases', () => {
  it('accuracy', () => {
    expect(accuracy(probs, labels)).toBe(0.75);
  });

  it('macro-F1 averages per-class F1', () => {
    // class 0: tp 2, fp 0, fn 1 → F1 = 4/5; class 1: tp 1, fp 1, fn 0 → F1 = 2/3
    expect(macroF1(probs, labels)).toBeCloseTo((0.8 + 2 / 3) / 2, 12);
  });

  it('macro-F1 on a one-class slice averages only the classes present (as scikit-learn)', () => {
    const allRight = { n: 2, c: 2, data: Float64Array.from([0.9, 0.1, 0.8, 0.2]) };
    expect(macroF1(allRight, [0, 0])).toBe(1);
  });

  it('log-loss is the mean negative log-likelihood of the true class', () => {
    const expected = -(Math.log(0.9) + Math.log(0.7) + Math.log(0.4) + Math.log(0.8)) / 4;
    expect(classificationMetrics(probs, labels).logLoss).toBeCloseTo(expected, 12);
  });

  it('ECE weighs |accuracy − confidence| per bin', () => {
    // confidences 0.9, 0.7, 0.6, 0.8 fall in four different bins of 15; hits 1, 1, 0, 1
    const expected = (Math.abs(1 - 0.9) + Math.abs(1 - 0.7) + Math.abs(0 - 0.6) + Math.abs(1 - 0.8)) / 4;
    expect(expectedCalibrationError(probs, labels)).toBeCloseTo(expected, 12);
    // one bin: |3/4 - mean confidence|
    expect(expectedCalibrationError(probs, labels, 1)).toBeCloseTo(Math.abs(0.75 - 0.75), 12);
  });

  it('false-positive rate counts negatives flagged positive', () => {
    expect(falsePositiveRate(probs, labels, 0)).toBeCloseTo(1 / 3, 12);
    expect(falsePositiveRate(selectRows(probs, [1]), [1], 0)).toBeUndefined();
  });

  it('bad input raises typed errors', () => {
    expect(() => accuracy(probs, [0, 1])).toThrow(ChorusError);
    expect(() => accuracy(probs, [0, 1, 2, 0])).toThrow(/label 2 is 2/);
    expect(() => macroF1({ n: 1, c: 2, data: Float64Array.from([Number.NaN, 1]) }, [0])).toThrow(/NaN/);
    expect(() => expectedCalibrationError(probs, labels, 0)).toThrow(/bins/);
    expect(() => selectRows(probs, [9])).toThrow(/out of range/);
    expect(() => accuracy({ n: 2, c: 2, data: new Float64Array(3) }, [0, 0])).toThrow(/2×2 holds 3/);
  });
});
