/**
 * The transformer member in the jobs' paths, with real parts: the `stack` job's stacking step takes
 * it as a frozen input (scored through the Evaluator, tokenizer read from the store), and the
 * Evaluator that scores a distillation teacher fuses an ensemble that includes it — both over
 * onnxruntime-node, on real test-split bodies wrapped as e-mails.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { run as distill } from '../../functions/container/jobs/distill';
import { stackingStep } from '../../functions/container/jobs/stack';
import type { Dataset } from '../../functions/container/kit/datasets';
import { createNodeBackend } from '../../lib/backends/onnx-node';
import { SessionCache } from '../../lib/ensemble';
import { meanLogLoss } from '../../lib/fusion';
import { DistillJobSchema, EnsembleManifestSchema, type MemberSpec } from '../../lib/schema';
import { MemoryBlobStore, modelKey, sha256Hex, tokenizerKey } from '../../lib/store';
import { Evaluator, selectRows } from '../../lib/train';
import { transformerManifest } from '../helpers/byo';

const dir = new URL('../../models/transformer/', import.meta.url);
const zoo = EnsembleManifestSchema.parse(JSON.parse(readFileSync('models/spam/manifest.json', 'utf8')));
const bodies = (
  JSON.parse(gunzipSync(readFileSync(new URL('test-bodies.json.gz', dir))).toString('utf8')) as {
    messages: { id: string; label: number; body: string }[];
  }
).messages.filter((_, i) => i % 8 === 0);

const dataset: Dataset = {
  key: 'datasets/spam/bert.jsonl',
  hash: 'bert-subset',
  inputs: bodies.map((m) => ({ message: `From: a@example.com\nSubject: ${m.id}\n\n${m.body}` })),
  ids: bodies.map((m) => m.id),
  labels: Int32Array.from(bodies, (m) => m.label),
};

async function withTransformer() {
  const store = new MemoryBlobStore();
  const model = readFileSync(new URL('bert-tiny.fp32.onnx', dir));
  const tok = readFileSync(new URL('tokenizer.json', dir));
  const [ms, ts] = [await sha256Hex(model), await sha256Hex(tok)];
  await store.put(modelKey(ms), model);
  await store.put(tokenizerKey(ts), tok);
  for (const m of zoo.members)
    await store.put(m.model.key, readFileSync(`models/spam/${m.id}.${m.variant ?? 'int8'}.onnx`));
  const bert = transformerManifest(
    'x',
    { key: modelKey(ms), sha256: ms, bytes: model.length },
    { key: tokenizerKey(ts), sha256: ts, bytes: tok.length },
  ).members[0] as MemberSpec;
  const manifest = EnsembleManifestSchema.parse({
    ...zoo,
    members: [...zoo.members, bert],
    fusion: { strategy: 'soft', quorum: 1 },
  });
  return { store, manifest, evaluator: new Evaluator(new SessionCache(createNodeBackend(), store, 1 << 30)) };
}

describe('the transformer member in jobs', () => {
  it('is a frozen stacking input of the stack job: scored through the Evaluator, weighed by the meta-learner', async () => {
    const { manifest, evaluator } = await withTransformer();
    let frozenCalls = 0;
    const job = await stackingStep(manifest, dataset, 3, async (m) => {
      frozenCalls++;
      return evaluator.member(manifest, m, dataset);
    });
    expect(frozenCalls).toBe(1);
    expect(job.members.map((m) => `${m.id}:${m.kind}`)).toEqual([
      ...zoo.members.map((m) => `${m.id}:retrain`),
      'bert-tiny:frozen',
    ]);
    expect(job.metaLearner.members).toEqual([...zoo.members.map((m) => m.id), 'bert-tiny']);
    expect(job.metaLearner.coef.every((row) => row.length === 2 * manifest.members.length)).toBe(true);
    expect(job.notes.some((n) => n.startsWith('bert-tiny: frozen'))).toBe(true);
  }, 300_000);

  it('an ensemble with it scores as a teacher: its fused answers beat the zoo alone on these rows', async () => {
    const { manifest, evaluator } = await withTransformer();
    const rows = [...dataset.labels.keys()];
    const accuracy = (p: { data: Float64Array; c: number }) =>
      rows.filter((i) => {
        const spam = (p.data[i * p.c + 1] as number) > (p.data[i * p.c] as number);
        return (spam ? 1 : 0) === dataset.labels[i];
      }).length / rows.length;
    const withIt = selectRows(await evaluator.ensemble(manifest, dataset), rows);
    const without = selectRows(
      await evaluator.ensemble({ ...manifest, members: zoo.members, fusion: manifest.fusion }, dataset),
      rows,
    );
    expect(withIt.n).toBe(bodies.length);
    // A teacher is judged by its soft answers (what a student learns from): lower log-loss, and no
    // lower accuracy. The zoo alone already gets all but one of these 154 rows right, so accuracy
    // alone cannot show the gain.
    const labels = rows.map((i) => dataset.labels[i] as number);
    expect(meanLogLoss(withIt, labels)).toBeLessThan(meanLogLoss(without, labels));
    expect(accuracy(withIt)).toBeGreaterThanOrEqual(accuracy(without));
  }, 300_000);

  it('teaches a fastText student in the distill job (the teacher is the ensemble with it)', async () => {
    const { store, manifest, evaluator } = await withTransformer();
    const all = (
      JSON.parse(gunzipSync(readFileSync(new URL('test-bodies.json.gz', dir))).toString('utf8')) as {
        messages: { id: string; label: number; body: string }[];
      }
    ).messages;
    const jsonl = (rows: typeof all) =>
      new TextEncoder().encode(
        rows
          .map((m) =>
            JSON.stringify({
              id: m.id,
              input: { message: `From: a@example.com\nSubject: ${m.id}\n\n${m.body}` },
              label: m.label === 1 ? 'spam' : 'ham',
            }),
          )
          .join('\n'),
      );
    await store.put('datasets/bert/train.jsonl', jsonl(all.filter((_, i) => i % 4 !== 0)));
    await store.put('datasets/bert/validation.jsonl', jsonl(all.filter((_, i) => i % 4 === 0)));
    const spec = DistillJobSchema.parse({
      kind: 'distill',
      ensemble: 'spam',
      train: 'datasets/bert/train.jsonl',
      validation: 'datasets/bert/validation.jsonl',
      epochs: 3,
    });
    const outcome = await distill({
      id: 'distill-bert-test',
      spec,
      store,
      evaluator,
      manifest,
      progress: async () => undefined,
    });
    const student = outcome.candidate?.members[0];
    expect(outcome.candidate?.members).toHaveLength(1);
    expect(student?.family).toBe('fasttext');
    // the report measures the student against the teacher that includes the transformer
    expect(JSON.stringify(outcome.report.rows)).toContain('student');
    expect(outcome.gate.detail.length).toBeGreaterThan(0);
  }, 600_000);
});
