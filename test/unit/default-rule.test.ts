import { describe, expect, it } from 'vitest';
import type { ClassificationMetrics } from '../../lib/schema';
import { chooseDefault, rowCost } from '../../models/steps/default-rule';

const metrics = { validation: { accuracy: 0.97, logLoss: 0.05, falsePositiveRate: 0.002 } as ClassificationMetrics };

/** n messages, `costly` of them with a missed spam in every row (cost 1), the rest right. */
const costs = (n: number, costly: number) => Float64Array.from({ length: n }, (_, i) => (i < costly ? 1 : 0));

const candidate = (name: string, fittedParameters: number, messageCosts: Float64Array) => ({
  cand: name,
  name,
  fittedParameters,
  metrics,
  messageCosts,
});

describe('the default rule (one standard error, then the fewest fitted parameters)', () => {
  it('serves the plain average when a fitted fusion is better by less than one standard error', () => {
    // 1000 messages: 60 vs 55 wrong; SE of 5.5 % over 1000 is about 0.7 %, the gap 0.5 %
    const { chosen, choice } = chooseDefault([
      candidate('soft vote', 0, costs(1000, 60)),
      candidate('stacking', 11, costs(1000, 55)),
    ]);
    expect(chosen).toBe('soft vote');
    const stacking = choice.find((c) => c.name === 'stacking');
    expect(stacking?.cost).toBeCloseTo(0.055, 6);
    expect(stacking?.costSe).toBeGreaterThan(0.005);
  });

  it('serves the fitted fusion when it is better by more than one standard error', () => {
    const { chosen } = chooseDefault([
      candidate('soft vote', 0, costs(1000, 80)),
      candidate('stacking', 11, costs(1000, 55)),
    ]);
    expect(chosen).toBe('stacking');
  });

  it('within the band the first in order of preference is served, outside it the next', () => {
    const near = chooseDefault([
      candidate('soft vote', 0, costs(1000, 58)),
      candidate('geometric', 0, costs(1000, 56)),
      candidate('stacking', 11, costs(1000, 55)),
    ]);
    expect(near.chosen).toBe('soft vote');
    const far = chooseDefault([
      candidate('soft vote', 0, costs(1000, 80)),
      candidate('geometric', 0, costs(1000, 56)),
      candidate('stacking', 11, costs(1000, 55)),
    ]);
    expect(far.chosen).toBe('geometric');
  });

  it('a ham called spam costs nine missed spams', () => {
    expect(rowCost(0, 1)).toBe(9);
    expect(rowCost(1, 0)).toBe(1);
    expect(rowCost(1, 1)).toBe(0);
  });
});
