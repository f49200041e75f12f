/**
 * "Bring your own transformer": the tiny BERT in models/transformer was trained in PyTorch with
 * a Python WordPiece tokenizer (make_bert.py). Here the same text goes through the Hugging Face
 * tokenizer.json in @huggingface/tokenizers (the pure-JS tokenizer of transformers.js) and the
 * exported ONNX through onnxruntime-node, and both must reproduce what Python recorded in
 * parity.json.gz for every message of the zoo's test split: identical ids, logits within 1e-4.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { Tokenizer } from '@huggingface/tokenizers';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { createNodeBackend } from '../../lib/backends/onnx-node';
import { predictEnsemble, SessionCache } from '../../lib/ensemble';
import { TextTokenizer, tokenizeBatch } from '../../lib/features';
import { MAX_TOKEN_ID } from '../../lib/features/tokenizer';
import { EnsembleManifestSchema } from '../../lib/schema';
import { MemoryBlobStore, modelKey, sha256Hex, tokenizerKey } from '../../lib/store';
import { transformerManifest } from '../helpers/byo';

const dir = new URL('../../models/transformer/', import.meta.url);
const TOL = 1e-4;

interface ParityMessage {
  id: string;
  ids: number[];
  logits: number[];
}
interface Parity {
  model: string;
  model_sha256: string;
  max_length: number;
  labels: string[];
  split: string;
  messages: ParityMessage[];
}

const parity = JSON.parse(gunzipSync(readFileSync(new URL('parity.json.gz', dir))).toString('utf8')) as Parity;
const readTestBodies = (): { id: string; body: string }[] =>
  (
    JSON.parse(gunzipSync(readFileSync(new URL('test-bodies.json.gz', dir))).toString('utf8')) as {
      messages: { id: string; body: string }[];
    }
  ).messages;
const readJson = (name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(new URL(name, dir), 'utf8')) as Record<string, unknown>;

/**
 * Truncation as declared in tokenizer.json (right, max_length in all): tokenizers.js does not
 * truncate, so keep the first max_length - 1 ids ([CLS] + content) and the closing [SEP].
 */
function truncate(ids: number[], maxLength: number): number[] {
  if (ids.length <= maxLength) return ids;
  return [...ids.slice(0, maxLength - 1), ids[ids.length - 1] as number];
}

