/**
 * Hostile and broken input at the library boundary: keys confined to their prefix, manifests
 * bounded and checked against their graphs, inputs checked per dtype with every offender named.
 */
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { run as runDistill } from '../../functions/container/jobs/distill';
import {
  checkManifestGraphs,
  type InferenceBackend,
  memberGraphProblems,
  SessionCache,
  validateInputs,
  wrapOrtSession,
} from '../../lib/ensemble';
import { isChorusError } from '../../lib/errors';
import {
  DatasetKeySchema,
  DistillJobSchema,
  type EnsembleManifest,
  EnsembleManifestSchema,
  type InputSpec,
  JobSpecSchema,
  PROBLEM_CODES,
  PredictRequestSchema,
} from '../../lib/schema';
import { MemoryBlobStore, modelKey, sha256Hex } from '../../lib/store';

const manifestJson = JSON.parse(readFileSync('models/spam/manifest.json', 'utf8')) as Record<string, unknown>;
type Json = Record<string, unknown> & { members: Record<string, unknown>[]; fusion: Record<string, unknown> };
const clone = () => structuredClone(manifestJson) as Json;
const issuesOf = (m: unknown) => JSON.stringify(EnsembleManifestSchema.safeParse(m).error?.issues ?? []);

const nodeBackend: InferenceBackend = {
  name: 'onnxruntime-node/cpu',
  async createSession(model) {
    const s = await ort.InferenceSession.create(model, { graphOptimizationLevel: 'basic' });
    return wrapOrtSession(s, (t) => new ort.Tensor(t.dtype, t.data, t.dims));
  },
};

/** Catches the ChorusError a call throws, so tests can read its code and details. */
function thrown(f: () => unknown) {
  try {
    f();
  } catch (e) {
    if (isChorusError(e)) return e;
    throw e;
  }
  throw new Error('expected a ChorusError');
}

describe('keys a request names stay under their prefix', () => {
  it.each([
    'datasets/../elsewhere/rows.jsonl',
    'datasets/spam/../../x.jsonl',
    'datasets//rows.jsonl',
    'datasets/./rows.jsonl',
    '/datasets/rows.jsonl',
    's3://other/datasets/rows.jsonl',
    'datasets/a%2F..%2Fb.jsonl',
    'datasets\\..\\rows.jsonl',
    'datasets/rows.json',
    'models/rows.jsonl',
  ])('refuses %s', (key) => {
    expect(DatasetKeySchema.safeParse(key).success).toBe(false);
  });

  it.each(['datasets/spam/train.jsonl', 'datasets/a.b-c_d/e.f.jsonl'])('accepts %s', (key) => {
    expect(DatasetKeySchema.safeParse(key).success).toBe(true);
  });

  it('a model key must be models/{sha256}.onnx of its own sha256', () => {
    const other = clone();
    (other.members[0] as { model: { key: string } }).model.key = 'ensembles/spam/current.json';
    expect(issuesOf(other)).toContain('models/{sha256}.onnx');
    const swapped = clone();
    const [a, b] = swapped.members as { model: { key: string } }[];
    if (!a || !b) throw new Error('zoo has members');
    a.model.key = b.model.key;
    expect(issuesOf(swapped)).toContain('for its own sha256');
    expect(EnsembleManifestSchema.safeParse(clone()).success).toBe(true);
  });
});

