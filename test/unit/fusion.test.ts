import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ChorusError } from '../../lib/errors';
import {
  accuracyWeights,
  applyTemperature,
  argmax,
  ensembleSelection,
  fitTemperature,
  fuse,
  geometricPool,
  hardVote,
  normalizeWeights,
  softmax,
  softVote,
  stackingApply,
  uncertaintyOf,
} from '../../lib/fusion';
import type { MetaLearner } from '../../lib/schema';
import { selectRows } from '../../lib/train';
import { expectClose } from '../helpers/close';

const dist = (c: number) =>
  fc.array(fc.double({ min: 0.001, max: 1, noNaN: true }), { minLength: c, maxLength: c }).map((v) => {
    const s = v.reduce((a, b) => a + b, 0);
    return v.map((x) => x / s);
  });

const members = fc.integer({ min: 2, max: 5 }).chain((c) =>
  fc.integer({ min: 1, max: 6 }).chain((m) =>
    fc.record({
      probs: fc.array(dist(c), { minLength: m, maxLength: m }),
      weights: fc.array(fc.double({ min: 0.01, max: 10, noNaN: true }), { minLength: m, maxLength: m }),
    }),
  ),
);

const expectDistribution = (p: Float64Array) => {
  for (const v of p) expect(v).toBeGreaterThanOrEqual(0);
  expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
};

describe('hard vote', () => {
  it('counts one vote per member and breaks ties toward the lowest class index', () => {
    // two members vote class 2, two vote class 1: a tie, so class 1 wins (as scikit-learn)
    const probs = [
      [0.1, 0.2, 0.7],
      [0.1, 0.6, 0.3],
      [0.2, 0.2, 0.6],
      [0.3, 0.4, 0.3],
    ];
    const shares = hardVote(probs);
    expectClose(shares, [0, 0.5, 0.5]);
    expect(argmax(shares)).toBe(1);
  });

  it('weights votes: one heavy member outvotes two light ones', () => {
    const probs = [
      [0.9, 0.1],
      [0.2, 0.8],
      [0.3, 0.7],
    ];
    expect(argmax(hardVote(probs))).toBe(1);
    const shares = hardVote(probs, [3, 1, 1]);
    expectClose(shares, [0.6, 0.4]);
    expect(argmax(shares)).toBe(0);
  });

  it('a member tied inside itself votes its lowest index', () => {
    expectClose(hardVote([[0.5, 0.5]]), [1, 0]);
  });
});

describe('soft vote and geometric pooling', () => {
  it('matches hand-computed values', () => {
    const probs = [
      [0.8, 0.2],
      [0.4, 0.6],
    ];
    expectClose(softVote(probs), [0.6, 0.4]);
    expectClose(softVote(probs, [1, 3]), [0.5, 0.5]);
    // softmax(0.5·log p1 + 0.5·log p2) = normalised sqrt(p1·p2)
    const a = Math.sqrt(0.8 * 0.4);
    const b = Math.sqrt(0.2 * 0.6);
    expectClose(geometricPool(probs), [a / (a + b), b / (a + b)], 1e-12);
  });

  it('soft vote follows scikit-learn: argmax of the weighted mean of probabilities', () => {
    const probs = [
      [0.45, 0.55],
      [0.45, 0.55],
      [0.99, 0.01],
    ];
    // hard vote says class 1 (two votes), soft vote says class 0 (mean 0.63)
    expect(argmax(hardVote(probs))).toBe(1);
    expect(fuse('soft', probs).labelIndex).toBe(0);
  });

  it('geometric pooling survives a member that is certain', () => {
    const p = geometricPool([
      [1, 0],
      [0.3, 0.7],
    ]);
    expectDistribution(p);
    expect(p[0]).toBeGreaterThan(0.99);
  });
});

