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
  /** the axis of per-channel scales, or null for one scale per tensor (opset < 13) */
  axis: 0 | 1 | null;
  pruned: number;
}

/** DequantizeLinear exists from opset 10; its per-axis form (the `axis` attribute) from 13. */
const DQ_OPSET = 10;
const PER_AXIS_OPSET = 13;

/** One symmetric scale for the whole tensor, for opsets whose DequantizeLinear has no axis. */
function quantizePerTensor(values: Float32Array): { q: Int8Array; scale: Float32Array } {
  let max = 0;
  for (const v of values) {
    if (!Number.isFinite(v)) throw new ChorusError('not_finite', `weight is ${v}`);
    max = Math.max(max, Math.abs(v));
  }
  const scale = Math.fround(max > 0 ? max / 127 : 1);
  const q = Int8Array.from(values, (v) => Math.max(-127, Math.min(127, Math.round(v / scale))));
  return { q, scale: Float32Array.of(scale) };
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
 * Gemm's B or Gather's data becomes int8, dequantized in-graph by DequantizeLinear. The model keeps
 * its opset — raising it would change the meaning of other nodes (Unsqueeze's `axes` became an
 * input in 13) — so opset ≥ 13 gets per-output-channel scales and opsets 10–12 one scale per
 * tensor. Optional magnitude pruning zeroes the smallest weights first.
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
  const opset = Number((proto.opsetImport ?? []).find((o) => (o.domain ?? '') === '')?.version ?? 0);
  if (opset < DQ_OPSET) {
    throw new ChorusError(
      'invalid_argument',
      `opset ${opset} has no DequantizeLinear; convert the model to opset ≥ 10`,
    );
  }
  const perAxis = opset >= PER_AXIS_OPSET;
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
    const q = perAxis ? quantizeSymmetric(values, rows, cols, target.axis) : quantizePerTensor(values);
    const scaleDims = perAxis ? [q.scale.length] : [];
    newInits.push(
      onnx.TensorProto.create({
        name: `${name}_q`,
        dims,
        dataType: onnx.TensorProto.DataType.INT8,
        rawData: new Uint8Array(q.q.buffer.slice(0)),
      }),
      onnx.TensorProto.create({
        name: `${name}_scale`,
        dims: scaleDims,
        dataType: onnx.TensorProto.DataType.FLOAT,
        rawData: new Uint8Array(q.scale.buffer.slice(0)),
      }),
      onnx.TensorProto.create({
        name: `${name}_zero_point`,
        dims: scaleDims,
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
        attribute: perAxis
          ? [onnx.AttributeProto.create({ name: 'axis', i: target.axis, type: onnx.AttributeProto.AttributeType.INT })]
          : [],
      }),
    );
    tensors.push({ name, op: target.op, dims, axis: perAxis ? target.axis : null, pruned });
  }
  if (tensors.length === 0)
    throw new ChorusError('invalid_argument', 'no MatMul/Gemm/Gather weights large enough to quantize');
  graph.initializer = newInits;
  graph.node = [...newNodes, ...(graph.node ?? [])];
  // graph inputs that name an initializer (older exporters) must not name the removed float tensor
  graph.input = (graph.input ?? []).filter((i) => !tensors.some((t) => t.name === i.name));
  return { bytes: onnx.ModelProto.encode(proto).finish(), tensors };
}
