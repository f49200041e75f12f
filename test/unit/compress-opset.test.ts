/**
 * Compression keeps a model's opset: an opset-11 graph whose Unsqueeze takes `axes` as an
 * attribute (an input from opset 13 on) must still load and answer after int8 compression.
 */
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { quantizeOnnxModel } from '../../lib/train';

const { onnx } = onnxProto;
const F = onnx.TensorProto.DataType.FLOAT;

function model(opset: number): Uint8Array {
  const w = Float32Array.from({ length: 4 * 64 }, (_, i) => Math.sin(i) * (1 + (i % 7)));
  const value = (name: string, dims: (number | string)[]) =>
    onnx.ValueInfoProto.create({
      name,
      type: {
        tensorType: {
          elemType: F,
          shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
        },
      },
    });
  const graph = onnx.GraphProto.create({
    name: 'opset-test',
    input: [value('x', ['batch', 4])],
    output: [value('y', [1, 'batch', 64])],
    initializer: [
      onnx.TensorProto.create({ name: 'W', dims: [4, 64], dataType: F, rawData: new Uint8Array(w.buffer) }),
    ],
    node: [
      onnx.NodeProto.create({ opType: 'MatMul', input: ['x', 'W'], output: ['h'] }),
      onnx.NodeProto.create({
        opType: 'Unsqueeze',
        input: ['h'],
        output: ['y'],
        attribute: [
          onnx.AttributeProto.create({ name: 'axes', ints: [0], type: onnx.AttributeProto.AttributeType.INTS }),
        ],
      }),
    ],
  });
  return onnx.ModelProto.encode(
    onnx.ModelProto.create({ irVersion: 7, opsetImport: [{ domain: '', version: opset }], graph }),
  ).finish();
}

async function answer(bytes: Uint8Array): Promise<Float32Array> {
  // 'basic': the extended fusions would also quantize activations (see lib/backends/onnx-node.ts).
  const session = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'basic' });
  const x = new ort.Tensor('float32', Float32Array.from([0.5, -1, 2, 0.25, 1, 1, -1, 0]), [2, 4]);
  const out = await session.run({ x });
  return out.y?.data as Float32Array;
}

describe('compression keeps the opset the model was written for', () => {
  it('an opset-11 model with Unsqueeze(axes attribute) loads and answers after compression', async () => {
    const original = model(11);
    const result = quantizeOnnxModel(original);
    expect(result.tensors).toEqual([{ name: 'W', op: 'MatMul', dims: [4, 64], axis: null, pruned: 0 }]);
    const opset = onnx.ModelProto.decode(result.bytes).opsetImport.find((o) => !o.domain)?.version;
    expect(Number(opset)).toBe(11);
    const [before, after] = [await answer(original), await answer(result.bytes)];
    expect(after.length).toBe(before.length);
    // one scale per tensor: error ≤ scale/2 per weight, times Σ|x| ≤ 3.75 per output
    const maxW = 7;
    for (let i = 0; i < before.length; i++) {
      expect(Math.abs((after[i] as number) - (before[i] as number))).toBeLessThan((maxW / 127 / 2) * 3.75 + 1e-5);
    }
  });

  it('refuses an opset without DequantizeLinear with a clear reason', () => {
    expect(() => quantizeOnnxModel(model(9))).toThrow(/opset 9 has no DequantizeLinear/);
  });
});
