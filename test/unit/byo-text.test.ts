/**
 * A text classifier exported the way skl2onnx exports a scikit-learn Pipeline(TfidfVectorizer,
 * LogisticRegression) — a string input, its default ZipMap — served by both runtimes through the
 * `text` featurizer, alone and beside a zoo member.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createNodeBackend } from '../../lib/backends/onnx-node';
import { createWebBackend } from '../../lib/backends/onnx-web';
import { checkManifestGraphs, type ModelSession, predictEnsemble, SessionCache } from '../../lib/ensemble';
import { runBatched } from '../../lib/ensemble/fixed-batch';
import { unwrapZipMap } from '../../lib/ensemble/zipmap';
import { parseEmail } from '../../lib/features';
import { type EnsembleManifest, EnsembleManifestSchema, type MemberSpec } from '../../lib/schema';
import { MemoryBlobStore, modelKey, sha256Hex } from '../../lib/store';
import { sklearnLikeLogReg, sklearnLikeTextPipeline, textPipelineProbability } from '../helpers/skl-like';

const pipeline = {
  vocabulary: ['free', 'money', 'click', 'lunch', 'meeting', 'tomorrow'],
  idf: [1.4, 1.7, 1.9, 2.1, 1.6, 1.3],
  coef: [2.5, 2.2, 2.8, -2.4, -2.0, -1.1],
  intercept: -0.3,
};

const mail = (subject: string, body: string) =>
  `From: Sam <sam@example.org>\nTo: Kim <kim@example.org>\nSubject: ${subject}\nContent-Type: text/plain\n\n${body}`;
const messages = [
  mail('offer', 'FREE money!!! Click here, click now: free free money'),
  mail('lunch tomorrow?', 'Are we still on for lunch tomorrow? The meeting ran late.'),
  mail('notes', 'Nothing from the vocabulary here at all.'),
];

async function stored(bytes: Uint8Array, store: MemoryBlobStore): Promise<MemberSpec['model']> {
  const sha256 = await sha256Hex(bytes);
  await store.put(modelKey(sha256), bytes);
  return { key: modelKey(sha256), sha256, bytes: bytes.length };
}

function textMember(model: MemberSpec['model'], maxLength = 10_000) {
  return {
    id: 'sk-tfidf',
    model,
    featurizer: { kind: 'text', field: 'message', view: 'body', maxLength },
    inputName: 'input',
    outputName: 'output_probability',
    output: 'probabilities',
  };
}

const manifestOf = (
  members: unknown[],
  fields: Record<string, unknown> = { message: { type: 'text', format: 'rfc822' } },
): EnsembleManifest =>
  EnsembleManifestSchema.parse({
    name: 'spam-sklearn',
    version: 1,
    task: 'classification',
    labels: ['ham', 'spam'],
    input: { fields },
    members,
    fusion: { strategy: 'soft' },
    provenance: { createdAt: '2026-11-24T00:00:00.000Z', tool: 'skl2onnx' },
  });

const bodies = () => Promise.all(messages.map(async (m) => (await parseEmail(m)).body));

/** Publishes `manifest` (graph checks) and expects the pipeline's own probability for every message. */
async function expectPipelineAnswers(manifest: EnsembleManifest, sessions: SessionCache): Promise<number[]> {
  await expect(checkManifestGraphs(manifest, sessions)).resolves.toBeUndefined();
  const answer = await predictEnsemble(
    manifest,
    messages.map((message) => ({ message })),
    sessions,
  );
  const expected = (await bodies()).map((b) => textPipelineProbability(pipeline, b));
  answer.predictions.forEach((p, i) => {
    expect((p.probabilities as Record<string, number>).spam).toBeCloseTo(expected[i] as number, 6);
  });
  return expected;
}