describe('fusion properties', () => {
  const strategies = ['soft', 'geometric', 'hard'] as const;

  it('weights are normalised: scaling all weights changes nothing', () => {
    fc.assert(
      fc.property(members, fc.double({ min: 0.1, max: 100, noNaN: true }), ({ probs, weights }, k) => {
        for (const s of strategies) {
          const a = fuse(s, probs, { weights }).probabilities;
          const b = fuse(s, probs, { weights: weights.map((w) => w * k) }).probabilities;
          expectClose(a, b, 1e-9);
        }
      }),
    );
    const w = normalizeWeights([2, 6], 2);
    expectClose(w, [0.25, 0.75]);
  });

  it('outputs are distributions', () => {
    fc.assert(
      fc.property(members, ({ probs, weights }) => {
        for (const s of strategies) expectDistribution(fuse(s, probs, { weights }).probabilities);
      }),
    );
  });

  it('permuting members together with their weights changes nothing', () => {
    fc.assert(
      fc.property(members, fc.integer(), ({ probs, weights }, seed) => {
        const order = probs.map((_, i) => i).sort((a, b) => ((a * 7919 + seed) % 13) - ((b * 7919 + seed) % 13));
        const permuted = order.map((i) => probs[i] as number[]);
        const permutedW = order.map((i) => weights[i] as number);
        for (const s of ['soft', 'geometric'] as const) {
          expectClose(
            fuse(s, probs, { weights }).probabilities,
            fuse(s, permuted, { weights: permutedW }).probabilities,
            1e-9,
          );
        }
        expect(fuse('hard', probs, { weights }).labelIndex).toBe(
          fuse('hard', permuted, { weights: permutedW }).labelIndex,
        );
      }),
    );
  });

  it('a single member fuses to itself', () => {
    fc.assert(
      fc.property(dist(3), (p) => {
        expectClose(softVote([p]), p, 1e-12);
        expectClose(geometricPool([p]), p, 1e-9);
        expect(argmax(hardVote([p]))).toBe(argmax(p));
      }),
    );
  });
});

describe('stacking', () => {
  const meta: MetaLearner = {
    kind: 'logistic',
    members: ['a', 'b'],
    coef: [
      [1, 0, 2, 0],
      [0, 1, 0, 2],
    ],
    intercept: [0, 0.5],
  };
  it('applies a multinomial logistic regression to the concatenated probabilities', () => {
    const probs = [
      [0.7, 0.3],
      [0.2, 0.8],
    ];
    // z0 = 0.7 + 2·0.2 = 1.1; z1 = 0.5 + 0.3 + 2·0.8 = 2.4
    expectClose(stackingApply(probs, meta), softmax([1.1, 2.4]), 1e-12);
  });
  it('rejects a meta-learner of another shape', () => {
    expect(() => stackingApply([[0.5, 0.5]], meta)).toThrow(/expects 2 members/);
    expect(() => fuse('stacking', [[0.5, 0.5]])).toThrow(ChorusError);
  });
});

describe('fitted weights', () => {
  it('accuracy weights are proportional to accuracy', () => {
    expectClose(accuracyWeights([0.9, 0.6, 0.9]), [0.375, 0.25, 0.375]);
  });

  it('ensemble selection picks the best member first and adds with replacement', () => {
    const labels = [0, 1, 0, 1];
    const good = { n: 4, c: 2, data: Float64Array.from([0.9, 0.1, 0.2, 0.8, 0.8, 0.2, 0.3, 0.7]) };
    const bad = { n: 4, c: 2, data: Float64Array.from([0.4, 0.6, 0.6, 0.4, 0.5, 0.5, 0.5, 0.5]) };
    const r = ensembleSelection([bad, good], labels, { rounds: 4 });
    expect(r.path[0]).toBe(1);
    expect(r.weights.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(r.weights[1]).toBeGreaterThan(r.weights[0] as number);
    for (let i = 1; i < r.losses.length; i++) expect(r.losses[i]).toBeLessThanOrEqual((r.losses[0] as number) + 1e-12);
  });
});

describe('temperature scaling', () => {
  it('T = 1 is the identity, T > 1 softens', () => {
    expectClose(applyTemperature([0.2, 0.8], 1), [0.2, 0.8], 1e-12);
    const soft = applyTemperature([0.2, 0.8], 2);
    expect(soft[1]).toBeLessThan(0.8);
    expect(soft[1]).toBeGreaterThan(0.5);
  });

  it('recovers the temperature that generated overconfident predictions', () => {
    // labels drawn so that softmax(z) is calibrated; the model reports softmax(2z)
    const n = 2000;
    const data = new Float64Array(n * 2);
    const labels: number[] = [];
    let seed = 1;
    const rand = () => {
      seed = (seed * 16807) % 2147483647;
      return seed / 2147483647;
    };
    for (let i = 0; i < n; i++) {
      const z = (rand() - 0.5) * 4;
      const calibrated = softmax([0, z]);
      labels.push(rand() < (calibrated[1] as number) ? 1 : 0);
      data.set(softmax([0, 2 * z]), i * 2);
    }
    expect(fitTemperature({ n, c: 2, data }, labels)).toBeCloseTo(2, 0);
  });

  it('leaves out rows answered by the prior, which no temperature touches', () => {
    // half the rows: sharp answers that are right (T well below 1 would fit them); the other half:
    // the prior 0.7/0.3 on spam, flagged, which alone would pull T up to flatten everything
    const n = 400;
    const data = new Float64Array(n * 2);
    const labels: number[] = [];
    const abstained = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const prior = i % 2 === 1;
      const y = i % 4 < 2 ? 1 : 0;
      labels.push(prior ? 1 : y);
      data.set(prior ? [0.7, 0.3] : y ? [0.2, 0.8] : [0.8, 0.2], i * 2);
      abstained[i] = prior ? 1 : 0;
    }
    const answered = Array.from({ length: n / 2 }, (_, k) => 2 * k);
    const alone = fitTemperature(
      selectRows({ n, c: 2, data }, answered),
      answered.map((i) => labels[i] as number),
    );
    expect(fitTemperature({ n, c: 2, data, abstained }, labels)).toBeCloseTo(alone, 9);
    expect(alone).toBeLessThan(0.5);
    expect(fitTemperature({ n, c: 2, data, abstained: new Uint8Array(n).fill(1) }, labels)).toBe(1);
  });
});

