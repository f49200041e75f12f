import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  BatchLineSchema,
  EnsembleManifestSchema,
  FeaturizerSpecSchema,
  MAX_RECORD_KEYS,
  MAX_REQUEST_FIELDS,
  MetricsReportSchema,
  PredictRequestSchema,
} from '../../lib/schema';

const manifest = JSON.parse(readFileSync('models/spam/manifest.json', 'utf8')) as Record<string, unknown>;
const clone = () => structuredClone(manifest) as Record<string, unknown> & { members: Record<string, unknown>[] };

describe('ensemble manifest', () => {
  it('the committed spam manifest is valid', () => {
    const m = EnsembleManifestSchema.parse(manifest);
    expect(m.labels).toEqual(['ham', 'spam']);
    expect(m.members.length).toBeGreaterThanOrEqual(4);
  });

  it('rejects unknown fields, duplicate members, undeclared input fields and stray weights', () => {
    const extra = { ...clone(), colour: 'blue' };
    expect(EnsembleManifestSchema.safeParse(extra).success).toBe(false);

    const dup = clone();
    dup.members.push(dup.members[0] as Record<string, unknown>);
    expect(EnsembleManifestSchema.safeParse(dup).error?.issues.map((i) => i.message)).toContain('duplicate member id');

    const field = clone();
    (field.members[0] as { featurizer: { field: string } }).featurizer.field = 'subject';
    expect(JSON.stringify(EnsembleManifestSchema.safeParse(field).error?.issues)).toContain(
      "field 'subject' is not declared",
    );
    for (const inherited of ['toString', 'constructor']) {
      (field.members[0] as { featurizer: { field: string } }).featurizer.field = inherited;
      expect(JSON.stringify(EnsembleManifestSchema.safeParse(field).error?.issues)).toContain(
        `field '${inherited}' is not declared`,
      );
    }
    const wrongType = clone();
    (wrongType.members[0] as { featurizer: Record<string, unknown> }).featurizer = { kind: 'tensor', field: 'message' };
    expect(JSON.stringify(EnsembleManifestSchema.safeParse(wrongType).error?.issues)).toContain(
      "the tensor featurizer cannot read field 'message', a text field",
    );

    const weights = clone();
    (weights.fusion as { weights?: Record<string, number> }).weights = { nobody: 1 };
    expect(EnsembleManifestSchema.safeParse(weights).success).toBe(false);
  });

  it('rejects a bad sha256, a quorum above the member count and stacking without a meta-learner', () => {
    const sha = clone();
    (sha.members[0] as { model: { sha256: string } }).model.sha256 = 'XYZ';
    expect(EnsembleManifestSchema.safeParse(sha).success).toBe(false);

    const quorum = clone();
    (quorum.fusion as { quorum: number }).quorum = 99;
    expect(EnsembleManifestSchema.safeParse(quorum).success).toBe(false);
    const minAnswering = clone();
    (minAnswering.fusion as { minAnswering: number }).minAnswering = 99;
    expect(EnsembleManifestSchema.safeParse(minAnswering).success).toBe(false);
    const requireAnyOf = clone();
    (requireAnyOf.fusion as { requireAnyOf: string[] }).requireAnyOf = ['no-such-member'];
    const refused = EnsembleManifestSchema.safeParse(requireAnyOf);
    expect(refused.success).toBe(false);
    expect(refused.error?.issues[0]?.path).toEqual(['fusion', 'requireAnyOf', 0]);

    const stacking = clone();
    (stacking.fusion as Record<string, unknown>).strategy = 'stacking';
    delete (stacking.fusion as Record<string, unknown>).metaLearner;
    expect(EnsembleManifestSchema.safeParse(stacking).success).toBe(false);
  });

  it('featurizers: ids need maxIds, ngram ranges must be ordered', () => {
    const base = { kind: 'hashed-ngrams', field: 'm', unit: 'char', buckets: 16, seed: 1, maxLength: 10 };
    expect(FeaturizerSpecSchema.safeParse({ ...base, ngram: [3, 5], output: 'ids' }).success).toBe(false);
    expect(FeaturizerSpecSchema.safeParse({ ...base, ngram: [5, 3], output: 'counts' }).success).toBe(false);
    expect(FeaturizerSpecSchema.safeParse({ ...base, ngram: [3, 5], output: 'ids', maxIds: 8 }).success).toBe(true);
    // a sparse layout carries counts or log-l2 values; ids are already sparse
    const sparse = { ...base, ngram: [3, 5], layout: 'sparse' };
    expect(FeaturizerSpecSchema.safeParse({ ...sparse, output: 'log-l2' }).success).toBe(true);
    expect(FeaturizerSpecSchema.safeParse({ ...sparse, output: 'ids', maxIds: 8 }).success).toBe(false);
    expect(FeaturizerSpecSchema.safeParse({ ...sparse, output: 'counts', layout: 'coo' }).success).toBe(false);
  });

  it('a sparse featurizer makes ids and values, and a member may map only those', () => {
    const manifest = JSON.parse(readFileSync('models/spam/manifest.json', 'utf8'));
    const sparse = manifest.members.find((m: { featurizer: { layout?: string } }) => m.featurizer.layout === 'sparse');
    expect(sparse.inputs).toEqual({ ids: 'ids', values: 'values' });
    expect(EnsembleManifestSchema.safeParse(manifest).success).toBe(true);
    sparse.inputs = { ids: 'ids', values: 'features' };
    const bad = EnsembleManifestSchema.safeParse(manifest);
    expect(bad.success).toBe(false);
    expect(JSON.stringify(bad.error?.issues)).toMatch(/makes no 'features' \(it makes ids, values\)/);
    // one inputName feeds 'features', which a sparse featurizer does not make
    sparse.inputs = undefined;
    sparse.inputName = 'features';
    const named = EnsembleManifestSchema.safeParse(manifest);
    expect(named.error?.issues.map((i) => i.path.join('.'))).toEqual([
      `members.${manifest.members.indexOf(sparse)}.inputName`,
    ]);
    expect(named.error?.issues[0]?.message).toMatch(/does not make \(it makes ids, values\): map each with inputs/);
  });
});