describe('tiny BERT: tokenizer.json in @huggingface/tokenizers and ONNX in onnxruntime-node = PyTorch', () => {
  let bodies: Map<string, string>;

  beforeAll(() => {
    // The body views Python tokenized (test-bodies.json.gz, written with parity.json.gz), not the
    // live corpus: a change to the e-mail parser must not pass for a tokenizer difference.
    const test = readTestBodies();
    expect(parity.split).toBe('test');
    expect(parity.messages.map((m) => m.id)).toEqual(test.map((m) => m.id));
    bodies = new Map(test.map((m) => [m.id, m.body]));
  });

  it('produces the Python tokenizer ids for every test message', () => {
    const tokenizer = new Tokenizer(readJson('tokenizer.json'), readJson('tokenizer_config.json'));
    expect(tokenizer.encode('Hello, WORLD! Café').tokens).toEqual([
      '[CLS]',
      'hello',
      ',',
      'world',
      '!',
      'cafe',
      '[SEP]',
    ]);
    const mismatches: string[] = [];
    for (const m of parity.messages) {
      const ids = truncate(tokenizer.encode(bodies.get(m.id) ?? '').ids, parity.max_length);
      if (ids.length !== m.ids.length || ids.some((id, i) => id !== m.ids[i])) mismatches.push(m.id);
    }
    expect({ mismatched: mismatches.length, first: mismatches.slice(0, 5) }).toEqual({ mismatched: 0, first: [] });
    expect(parity.messages.length).toBeGreaterThan(1000);
  }, 120_000);

  it('the tokenizer featurizer (TextTokenizer: template kept, only a prefix tokenized) gives the Python ids for every test message', () => {
    const tokenizer = TextTokenizer.fromBytes(readFileSync(new URL('tokenizer.json', dir)));
    const mismatches: string[] = [];
    let cut = 0;
    for (const m of parity.messages) {
      const body = bodies.get(m.id) ?? '';
      const { ids, types } = tokenizer.encode(body, parity.max_length, 'right');
      if (ids.length === parity.max_length) cut++;
      if (ids.length !== m.ids.length || ids.some((id, i) => id !== m.ids[i])) mismatches.push(m.id);
      expect(types.every((t) => t === 0)).toBe(true);
    }
    expect({ mismatched: mismatches.length, first: mismatches.slice(0, 5) }).toEqual({ mismatched: 0, first: [] });
    // the prefix path is exercised: most test bodies are longer than 256 ids
    expect(cut).toBeGreaterThan(parity.messages.length / 3);
  }, 120_000);

  it('through the engine (PUT-able manifest, tokenizer from the store) answers softmax(PyTorch logits) within 1e-4', async () => {
    const store = new MemoryBlobStore();
    const model = readFileSync(new URL(parity.model, dir));
    const tok = readFileSync(new URL('tokenizer.json', dir));
    const modelSha = await sha256Hex(model);
    const tokSha = await sha256Hex(tok);
    await store.put(modelKey(modelSha), model);
    await store.put(tokenizerKey(tokSha), tok);
    const manifest = EnsembleManifestSchema.parse(
      transformerManifest(
        'bert',
        { key: modelKey(modelSha), sha256: modelSha, bytes: model.length },
        { key: tokenizerKey(tokSha), sha256: tokSha, bytes: tok.length },
        { format: 'plain' },
      ),
    );
    const sessions = new SessionCache(createNodeBackend(), store, 1 << 30);
    let worst = 0;
    try {
      for (let start = 0; start < parity.messages.length; start += 32) {
        const rows = parity.messages.slice(start, start + 32);
        const answer = await predictEnsemble(
          manifest,
          rows.map((r) => ({ message: bodies.get(r.id) ?? '' })),
          sessions,
        );
        expect(answer.degraded).toEqual([]);
        rows.forEach((r, i) => {
          const [l0, l1] = r.logits as [number, number];
          const spam = 1 / (1 + Math.exp(l0 - l1));
          const got = answer.predictions[i]?.probabilities.spam ?? Number.NaN;
          worst = Math.max(worst, Math.abs(got - spam));
        });
      }
    } finally {
      await sessions.clear();
    }
    expect(worst).toBeLessThanOrEqual(TOL);
  }, 180_000);

  it('reproduces the PyTorch logits within 1e-4 (batched, padded with attention_mask)', async () => {
    const bytes = readFileSync(new URL(parity.model, dir));
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(parity.model_sha256);
    const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
    try {
      expect([...session.inputNames].sort()).toEqual(['attention_mask', 'input_ids', 'token_type_ids']);
      expect(session.outputNames).toEqual(['logits']);
      const batch = 32;
      let worst = 0;
      for (let start = 0; start < parity.messages.length; start += batch) {
        const rows = parity.messages.slice(start, start + batch);
        const width = Math.max(...rows.map((r) => r.ids.length));
        const ids = new BigInt64Array(rows.length * width);
        const mask = new BigInt64Array(rows.length * width);
        rows.forEach((r, i) => {
          r.ids.forEach((id, j) => {
            ids[i * width + j] = BigInt(id);
            mask[i * width + j] = 1n;
          });
        });
        const dims = [rows.length, width];
        const out = await session.run({
          input_ids: new ort.Tensor('int64', ids, dims),
          attention_mask: new ort.Tensor('int64', mask, dims),
          token_type_ids: new ort.Tensor('int64', new BigInt64Array(rows.length * width), dims),
        });
        const logits = out.logits as ort.Tensor;
        expect(logits.dims).toEqual([rows.length, 2]);
        const data = logits.data as Float32Array;
        rows.forEach((r, i) => {
          for (let c = 0; c < 2; c++) {
            const diff = Math.abs((data[i * 2 + c] as number) - (r.logits[c] as number));
            worst = Math.max(worst, diff);
            if (!(diff <= TOL)) throw new Error(`${r.id} class ${c}: ${data[i * 2 + c]} vs ${r.logits[c]}`);
          }
        });
      }
      expect(worst).toBeLessThanOrEqual(TOL);
    } finally {
      await session.release();
    }
  }, 120_000);
});

