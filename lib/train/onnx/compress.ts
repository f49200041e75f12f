import onnxProto from 'onnx-proto';
import { ChorusError } from '../../errors';
import { quantizeSymmetric } from './quantize';

const { onnx } = onnxProto;
type Tensor = InstanceType<typeof onnx.TensorProto>;

export interface CompressOptions {
  /** fraction of each quantized tensor's smallest-magnitude weights set to zero first */
  prune?: number;
  /** tensors smaller than this stay float (biases, tiny layers) */
  minElements?: number;
}

export interface CompressedTensor {
  name: string;
  op: string;
  dims: number[];
  axis: 0 | 1;
  pruned: number;
}

export interface CompressResult {
  bytes: Uint8Array;
  tensors: CompressedTensor[];
}

function floatValues(t: Tensor): Float32Array {
  if (t.rawData && t.rawData.length > 0) {
    const copy = new Uint8Array(t.rawData);
    return new Float32Array(copy.buffer, 0, copy.length / 4);
  }
  return Float32Array.from(t.floatData ?? []);
}

/**
 * Weight-only int8 quantization of any ONNX model: every float 2-D initializer read as MatMul's B,
 * Gemm's B or Gather's data becomes int8 with symmetric per-output-channel scales, dequantized
 * in-graph by DequantizeLinear (standard ONNX ops; opset raised to 13 where lower). Optional
 * magnitude pruning zeroes the smallest weights first.
 */
export function quantizeOnnxModel(model: Uint8Array, options: CompressOptions = {}): CompressResult {
  let proto: InstanceType<typeof onnx.ModelProto>;
  try {
    proto = onnx.ModelProto.decode(model);
  } catch (e) {
    throw new ChorusError('invalid_argument', `not an ONNX model: ${e instanceof Error ? e.message : String(e)}`);
  }
  const graph = proto.graph;
  if (!graph) throw new ChorusError('invalid_argument', 'ONNX model has no graph');
  const prune = options.prune ?? 0;
  if (!(prune >= 0 && prune < 1)) throw new ChorusError('invalid_argument', `prune must be in [0, 1), got ${prune}`);
  const minElements = options.minElements ?? 256;
  const inits = new Map<string, Tensor>();
  for (const t of graph.initializer ?? []) if (t.name) inits.set(t.name, t as Tensor);
  // which initializer feeds which op, and along which axis its output channels lie
  const targets = new Map<string, { op: string; axis: 0 | 1 }>();
  for (const node of graph.node ?? []) {
    const op = node.opType ?? '';
    const inputs = node.input ?? [];
    if (op === 'MatMul' && inputs[1]) targets.set(inputs[1], { op, axis: 1 });
    if (op === 'Gather' && inputs[0]) targets.set(inputs[0], { op, axis: 1 });
    if (op === 'Gemm' && inputs[1]) {
      const transB = (node.attribute ?? []).find((a) => a.name === 'transB')?.i;
      targets.set(inputs[1], { op, axis: Number(transB ?? 0) === 1 ? 0 : 1 });
    }
  }
  const tensors: CompressedTensor[] = [];
  const newInits: Tensor[] = [];
  const newNodes: InstanceType<typeof onnx.NodeProto>[] = [];
  for (const t of graph.initializer ?? []) {
    const name = t.name ?? '';
    const target = targets.get(name);
    const dims = (t.dims ?? []).map(Number);
    if (!target || t.dataType !== onnx.TensorProto.DataType.FLOAT || dims.length !== 2) {
      newInits.push(t as Tensor);
      continue;
    }
    const [rows, cols] = dims as [number, number];
    if (rows * cols < minElements) {
      newInits.push(t as Tensor);
      continue;
    }
    const values = Float32Array.from(floatValues(t as Tensor));
    let pruned = 0;
    if (prune > 0) {
      const mags = Float32Array.from(values, Math.abs).sort();
      const cut = mags[Math.floor(prune * (mags.length - 1))] as number;
      for (let i = 0; i < values.length; i++) {
        if (Math.abs(values[i] as number) <= cut && values[i] !== 0) {
          values[i] = 0;
          pruned++;
        }
      }
    }
    const q = quantizeSymmetric(values, rows, cols, target.axis);
    newInits.push(
      onnx.TensorProto.create({
        name: `${name}_q`,
        dims,
        dataType: onnx.TensorProto.DataType.INT8,
        rawData: new Uint8Array(q.q.buffer.slice(0)),
      }),
      onnx.TensorProto.create({
        name: `${name}_scale`,
        dims: [q.scale.length],
        dataType: onnx.TensorProto.DataType.FLOAT,
        rawData: new Uint8Array(q.scale.buffer.slice(0)),
      }),
      onnx.TensorProto.create({
        name: `${name}_zero_point`,
        dims: [q.scale.length],
        dataType: onnx.TensorProto.DataType.INT8,
        rawData: new Uint8Array(q.scale.length),
      }),
    );
    newNodes.push(
      onnx.NodeProto.create({
        opType: 'DequantizeLinear',
        name: `DequantizeLinear_${name}`,
        input: [`${name}_q`, `${name}_scale`, `${name}_zero_point`],
        output: [name],
        attribute: [
          onnx.AttributeProto.create({ name: 'axis', i: target.axis, type: onnx.AttributeProto.AttributeType.INT }),
        ],
      }),
    );
    tensors.push({ name, op: target.op, dims, axis: target.axis, pruned });
  }
  if (tensors.length === 0)
    throw new ChorusError('invalid_argument', 'no MatMul/Gemm/Gather weights large enough to quantize');
  graph.initializer = newInits;
  graph.node = [...newNodes, ...(graph.node ?? [])];
  // graph inputs that name an initializer (older exporters) must not name the removed float tensor
  graph.input = (graph.input ?? []).filter((i) => !tensors.some((t) => t.name === i.name));
  for (const opset of proto.opsetImport ?? []) {
    if ((opset.domain ?? '') === '' && Number(opset.version) < 13) opset.version = 13;
  }
  return { bytes: onnx.ModelProto.encode(proto).finish(), tensors };
}