describe('predict request', () => {
  it('accepts text and tensor fields and rejects non-finite numbers and unknown keys', () => {
    expect(PredictRequestSchema.parse({ inputs: [{ message: 'hi' }] }).return_members).toBe(false);
    expect(
      PredictRequestSchema.safeParse({ inputs: [{ x: { dtype: 'float32', shape: [2], data: [1, Number.NaN] } }] })
        .success,
    ).toBe(false);
    expect(PredictRequestSchema.safeParse({ inputs: [{ message: 'hi' }], strategy: 'median' }).success).toBe(false);
    expect(PredictRequestSchema.safeParse({ inputs: [], extra: 1 }).success).toBe(false);
  });

  // zod builds an issue per bad entry: a 1 MiB body of such entries cost 0.4–0.6 s of CPU to refuse
  it('refuses an input of too many fields, or tensor data with a bad entry, at the first problem', () => {
    const fields = (n: number, value: unknown) =>
      Object.fromEntries(Array.from({ length: n }, (_, i) => [`f${i}`, value]));
    const wide = PredictRequestSchema.safeParse({ inputs: [fields(120_000, 0)] });
    expect(wide.error?.issues.map((i) => i.message)).toEqual([`more than ${MAX_REQUEST_FIELDS} fields in all`]);
    const line = BatchLineSchema.safeParse({ input: fields(120_000, 0) });
    expect(line.error?.issues.map((i) => i.message)).toEqual([`more than ${MAX_RECORD_KEYS} names`]);
    expect(PredictRequestSchema.safeParse({ inputs: [fields(MAX_RECORD_KEYS, 'x')] }).success).toBe(true);
    const data = Array.from({ length: 200_000 }, () => 'a');
    const tensor = PredictRequestSchema.safeParse({ inputs: [{ x: { dtype: 'float32', shape: [200_000], data } }] });
    expect(tensor.success).toBe(false);
    expect(JSON.stringify(tensor.error?.issues).length).toBeLessThan(2_000);
    // the cap on one input's names is not the whole bound: 64 inputs share one of fields in all
    const spread = PredictRequestSchema.safeParse({ inputs: Array.from({ length: 64 }, () => fields(1024, 1)) });
    expect(spread.error?.issues.map((i) => i.message)).toEqual([`more than ${MAX_REQUEST_FIELDS} fields in all`]);
    const many = PredictRequestSchema.safeParse({ inputs: Array.from({ length: 16 }, () => fields(64, 'x')) });
    expect(many.success).toBe(true);
    const ok = { dtype: 'float32', shape: [3], data: [1, 2.5, -3] };
    expect(PredictRequestSchema.safeParse({ inputs: [{ x: ok }] }).success).toBe(true);
  });
});

describe('metrics report', () => {
  it('models/METRICS.json is valid and covers members, every fusion strategy and every slice', () => {
    const report = MetricsReportSchema.parse(JSON.parse(readFileSync('models/METRICS.json', 'utf8')));
    const names = report.rows.map((r) => r.name);
    for (const n of ['hard vote', 'soft vote', 'soft, accuracy weights', 'soft, ensemble selection', 'geometric']) {
      expect(names).toContain(n);
    }
    expect(report.rows.some((r) => r.kind === 'stacking')).toBe(true);
    const robustness = Object.keys(report.slices ?? {});
    expect(robustness.length).toBeGreaterThanOrEqual(6);
    for (const r of report.rows) {
      expect(Object.keys(r.slices)).toEqual(expect.arrayContaining(['test', 'test/hard-ham']));
      expect(r.threshold).toBeGreaterThanOrEqual(0.5);
      // the served variant is measured on every robustness slice, of validation and of test
      if (r.variant === 'int8')
        for (const s of robustness)
          expect(Object.keys(r.slices)).toEqual(expect.arrayContaining([`test/${s}`, `validation/${s}`]));
    }
    expect(report.default?.curve.length).toBeGreaterThan(10);
    expect(report.rows.some((r) => r.name.startsWith('default answer'))).toBe(true);
    // The issue's bar: the best fusion beats the best single member on test log-loss.
    const loss = (k: (kind: string) => boolean) =>
      Math.min(...report.rows.filter((r) => k(r.kind)).map((r) => r.slices.test?.logLoss ?? Number.POSITIVE_INFINITY));
    expect(loss((k) => k !== 'member')).toBeLessThan(loss((k) => k === 'member'));
  });
});