describe('manifests are bounded and numerically sane', () => {
  it('refuses JavaScript built-in names as fields, members, labels and weight keys', () => {
    for (const name of ['__proto__', 'constructor', 'toString']) {
      const field = clone();
      field.input = JSON.parse(`{"fields": {"${name}": {"type": "text"}}}`);
      expect(EnsembleManifestSchema.safeParse(field).success).toBe(false);
      const member = clone();
      (member.members[0] as { id: string }).id = name;
      expect(EnsembleManifestSchema.safeParse(member).success).toBe(false);
      const label = clone();
      label.labels = ['ham', name];
      expect(issuesOf(label)).toContain('built-in');
      const weight = clone();
      weight.fusion.weights = JSON.parse(`{"${name}": 1}`);
      expect(EnsembleManifestSchema.safeParse(weight).success).toBe(false);
    }
  });

  it('refuses weights that overflow, meta-learners of the wrong shape or naming unknown members', () => {
    const huge = clone();
    huge.fusion.weights = { 'headers-logreg': 1e308 };
    expect(EnsembleManifestSchema.safeParse(huge).success).toBe(false);
    const shape = clone();
    (shape.fusion.metaLearner as { coef: number[][] }).coef.pop();
    const metaMembers = (shape.fusion.metaLearner as { members: string[] }).members.length;
    expect(issuesOf(shape)).toContain(`coef must be [2][${2 * metaMembers}]`);
    const unknown = clone();
    (unknown.fusion.metaLearner as { members: string[] }).members[0] = 'ghost';
    expect(issuesOf(unknown)).toContain("unknown member 'ghost'");
    const coef = clone();
    ((coef.fusion.metaLearner as { coef: number[][] }).coef[0] as number[])[0] = 1e300;
    expect(EnsembleManifestSchema.safeParse(coef).success).toBe(false);
  });

  it('bounds the number of members and the size of a tensor field', () => {
    const many = clone();
    many.members = Array.from({ length: 33 }, (_, i) => ({ ...(many.members[0] as object), id: `m${i}` }));
    many.fusion = { strategy: 'soft', quorum: 1 };
    expect(issuesOf(many)).toContain('too_big');
    const tensor = clone();
    tensor.input = { fields: { x: { type: 'tensor', dtype: 'float32', shape: [1 << 12, 1 << 12] } } };
    expect(issuesOf(tensor)).toContain('elements per example');
  });
});

describe('inputs that a tensor type cannot hold are refused, each one named', () => {
  const spec: InputSpec = {
    fields: {
      a: { type: 'tensor', dtype: 'int64', shape: [2] },
      b: { type: 'tensor', dtype: 'int32', shape: [1] },
      c: { type: 'tensor', dtype: 'float32', shape: [1] },
    },
  };
  const ok = {
    a: { dtype: 'int64' as const, shape: [2], data: [1, -2] },
    b: { dtype: 'int32' as const, shape: [1], data: [2147483647] },
    c: { dtype: 'float32' as const, shape: [1], data: [3.4e38] },
  };

  it('accepts values every type holds exactly', () => {
    expect(() => validateInputs(spec, [ok])).not.toThrow();
  });

  it('lists every offending inputs[i].field with its reason', () => {
    const bad = [
      ok,
      { ...ok, a: { ...ok.a, data: [2 ** 63, 1] } },
      { ...ok, b: { ...ok.b, data: [2 ** 31] } },
      { ...ok, c: { ...ok.c, data: [3.5e38] } },
      { ...ok, a: { ...ok.a, data: [2 ** 53 + 2, 0] }, b: { ...ok.b, data: [1.5] } },
    ];
    const err = thrown(() => validateInputs(spec, bad));
    expect(err.code).toBe('invalid_input');
    const issues = err.details?.issues as { index: number; field: string; reason: string }[];
    expect(issues.map((i) => `${i.index}.${i.field}`)).toEqual(['1.a', '2.b', '3.c', '4.a', '4.b']);
    expect(issues[0]?.reason).toContain('2^53');
    expect(issues[1]?.reason).toContain('int32');
    expect(issues[2]?.reason).toContain('float32');
  });

  it('refuses built-in names as input fields instead of dropping them', () => {
    for (const name of ['__proto__', 'constructor', 'toString']) {
      const body = JSON.parse(`{"inputs": [{"message": "hi", "${name}": "x"}]}`);
      expect(PredictRequestSchema.safeParse(body).success).toBe(false);
    }
    const text: InputSpec = { fields: { message: { type: 'text', format: 'plain', maxLength: 10, required: true } } };
    const err = thrown(() => validateInputs(text, [{ message: 'hi', toString: 'x' }]));
    expect(err.message).toContain('toString: unknown field');
  });
});

