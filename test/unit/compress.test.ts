import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createNodeBackend } from '../../lib/backends/onnx-node';
import { ChorusError } from '../../lib/errors';
import { exportOnnx, quantizeOnnxModel, readFastTextOnnx, trainFastText } from '../../lib/train';

const backend = createNodeBackend();

async function run(bytes: Uint8Array, name: string, data: Float32Array, dims: number[], output: string) {
  const s = await backend.createSession(bytes);
  const out = await s.run({ [name]: { dtype: 'float32', data, dims } }, output);
  await s.release();
  return Float32Array.from(out.data);
}

describe('int8 compression of models this project did not write', () => {
  const torch = readFileSync('test/fixtures/byo/breast-cancer-mlp.onnx');
  const rows = (
    JSON.parse(readFileSync('test/fixtures/byo/breast-cancer-mlp.json', 'utf8')) as { rows: { x: number[] }[] }
  ).rows;
  const x = Float32Array.from(rows.flatMap((r) => r.x));

  it('quantizes a torch Gemm to int8 + DequantizeLinear and keeps its answers close', async () => {
    const result = quantizeOnnxModel(torch, { minElements: 100 });
    expect(result.tensors).toEqual([{ name: 'net.0.weight', op: 'Gemm', dims: [16, 30], axis: 0, pruned: 0 }]);
    expect(result.bytes.length).toBeLessThan(torch.length);
    const before = await run(torch, 'x', x, [rows.length, 30], 'logits');
    const after = await run(result.bytes, 'x', x, [rows.length, 30], 'logits');
    for (let i = 0; i < before.length; i++)
      expect(Math.abs((after[i] as number) - (before[i] as number))).toBeLessThan(0.25);
  });

  it('magnitude pruning zeroes the requested share of weights first', () => {
    const result = quantizeOnnxModel(torch, { minElements: 100, prune: 0.5 });
    expect(result.tensors[0]?.pruned).toBeGreaterThanOrEqual(239);
  });

  it('refuses bytes that are not ONNX, and models with nothing to quantize', () => {
    expect(() => quantizeOnnxModel(new TextEncoder().encode('hello world, not a model'))).toThrow(ChorusError);
    expect(() => quantizeOnnxModel(torch, { minElements: 1_000_000 })).toThrow(/nothing|no MatMul/);
    expect(() => quantizeOnnxModel(torch, { prune: 1 })).toThrow(/prune/);
  });

  it('a fastText graph reads back (fp32 and int8) for transfer', () => {
    const m = trainFastText([Int32Array.from([1, 2]), Int32Array.from([3])], [0, 1], {
      classes: 2,
      buckets: 8,
      maxIds: 4,
      dim: 4,
      epochs: 2,
    });
    const back = readFastTextOnnx(exportOnnx(m, { labels: ['a', 'b'], variant: 'fp32' }).bytes);
    expect(Array.from(back.embedding)).toEqual(Array.from(m.embedding));
    expect(back.maxIds).toBe(4);
    const q = readFastTextOnnx(exportOnnx(m, { labels: ['a', 'b'], variant: 'int8' }).bytes);
    expect(q.embedding.length).toBe(m.embedding.length);
  });
});
