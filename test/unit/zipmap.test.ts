/**
 * The ZipMap rewrite on a model's bytes (lib/ensemble/zipmap.ts): what it changes, what it leaves
 * byte for byte, and that bytes it cannot read go to the runtime untouched.
 */
import { readFileSync } from 'node:fs';
import onnxProto from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import { createNodeBackend } from '../../lib/backends/onnx-node';
import { unwrapZipMap } from '../../lib/ensemble/zipmap';
import { sklearnLikeLogReg } from '../helpers/skl-like';

const { onnx } = onnxProto;
const coef = [
  [0.8, -1.2],
  [-0.4, 0.9],
];
const intercept = [0.05, -0.2];

describe('unwrapZipMap', () => {
  it('turns a ZipMap that makes a graph output into an Identity declared float [N, classes]', () => {
    const { model, unwrapped } = unwrapZipMap(sklearnLikeLogReg(coef, intercept, { zipmap: true }));
    expect(unwrapped).toEqual([{ output: 'output_probability', classLabels: null, classes: 2 }]);
    const graph = onnx.ModelProto.decode(model).graph;
    const node = graph?.node?.find((n) => n.output?.includes('output_probability'));
    expect(node).toMatchObject({ opType: 'Identity', input: ['probability_tensor'] });
    expect(node?.domain ?? '').toBe('');
    const out = graph?.output?.find((o) => o.name === 'output_probability');
    expect(out?.type?.tensorType?.elemType).toBe(onnx.TensorProto.DataType.FLOAT);
    expect(out?.type?.tensorType?.shape?.dim?.map((d) => d.dimParam || Number(d.dimValue))).toEqual(['N', 2]);
    // everything else is as it was: the classifier node, the inputs, the label output
    const before = onnx.ModelProto.decode(sklearnLikeLogReg(coef, intercept, { zipmap: true })).graph;
    expect(onnx.NodeProto.encode(graph?.node?.[0] ?? {}).finish()).toEqual(
      onnx.NodeProto.encode(before?.node?.[0] ?? {}).finish(),
    );
    expect(graph?.input).toEqual(before?.input);
    expect(graph?.output?.[0]).toEqual(before?.output?.[0]);
  });

  it('reads string class labels, and adds the default domain an ML-only model lacks', async () => {
    const decoded = onnx.ModelProto.decode(
      sklearnLikeLogReg(coef, intercept, { zipmap: true, classLabels: ['ham', 'spam'] }),
    );
    // an ML-only graph: no default-domain node, no default-domain import
    decoded.graph = onnx.GraphProto.create({
      ...decoded.graph,
      node: decoded.graph?.node?.filter((n) => n.opType !== 'Identity'),
      output: decoded.graph?.output?.filter((o) => o.name !== 'output_label'),
    });
    if (decoded.graph.node?.[0]) decoded.graph.node[0].output = ['output_label_unused', 'probability_tensor'];
    decoded.opsetImport = decoded.opsetImport.filter((o) => o.domain === 'ai.onnx.ml');
    const { model, unwrapped } = unwrapZipMap(onnx.ModelProto.encode(decoded).finish());
    expect(unwrapped).toEqual([{ output: 'output_probability', classLabels: ['ham', 'spam'], classes: 2 }]);
    expect(onnx.ModelProto.decode(model).opsetImport.map((o) => [o.domain ?? '', Number(o.version)])).toContainEqual([
      '',
      13,
    ]);
    const session = await createNodeBackend().createSession(model);
    const out = await session.run(
      { float_input: { dtype: 'float32', data: Float32Array.of(1, 0), dims: [1, 2] } },
      'output_probability',
    );
    const z = [0.8 + 0.05, -0.4 - 0.2];
    const e = z.map(Math.exp);
    expect(out.dims).toEqual([1, 2]);
    expect(out.data[1]).toBeCloseTo((e[1] as number) / ((e[0] as number) + (e[1] as number)), 6);
    await session.release();
  });

  it('leaves models without a ZipMap output, and bytes that are no model, as the same bytes', () => {
    const plain = sklearnLikeLogReg(coef, intercept, { zipmap: false });
    expect(unwrapZipMap(plain).model).toBe(plain);
    const zoo = new Uint8Array(readFileSync('models/spam/message-logreg.int8.onnx'));
    expect(unwrapZipMap(zoo).model).toBe(zoo);
    const zipmapped = sklearnLikeLogReg(coef, intercept, { zipmap: true });
    for (const bytes of [
      new TextEncoder().encode('definitely not a protobuf model'),
      zipmapped.subarray(0, zipmapped.length - 7),
      new Uint8Array([0x3a, 0xff, 0xff, 0xff, 0xff, 0x0f]),
    ]) {
      expect(unwrapZipMap(bytes)).toEqual({ model: bytes, unwrapped: [] });
    }
  });

  it('leaves a ZipMap whose maps another node reads, as a graph output too or not', () => {
    for (const alsoGraphOutput of [false, true]) {
      const decoded = onnx.ModelProto.decode(sklearnLikeLogReg(coef, intercept, { zipmap: true }));
      const graph = decoded.graph as InstanceType<typeof onnx.GraphProto>;
      graph.node.push(
        onnx.NodeProto.create({ opType: 'Identity', input: ['output_probability'], output: ['maps_out'] }),
      );
      const maps = graph.output.find((o) => o.name === 'output_probability');
      if (maps) graph.output.push({ ...maps, name: 'maps_out' });
      if (!alsoGraphOutput) graph.output = graph.output.filter((o) => o.name !== 'output_probability');
      const bytes = onnx.ModelProto.encode(decoded).finish();
      expect(unwrapZipMap(bytes).model).toBe(bytes);
    }
  });
});
