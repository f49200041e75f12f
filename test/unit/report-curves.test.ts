/**
 * The report's ROC / PR data (kit operatingCurveOf) and the manifest diff (lib/ensemble diffManifests),
 * checked against counts made independently here.
 */
import { describe, expect, it } from 'vitest';
import { operatingCurveOf } from '../../functions/container/kit/report';
import { diffManifests } from '../../lib/ensemble';
import { decide, type ProbMatrix } from '../../lib/fusion';
import type { EnsembleManifest } from '../../lib/schema';
import manifestJson from '../../models/spam/manifest.json';

const spam = manifestJson as unknown as EnsembleManifest;

const matrix = (pSpam: number[]): ProbMatrix => ({
  n: pSpam.length,
  c: 2,
  data: Float64Array.from(pSpam.flatMap((p) => [1 - p, p])),
});

describe('operatingCurveOf', () => {
  const p = Array.from({ length: 500 }, (_, i) => ((i * 7919) % 1000) / 1000);
  const labels = p.map((x, i) => (x + ((i * 31) % 17) / 40 > 0.6 ? 1 : 0));

  it('puts the operating point where the served decision answers, and samples the curve', () => {
    const curve = operatingCurveOf('spam v1', spam, matrix(p), labels);
    if (!curve) throw new Error('binary manifest');
    const rule = spam.fusion.calibration?.[spam.fusion.strategy]?.decision;
    if (rule?.kind !== 'threshold') throw new Error('the zoo has a threshold decision');
    const called = p.map(
      (x) => decide([1 - x, x], { kind: 'threshold', positive: 1, threshold: rule.threshold }) === 1,
    );
    const tp = called.filter((c, i) => c && labels[i] === 1).length;
    const fp = called.filter((c, i) => c && labels[i] === 0).length;
    const positives = labels.filter((y) => y === 1).length;
    expect(curve.positive).toBe('spam');
    expect(curve.operatingPoint).toEqual({
      threshold: rule.threshold,
      tpr: tp / positives,
      fpr: fp / (labels.length - positives),
      precision: tp / (tp + fp),
    });
    expect(curve.points.length).toBeLessThanOrEqual(201);
    expect(curve.points[0]).toMatchObject({ fpr: 0, tpr: 0 });
    expect(curve.points.at(-1)).toMatchObject({ fpr: 1, tpr: 1 });
    expect(curve.rocAuc).toBeGreaterThan(0.5);
    expect(curve.rocAuc).toBeLessThanOrEqual(1);
  });

  it('uses argmax (p > 0.5) without a decision, and gives nothing for more than two classes', () => {
    const plain = { ...spam, fusion: { strategy: 'soft', temperature: 1, quorum: 1 } } as EnsembleManifest;
    expect(operatingCurveOf('x', plain, matrix(p), labels)?.operatingPoint.threshold).toBe(0.5);
    const three = { ...plain, labels: ['a', 'b', 'c'] } as EnsembleManifest;
    const m3: ProbMatrix = { n: 1, c: 3, data: Float64Array.from([0.2, 0.3, 0.5]) };
    expect(operatingCurveOf('x', three, m3, [2])).toBeNull();
  });
});

describe('diffManifests', () => {
  it('is empty for a manifest against itself, and names what changed', () => {
    const same = diffManifests(spam, spam);
    expect(same.members).toEqual({ added: [], removed: [], changed: [] });
    expect(same.weights).toEqual([]);
    expect(same.metrics).toEqual([]);
    expect(same.decision.changed).toBe(false);

    const next = structuredClone(spam);
    next.version = spam.version + 1;
    const [first] = next.members;
    if (!first) throw new Error('members');
    first.costUnits = first.costUnits + 1;
    next.fusion.quorum = 1;
    const diff = diffManifests(spam, next);
    expect(diff.members.changed).toEqual([{ id: first.id, fields: ['costUnits'] }]);
    expect(diff.decision.changed).toBe(true);
    expect(diff.decision.after.quorum).toBe(1);
    expect(diff).toMatchObject({ from: spam.version, to: next.version });
  });
});