describe('publish-time graph checks against the real zoo models', () => {
  const manifest = EnsembleManifestSchema.parse(manifestJson);
  const store = new MemoryBlobStore();
  const sessions = new SessionCache(nodeBackend, store, 64 << 20);
  const load = async () => {
    for (const m of manifest.members) {
      const variant = m.variant ?? 'int8';
      await store.put(m.model.key, readFileSync(`models/spam/${m.id}.${variant}.onnx`));
    }
  };

  it('a manifest that matches its graphs passes', async () => {
    await load();
    await expect(checkManifestGraphs(manifest, sessions)).resolves.toBeUndefined();
  });

  it('names unknown inputs/outputs, wrong widths and a label count the output cannot give', async () => {
    await load();
    const m0 = manifest.members.find((m) => m.id === 'headers-logreg');
    const m2 = manifest.members.find((m) => m.id === 'body-chars-fasttext');
    if (!m0 || !m2) throw new Error('zoo changed: headers-logreg / body-chars-fasttext missing');
    const session = await sessions.session(m0);
    // m0 (headers-logreg) takes sparse ids + values; m2 (fastText) one ids row of maxIds
    expect(memberGraphProblems(manifest, m0, session)).toEqual([]);
    const renamed = { ...m0, inputs: { nope: 'ids', values: 'values' } };
    expect(memberGraphProblems(manifest, renamed, session).join()).toContain("no input 'nope'");
    expect(memberGraphProblems(manifest, renamed, session).join()).toContain('inputs ids, which nothing feeds');
    expect(memberGraphProblems(manifest, { ...m0, outputName: 'nope' }, session).join()).toContain("no output 'nope'");
    const dense = { ...m0, featurizer: { ...m0.featurizer, layout: 'dense' } } as typeof m0;
    expect(memberGraphProblems(manifest, dense, session).join()).toContain(
      "the featurizer makes no 'ids' (it makes features)",
    );
    const threeLabels: EnsembleManifest = { ...manifest, labels: ['ham', 'spam', 'other'] };
    expect(memberGraphProblems(threeLabels, m0, session).join()).toContain('one value per label');
    const ft = await sessions.session(m2);
    expect(memberGraphProblems(manifest, { ...m2, inputName: 'nope' }, ft).join()).toContain("no input 'nope'");
    const wide = { ...m2, featurizer: { ...m2.featurizer, maxIds: 1000 } } as typeof m2;
    expect(memberGraphProblems(manifest, wide, ft).join()).toContain('shape');
    // fastText takes int64 ids; feeding it float counts is a dtype mismatch.
    const counts = { ...m2, featurizer: { ...m2.featurizer, output: 'counts' } } as typeof m2;
    expect(memberGraphProblems(manifest, counts, ft).join()).toContain('takes int64');
    const broken: EnsembleManifest = { ...manifest, members: [{ ...m2, outputName: 'nope' }, m0] };
    await expect(checkManifestGraphs(broken, sessions)).rejects.toMatchObject({ code: 'invalid_manifest' });
  });

  it("a sparse member whose buckets outrun its graph's weight table is refused at publish", async () => {
    await load();
    const m0 = manifest.members[0];
    if (m0?.featurizer.kind !== 'hashed-ngrams' || m0.featurizer.layout !== 'sparse') throw new Error('m0 is sparse');
    const { buckets } = m0.featurizer;
    // the declared shapes cannot tell: ids and values are [batch, non-zeros] whatever the table
    const wide = { ...m0, featurizer: { ...m0.featurizer, buckets: buckets * 2 } };
    expect(memberGraphProblems(manifest, wide, await sessions.session(m0))).toEqual([]);
    const refused = checkManifestGraphs({ ...manifest, members: [wide] }, sessions);
    await expect(refused).rejects.toMatchObject({ code: 'invalid_manifest' });
    await expect(refused).rejects.toThrow(`cannot take bucket ${buckets * 2 - 1}`);
    await expect(checkManifestGraphs({ ...manifest, members: [m0] }, sessions)).resolves.toBeUndefined();
  });
});

