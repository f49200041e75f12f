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
import { loadCorpus } from '../../models/corpus';

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

  beforeAll(async () => {
    const corpus = await loadCorpus();
    const test = corpus.filter((m) => m.split === 'test');
    // The parity file covers exactly the zoo's test split, in corpus order.
    expect(parity.split).toBe('test');
    expect(parity.messages.map((m) => m.id)).toEqual(test.map((m) => m.id));
    bodies = new Map(test.map((m) => [m.id, m.views.body]));
  }, 180_000);

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