describe('uncertainty', () => {
  it('reports entropy, margin and the share of dissenting members', () => {
    const members = [
      [0.9, 0.1],
      [0.8, 0.2],
      [0.3, 0.7],
    ];
    const fused = softVote(members);
    const u = uncertaintyOf(fused, members);
    expect(u.disagreement).toBeCloseTo(1 / 3, 12);
    expect(u.margin).toBeCloseTo((fused[0] as number) - (fused[1] as number), 12);
    expect(u.entropy).toBeCloseTo(
      -(fused[0] as number) * Math.log(fused[0] as number) - (fused[1] as number) * Math.log(fused[1] as number),
      12,
    );
  });
});

describe('bad input raises typed errors', () => {
  const cases: [string, () => unknown, string][] = [
    ['empty member list', () => softVote([]), 'empty_members'],
    [
      'mismatched class counts',
      () =>
        softVote([
          [0.5, 0.5],
          [0.2, 0.3, 0.5],
        ]),
      'shape_mismatch',
    ],
    ['NaN probability', () => geometricPool([[Number.NaN, 1]]), 'not_finite'],
    ['not a distribution', () => hardVote([[0.5, 0.7]]), 'invalid_argument'],
    ['weights of wrong length', () => softVote([[0.5, 0.5]], [1, 2]), 'invalid_weights'],
    [
      'negative weight',
      () =>
        softVote(
          [
            [0.5, 0.5],
            [0.1, 0.9],
          ],
          [1, -1],
        ),
      'invalid_weights',
    ],
    ['all-zero weights', () => softVote([[0.5, 0.5]], [0]), 'invalid_weights'],
    ['unknown strategy', () => fuse('median' as 'soft', [[0.5, 0.5]]), 'unknown_strategy'],
    ['bad temperature', () => applyTemperature([0.5, 0.5], 0), 'invalid_argument'],
    ['accuracy out of range', () => accuracyWeights([1.2]), 'invalid_argument'],
    ['no accuracies', () => accuracyWeights([]), 'empty_members'],
    ['selection without members', () => ensembleSelection([], [0]), 'empty_members'],
    [
      'labels of wrong length',
      () => fitTemperature({ n: 1, c: 2, data: Float64Array.from([0.5, 0.5]) }, [0, 1]),
      'shape_mismatch',
    ],
    ['softmax of Infinity', () => softmax([1, Number.POSITIVE_INFINITY]), 'not_finite'],
  ];
  it.each(cases)('%s', (_name, call, code) => {
    try {
      call();
    } catch (e) {
      expect(e).toBeInstanceOf(ChorusError);
      expect((e as ChorusError).code).toBe(code);
      expect((e as ChorusError).message.length).toBeGreaterThan(5);
      return;
    }
    throw new Error('expected a ChorusError');
  });
});