describe('the session cache checks key and sha256 together', () => {
  it('a member whose key names another object fails in a warm isolate as in a cold one', async () => {
    const store = new MemoryBlobStore();
    const bytes = readFileSync('models/spam/urls-logreg.int8.onnx');
    const sha = await sha256Hex(bytes);
    await store.put(modelKey(sha), bytes);
    await store.put('models/elsewhere.onnx', bytes);
    const manifest = EnsembleManifestSchema.parse(manifestJson);
    const member = manifest.members.find((m) => m.id === 'urls-logreg');
    if (!member) throw new Error('zoo has urls-logreg');
    const cache = new SessionCache(nodeBackend, store, 64 << 20);
    const liar = { ...member, model: { ...member.model, key: 'models/elsewhere.onnx' } };
    await expect(cache.session(liar)).rejects.toMatchObject({ code: 'model_integrity' }); // cold
    await cache.session(member); // warm the sha256's entry
    await expect(cache.session(liar)).rejects.toMatchObject({ code: 'model_integrity' }); // warm
  });
});

describe('job specs are bounded by the product of their knobs', () => {
  const distill = (featurizer: Record<string, unknown> | undefined, dim: number) => ({
    kind: 'distill',
    ensemble: 'spam',
    train: 'datasets/spam/train.jsonl',
    validation: 'datasets/spam/validation.jsonl',
    dim,
    ...(featurizer ? { featurizer } : {}),
  });
  const words = (buckets: number) => ({
    kind: 'hashed-ngrams',
    field: 'message',
    unit: 'word',
    ngram: [1, 2],
    buckets,
    seed: 1,
    maxLength: 1000,
    output: 'ids',
    maxIds: 1000,
  });

  it('2^22 buckets × dim 128 (≈ 2 GiB of embeddings) is refused though each knob is in range', () => {
    const issues = JobSpecSchema.safeParse(distill(words(1 << 22), 128)).error?.issues ?? [];
    expect(JSON.stringify(issues)).toContain('MiB of student parameters');
  });

  it('the default student and a mid-sized one are accepted', () => {
    expect(JobSpecSchema.safeParse(distill(undefined, 16)).success).toBe(true);
    expect(JobSpecSchema.safeParse(distill(words(1 << 20), 32)).success).toBe(true);
  });

  it('a student featurizer on an input the ensemble lacks (an inherited name too) fails before any data is read', async () => {
    const manifest = EnsembleManifestSchema.parse(JSON.parse(readFileSync('models/spam/manifest.json', 'utf8')));
    for (const field of ['subject', 'toString']) {
      const spec = DistillJobSchema.parse(distill({ ...words(1 << 16), field }, 16));
      const nothingRead = new Proxy({} as never, {
        get: () => {
          throw new Error('touched before the featurizer was checked');
        },
      });
      const run = runDistill({
        id: 'd',
        spec,
        manifest,
        store: nothingRead,
        evaluator: nothingRead,
        progress: async () => undefined,
      });
      await expect(run).rejects.toMatchObject({ code: 'invalid_argument' });
      await expect(run).rejects.toThrow(`featurizer field '${field}' is not a text input field`);
    }
  });
});

describe('every problem code is documented', () => {
  it('README lists each code of PROBLEM_CODES with its status', () => {
    const readme = readFileSync('README.md', 'utf8');
    for (const [code, [status]] of Object.entries(PROBLEM_CODES)) {
      expect(readme, code).toMatch(new RegExp(`\\| ${status}\\s*\\| \`${code}\`\\s*\\|`));
    }
  });
});