describe.each([createWebBackend(), createNodeBackend()])('a skl2onnx text pipeline in $name', (backend) => {
  it('publishes and answers what the pipeline computes from the body text', async () => {
    const store = new MemoryBlobStore();
    const manifest = manifestOf([textMember(await stored(sklearnLikeTextPipeline(pipeline, ['ham', 'spam']), store))]);
    const expected = await expectPipelineAnswers(manifest, new SessionCache(backend, store, 64 << 20));
    expect(expected[0]).toBeGreaterThan(0.9);
    expect(expected[1]).toBeLessThan(0.1);
  });

  it('a graph exported for a batch of one answers a request of many (texts run in slices)', async () => {
    const store = new MemoryBlobStore();
    const model = await stored(sklearnLikeTextPipeline(pipeline, ['ham', 'spam'], { batch: 1 }), store);
    await expectPipelineAnswers(manifestOf([textMember(model)]), new SessionCache(backend, store, 64 << 20));
  });

  it('reads only the first maxLength characters of the view', async () => {
    const store = new MemoryBlobStore();
    const model = await stored(sklearnLikeTextPipeline(pipeline, ['ham', 'spam']), store);
    const manifest = manifestOf([textMember(model, 12)]);
    const sessions = new SessionCache(backend, store, 64 << 20);
    const [first] = (await predictEnsemble(manifest, [{ message: messages[0] as string }], sessions)).predictions;
    const [body] = await bodies();
    const cut = textPipelineProbability(pipeline, (body as string).slice(0, 12));
    expect(cut).not.toBeCloseTo(textPipelineProbability(pipeline, body as string), 2);
    expect((first?.probabilities as Record<string, number> | undefined)?.spam).toBeCloseTo(cut, 6);
  });

  it('a text field with a NUL or a lone surrogate (both valid JSON) is answered as if each were a separator', async () => {
    const store = new MemoryBlobStore();
    const model = await stored(sklearnLikeTextPipeline(pipeline, ['ham', 'spam']), store);
    const member = { ...textMember(model), featurizer: { kind: 'text', field: 'text', maxLength: 1000 } };
    const manifest = manifestOf([member], { text: { type: 'text' } });
    const sessions = new SessionCache(backend, store, 64 << 20);
    const texts = ['\u0000free money', 'free \ud800money click', 'free\udc00 lunch'];
    const answer = await predictEnsemble(
      manifest,
      texts.map((text) => ({ text })),
      sessions,
    );
    const separated = ['\ufffdfree money', 'free \ufffdmoney click', 'free\ufffd lunch'];
    answer.predictions.forEach((p, i) => {
      const expected = textPipelineProbability(pipeline, separated[i] as string);
      expect((p.probabilities as Record<string, number>).spam).toBeCloseTo(expected, 6);
    });
  });

  it('texts run one row at a time: a long one beside short ones is not padded into each of them', async () => {
    const session = await backend.createSession(unwrapZipMap(sklearnLikeTextPipeline(pipeline, ['ham', 'spam'])).model);
    const runs: (readonly number[])[] = [];
    const recorded: ModelSession = {
      ...session,
      run: (inputs, outputName) => {
        runs.push(inputs.input?.dims ?? []);
        return session.run(inputs, outputName);
      },
    };
    const texts = [Array(20_000).fill('free money').join(' '), ...Array.from({ length: 63 }, (_, i) => `lunch ${i}`)];
    const out = await runBatched(
      recorded,
      { input: { dtype: 'string', data: texts, dims: [64, 1] } },
      'output_probability',
      64,
    );
    expect(runs).toEqual(texts.map(() => [1, 1]));
    expect(out.dims).toEqual([64, 2]);
    texts.forEach((t, i) => {
      expect(out.data[2 * i + 1]).toBeCloseTo(textPipelineProbability(pipeline, t), 5);
    });
    await session.release();
  });

  it('fuses with a zoo member (soft vote: the mean of the two)', async () => {
    const store = new MemoryBlobStore();
    const zoo = JSON.parse(readFileSync('models/spam/manifest.json', 'utf8')) as { members: MemberSpec[] };
    const bodyLogreg = zoo.members.find((m) => m.id === 'body-logreg') as MemberSpec;
    await store.put(bodyLogreg.model.key, readFileSync(`models/spam/${bodyLogreg.id}.int8.onnx`));
    const text = textMember(await stored(sklearnLikeTextPipeline(pipeline, ['ham', 'spam']), store));
    const { abstain: _, ...answersAlways } = bodyLogreg;
    const manifest = manifestOf([answersAlways, text]);
    const sessions = new SessionCache(backend, store, 64 << 20);
    await expect(checkManifestGraphs(manifest, sessions)).resolves.toBeUndefined();
    const answer = await predictEnsemble(
      manifest,
      messages.map((message) => ({ message })),
      sessions,
      { returnMembers: true },
    );
    for (const p of answer.predictions) {
      const members = p.members as Record<string, { spam: number }>;
      const mean = ((members['body-logreg']?.spam as number) + (members['sk-tfidf']?.spam as number)) / 2;
      expect((p.probabilities as Record<string, number>).spam).toBeCloseTo(mean, 6);
    }
  });

  it('refuses a text member on a graph that takes numbers, over 100,000 characters, or with classes ordered unlike the labels', async () => {
    const store = new MemoryBlobStore();
    const numbers = await stored(
      sklearnLikeLogReg(
        [
          [1, 0, 0, 0],
          [-1, 0, 0, 0],
        ],
        [0, 0],
        { zipmap: false },
      ),
      store,
    );
    const numeric = manifestOf([{ ...textMember(numbers), inputName: 'float_input' }]);
    await expect(checkManifestGraphs(numeric, new SessionCache(backend, store, 64 << 20))).rejects.toThrow(
      /input 'float_input' takes float32, the featurizer produces string/,
    );
    expect(() => manifestOf([textMember(numbers, 100_001)])).toThrow(/maxLength/);
    const swapped = manifestOf([textMember(await stored(sklearnLikeTextPipeline(pipeline, ['spam', 'ham']), store))]);
    await expect(checkManifestGraphs(swapped, new SessionCache(backend, store, 64 << 20))).rejects.toThrow(
      /classes in the order \[spam, ham\]/,
    );
  });
});