describe('tokenizer featurizer: truncation, padding, template', () => {
  const tokenizer = TextTokenizer.fromBytes(readFileSync(new URL('tokenizer.json', dir)));
  const words = Array.from({ length: 3000 }, (_, i) => `w${i % 97} hello`).join(' \n');

  it('keeps [CLS] … [SEP] and cuts the content from the side truncation does not keep', () => {
    const lib = new Tokenizer(readJson('tokenizer.json'), {});
    const all = lib.encode(words, { add_special_tokens: false }).ids;
    const right = tokenizer.encode(words, 16, 'right').ids;
    const left = tokenizer.encode(words, 16, 'left').ids;
    expect(right).toEqual([2, ...all.slice(0, 14), 3]);
    expect(left).toEqual([2, ...all.slice(all.length - 14), 3]);
    expect(tokenizer.encode('', 16, 'right').ids).toEqual([2, 3]);
  });

  it('pads with padId and mask 0 to the longest row, or to maxLength', () => {
    const spec = { maxLength: 8, truncation: 'right', padding: 'longest', padId: 0 } as const;
    const out = tokenizeBatch(tokenizer, ['hello', 'hello world again and again and again'], spec);
    expect(out.input_ids.dims).toEqual([2, 8]);
    expect(Array.from(out.attention_mask.data as BigInt64Array, Number)).toEqual([
      1, 1, 1, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,
    ]);
    const short = tokenizeBatch(tokenizer, ['hello', 'hi'], spec);
    expect(short.input_ids.dims).toEqual([2, 3]);
    const fixed = tokenizeBatch(tokenizer, ['hello'], { ...spec, padding: 'max_length', padId: 7 });
    expect(Array.from(fixed.input_ids.data as BigInt64Array, Number).slice(3)).toEqual([7, 7, 7, 7, 7]);
  });

  it('refuses bytes that are not a tokenizer the library can build', () => {
    expect(() => TextTokenizer.fromBytes(new TextEncoder().encode('{"model": 1'))).toThrow(/not UTF-8 JSON/);
    expect(() => TextTokenizer.fromBytes(new TextEncoder().encode('{"model": {"type": "Nope"}}'))).toThrow(
      /not a tokenizer/,
    );
  });

  it('refuses a token id past MAX_TOKEN_ID before the library builds arrays that long', () => {
    const json = JSON.parse(readFileSync('models/transformer/tokenizer.json', 'utf8'));
    const withId = (id: number) => {
      const copy = structuredClone(json);
      copy.model.vocab.zzz = id;
      return new TextEncoder().encode(JSON.stringify(copy));
    };
    // one id of 10⁹ in a 100 KB file took the library a minute and a half to build
    expect(() => TextTokenizer.fromBytes(withId(1e9))).toThrow(/token id 1000000000 is outside/);
    expect(() => TextTokenizer.fromBytes(withId(-1))).toThrow(/outside/);
    const added = structuredClone(json);
    added.added_tokens = [...(added.added_tokens ?? []), { id: 4e9, content: '[X]', special: true }];
    expect(() => TextTokenizer.fromBytes(new TextEncoder().encode(JSON.stringify(added)))).toThrow(/outside/);
    expect(TextTokenizer.fromBytes(withId(MAX_TOKEN_ID)).vocabSize).toBeGreaterThan(1000);
  });

  it('a member maps graph inputs to outputs its featurizer makes, and names its input one way only', () => {
    const ref = { key: `tokenizers/${'a'.repeat(64)}.json`, sha256: 'a'.repeat(64), bytes: 10 };
    const model = { key: `models/${'b'.repeat(64)}.onnx`, sha256: 'b'.repeat(64), bytes: 10 };
    const base = transformerManifest('bert', model, ref);
    expect(EnsembleManifestSchema.safeParse(base).success).toBe(true);
    const member = base.members[0] as Record<string, unknown>;
    const bad = (patch: Record<string, unknown>) =>
      EnsembleManifestSchema.safeParse({ ...base, members: [{ ...member, ...patch }] }).error?.issues.map((i) =>
        i.path.join('.'),
      );
    expect(bad({ inputs: { input_ids: 'ids' } })).toEqual(['members.0.inputs.input_ids']);
    expect(bad({ inputName: 'input_ids' })).toEqual(['members.0.inputs']);
    expect(bad({ inputs: undefined })).toEqual(['members.0.inputName']);
    expect(
      bad({
        featurizer: {
          ...(member.featurizer as object),
          tokenizer: { ...ref, key: `tokenizers/${'c'.repeat(64)}.json` },
        },
      }),
    ).toEqual(['members.0.featurizer.tokenizer.key']);
  });
});
