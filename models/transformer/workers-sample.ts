/**
 * Writes test/fixtures/transformer/sample.json: a fixed sample of the test split's bodies (the
 * ones Python tokenized, test-bodies.json.gz) with the probabilities onnxruntime-node gives for
 * them through bert-tiny.fp32.onnx, for the workerd test to compare against (no torch, no
 * corpus inside workerd).
 *
 *   npx tsx models/transformer/workers-sample.ts
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import * as ort from 'onnxruntime-node';

const dir = new URL('./', import.meta.url);
const parity = JSON.parse(gunzipSync(readFileSync(new URL('parity.json.gz', dir))).toString('utf8')) as {
  messages: { id: string; ids: number[] }[];
};
const bodies = JSON.parse(gunzipSync(readFileSync(new URL('test-bodies.json.gz', dir))).toString('utf8')) as {
  messages: { id: string; label: string; group: string; body: string }[];
};

/** Every 40th test message whose body is under 16,000 characters (keeps the fixture small). */
const picked = bodies.messages.filter((m, i) => i % 40 === 0 && m.body.length < 16_000);
const session = await ort.InferenceSession.create(readFileSync(new URL('bert-tiny.fp32.onnx', dir)), {
  intraOpNumThreads: 1,
});
const ids = new Map(parity.messages.map((m) => [m.id, m.ids]));
const out: { id: string; label: string; group: string; body: string; tokens: number; spam: number }[] = [];
for (const m of picked) {
  const row = ids.get(m.id) ?? [];
  const dims = [1, row.length];
  const res = await session.run({
    input_ids: new ort.Tensor('int64', BigInt64Array.from(row, BigInt), dims),
    attention_mask: new ort.Tensor('int64', new BigInt64Array(row.length).fill(1n), dims),
    token_type_ids: new ort.Tensor('int64', new BigInt64Array(row.length), dims),
  });
  const [l0, l1] = (res.logits as ort.Tensor).data as Float32Array;
  out.push({ ...m, tokens: row.length, spam: 1 / (1 + Math.exp((l0 as number) - (l1 as number))) });
}
await session.release();
writeFileSync(
  new URL('../../test/fixtures/transformer/sample.json', import.meta.url),
  `${JSON.stringify({ model: 'models/transformer/bert-tiny.fp32.onnx', runtime: 'onnxruntime-node', messages: out }, null, 1)}\n`,
);
console.log(`wrote ${out.length} messages`);
